"""Where one client's events go: its handlers, its ``events()`` streams, its sinks.

Handlers see events in arrival order, each event's handlers in registration
(MRO) order.  A sync handler runs inline while nothing waits before it; an
async one is awaited by one task per client, fed by a bounded queue, and once
anything waits there every later handler call queues behind it.  A full queue
makes the room wait (``overflow="block"``: the socket buffers, TCP holds the
rest) or drops the oldest queued event (``"drop_oldest"``), counted in
``RoomStats.dropped``, never silently.  ``events()`` streams follow the same
policy; sinks are always awaited in order.  Batch sinks (the Monitor's) get each
frame's events in one call, before its handlers run: one await per frame, not per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from fastlive._config import OVERFLOW_POLICIES
from fastlive._listeners import Listeners
from fastlive.events import BaseEvent, ClientEvent, ErrorEvent
from fastlive.stats import RoomStats

if TYPE_CHECKING:
    from fastlive.client.client import TikTokLiveClient

__all__ = ["Dispatcher", "EventStream", "FrameListener", "FrameTap", "Handler", "Overflow"]

Event = BaseEvent | ClientEvent
Handler = Callable[[Any], Any]
Sink = Callable[[Any], Awaitable[None]]
BatchSink = Callable[[list[Any]], Awaitable[None]]
Overflow = Literal["block", "drop_oldest"]

FrameListener = Callable[[int, bytes, int], Any]
"""``callback(kind, data, time_ns)``: one raw frame (kinds of :mod:`fastlive.record.frames`)."""

_END = object()  # ends an EventStream

# A queued handler call: the event, its handlers, the first one still to call, and the
# awaitable the one before it returned (started inline, awaited by the worker) or None.
_Job = tuple[Any, tuple[Handler, ...], int, Any]


def check_overflow(overflow: str, max_queue: int) -> None:
    """Raise ``ValueError`` for an unknown ``overflow`` policy or a queue smaller than 1."""
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(f"overflow={overflow!r}: use one of {', '.join(OVERFLOW_POLICIES)}")
    if max_queue < 1:
        raise ValueError("max_queue must be at least 1")


class Dispatcher:
    """Hands each event to its handlers in arrival order, then to the streams and sinks.

    One per client.  ``max_queue`` bounds the handler calls waiting for the worker
    task; ``overflow`` says what a full queue does (see the module docstring).
    """

    def __init__(
        self, logger: logging.Logger, stats: RoomStats, max_queue: int, overflow: Overflow
    ) -> None:
        check_overflow(overflow, max_queue)
        self.handlers: Listeners[Handler] = Listeners()
        self.streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self.sinks: list[Sink] = []
        self.batch_sinks: list[BatchSink] = []
        self.max_queue = max_queue
        self.overflow: Overflow = overflow
        self._logger = logger
        self._stats = stats
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._active = False  # the worker is running a job
        self._warned = False

    @property
    def worker(self) -> asyncio.Task[None] | None:
        """The task that awaits the handlers (None until an async handler is called)."""
        return self._worker

    @property
    def queued(self) -> int:
        """Events waiting for their handlers (at most ``max_queue``)."""
        return self._queue.qsize() if self._queue is not None else 0

    async def deliver(self, events: list[Any]) -> None:
        """Count and hand on the events the session released, in order."""
        counts = self._stats.events
        for sink in self.batch_sinks:
            await self._batch(sink, events)
        for event in events:
            counts[type(event).__name__] += 1
            await self._emit_one(event)
        self._stats.last_event_time = time.time()

    async def emit(self, event: Any) -> None:
        """Hand one event to its handlers (by MRO), every ``events()`` stream and every sink."""
        for sink in self.batch_sinks:
            await self._batch(sink, [event])
        await self._emit_one(event)

    async def _batch(self, sink: BatchSink, events: list[Any]) -> None:
        try:
            await sink(events)
        except Exception:  # a consumer's bug must not cost the connection
            self._logger.exception("event sink %r raised on a batch of %d", sink, len(events))

    async def _emit_one(self, event: Any) -> None:
        handlers = self.handlers.route(type(event))
        if handlers:
            await self._dispatch(event, handlers)
        if self.streams:
            for stream in list(self.streams):
                await stream._put(event)
        for sink in self.sinks:
            try:
                await sink(event)
            except Exception:  # a consumer's bug must not cost the connection
                self._logger.exception("event sink %r raised on %s", sink, type(event).__name__)

    async def dispatch(self, event: Any) -> None:
        """Hand one event to its handlers only (not to the streams or sinks)."""
        handlers = self.handlers.route(type(event))
        if handlers:
            await self._dispatch(event, handlers)

    async def drain(self) -> None:
        """Wait until every queued handler call has finished."""
        queue, worker = self._queue, self._worker
        if queue is None or worker is None or worker.done() or worker is asyncio.current_task():
            return
        await queue.join()

    async def close(self) -> None:
        """Stop the worker task: calls still queued are not made (``drain()`` first)."""
        worker, self._worker, self._queue = self._worker, None, None
        if worker is not None and not worker.done() and worker is not asyncio.current_task():
            worker.cancel()
            await asyncio.wait((worker,))

    # -- internals ---------------------------------------------------------------------------

    @property
    def _idle(self) -> bool:
        queue = self._queue
        return queue is None or (not self._active and queue.empty())

    async def _dispatch(self, event: Any, handlers: tuple[Handler, ...]) -> None:
        worker = self._worker
        if worker is not None and asyncio.current_task() is worker:
            await self._run((event, handlers, 0, None))  # from a handler: at once, in order
            return
        if not self._idle:
            await self._enqueue((event, handlers, 0, None))
            return
        last = len(handlers) - 1
        for i, handler in enumerate(handlers):
            try:
                result = handler(event)
            except Exception as exc:  # noqa: BLE001  (user code: any error is reported)
                await self._failed(handler, event, exc)
                result = None
            if result is not None and inspect.isawaitable(result):
                await self._enqueue((event, handlers, i + 1, result))
                return
            if i < last and not self._idle:  # an ErrorEvent went to the worker meanwhile
                await self._enqueue((event, handlers, i + 1, None))
                return

    async def _enqueue(self, job: _Job) -> None:
        queue = self._queue
        if queue is None or self._worker is None or self._worker.done():
            queue = self._start()
        if queue.full():
            if self.overflow == "block":
                await queue.put(job)  # the room waits for the handlers
                return
            _discard(queue.get_nowait())
            queue.task_done()
            self._stats.dropped += 1
            if not self._warned:
                self._warned = True
                self._logger.warning(
                    "handlers are slower than the room: dropping the oldest events "
                    "(counted in client.stats.dropped)"
                )
        queue.put_nowait(job)

    def _start(self) -> asyncio.Queue[_Job]:
        if self._queue is None:
            self._queue = asyncio.Queue(self.max_queue)
        queue = self._queue
        self._worker = asyncio.get_running_loop().create_task(
            self._work(queue), name="fastlive:handlers"
        )
        return queue

    async def _work(self, queue: asyncio.Queue[_Job]) -> None:
        """The worker: one queued call after another, until cancelled."""
        try:
            while True:
                job = await queue.get()
                self._active = True
                try:
                    await self._run(job)
                finally:
                    self._active = False
                    queue.task_done()
        finally:  # cancelled: what is left will not run
            while not queue.empty():
                _discard(queue.get_nowait())
                queue.task_done()

    async def _run(self, job: _Job) -> None:
        event, handlers, start, pending = job
        if pending is not None:
            await self._await(handlers[start - 1], event, pending)
        for handler in handlers[start:]:
            try:
                result = handler(event)
            except Exception as exc:  # noqa: BLE001  (user code: any error is reported)
                await self._failed(handler, event, exc)
                continue
            if result is not None and inspect.isawaitable(result):
                await self._await(handler, event, result)

    async def _await(self, handler: Handler, event: Any, result: Awaitable[Any]) -> None:
        try:
            await result
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            cancelling = getattr(task, "cancelling", None)
            if cancelling is None or cancelling():  # our cancel (or Python 3.10: assume so)
                raise
            await self._failed(handler, event, exc)
        except Exception as exc:  # noqa: BLE001  (user code: any error is reported)
            await self._failed(handler, event, exc)

    async def _failed(self, handler: Handler, event: Any, exc: BaseException) -> None:
        name = getattr(handler, "__qualname__", None) or repr(handler)
        self._logger.error(
            "handler %s raised on %s", name, type(event).__name__, exc_info=(type(exc), exc, None)
        )
        if isinstance(event, ErrorEvent) and event.source == "handler":
            return  # an ErrorEvent handler that fails is only logged
        await self.emit(ErrorEvent(error=repr(exc), source="handler", exception=exc))


def _discard(job: _Job) -> None:
    """Forget a queued call; close the coroutine it started, so none is left un-awaited."""
    pending = job[3]
    if inspect.iscoroutine(pending):
        pending.close()


class EventStream:
    """``async for`` over every event of a client, until it disconnects.

    Made by :meth:`TikTokLiveClient.events`.  It is registered at once, so no
    event is missed between ``start()`` and the first iteration.  When the
    client is not running at the first iteration, the stream starts it (with
    the keyword arguments given to ``events()``), stops it if the loop is
    left early, and raises the error that ended the run, if any.  The buffer
    holds ``max_queue`` events: when it is full, ``overflow="block"`` makes the
    room wait (the socket buffers, nothing is lost) and ``"drop_oldest"`` drops
    the oldest event, counted in :attr:`dropped` and the client's ``stats.dropped``.
    """

    def __init__(
        self,
        client: TikTokLiveClient,
        maxsize: int,
        start_kwargs: dict[str, Any],
        overflow: Overflow = "block",
        stats: RoomStats | None = None,
    ) -> None:
        check_overflow(overflow, maxsize)
        self._client = client
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._start_kwargs = start_kwargs
        self._stats = stats
        self.overflow: Overflow = overflow
        self.dropped = 0
        """Events this stream dropped (``drop_oldest``)."""
        self._started = False
        self._owns_client = False
        self._finished = False

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self._finished:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            if not self._client.running:
                self._owns_client = True
                try:
                    await self._client.start(**self._start_kwargs)
                except BaseException:
                    self._finish()
                    raise
        item = await self._queue.get()
        if item is _END:
            self._finish()
            if self._owns_client:
                await self._client._raise_run_error()
            raise StopAsyncIteration
        return item

    @property
    def pending(self) -> int:
        """Events waiting to be read."""
        return self._queue.qsize()

    async def aclose(self) -> None:
        """Stop iterating; disconnect the client if this stream started it."""
        if self._finished:
            return
        self._finish()
        if self._owns_client and self._client.running:
            await self._client.disconnect()

    def _finish(self) -> None:
        self._finished = True
        self._client._dispatcher.streams.discard(self)
        while not self._queue.empty():  # free a reader blocked on our full queue
            self._queue.get_nowait()

    async def _put(self, item: Any) -> None:
        if self._finished:
            return
        queue = self._queue
        if self.overflow == "block" or not queue.full():
            await queue.put(item)
            return
        queue.get_nowait()
        self.dropped += 1
        if self._stats is not None:
            self._stats.dropped += 1
        queue.put_nowait(item)

    async def _end(self) -> None:
        """Queue the end marker (making room for it under ``drop_oldest``)."""
        if self._finished:
            return
        if self.overflow != "block" and self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self._stats is not None:
                self._stats.dropped += 1
        await self._queue.put(_END)


class FrameTap:
    """The raw frame listeners of a client: each frame goes to each, with the wall-clock time.

    A listener that raises is logged once and removed; the client goes on.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.listeners: list[FrameListener] = []
        self._logger = logger

    def __call__(self, kind: int, data: bytes) -> None:
        now = time.time_ns()
        for callback in tuple(self.listeners):
            try:
                callback(kind, data, now)
            except Exception:  # user code must not break the client
                self._logger.exception("frame listener %r raised: it is removed", callback)
                with contextlib.suppress(ValueError):
                    self.listeners.remove(callback)
