"""The Monitor's bounded hand-offs and their overflow policy.

Two queues stand between the rooms and user code, and both are bounded with the
same policy (``overflow=``):

- :class:`MonitorStream`, ``async for room, event in monitor.events()``: every
  room's events, merged;
- :class:`CallbackQueue`: what async callbacks (``monitor.on``, ``room.on``)
  return, awaited in arrival order from one task per queue.

``"block"`` (the default) makes the rooms wait when a queue is full (their
sockets buffer; nothing is lost).  ``"drop_oldest"`` drops the oldest item to
make room for the new one and counts it: in the queue's ``dropped`` and in
``room.stats.dropped`` of the item's room.  A drop is never silent.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from fastlive.monitor.monitor import Monitor
    from fastlive.monitor.rooms import Callback, MonitoredRoom

__all__ = ["OVERFLOW_POLICIES", "CallbackQueue", "MonitorStream", "Overflow", "check_queue"]

Overflow = Literal["block", "drop_oldest"]
OVERFLOW_POLICIES = ("block", "drop_oldest")

_END = object()


def check_queue(maxsize: int, overflow: str) -> None:
    """Raise ``ValueError`` for a queue bound or an overflow policy that cannot work."""
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(f"overflow={overflow!r}: use one of {', '.join(OVERFLOW_POLICIES)}")
    if maxsize < 1:
        raise ValueError("max_queue must be at least 1")


class MonitorStream:
    """``async for room, event in monitor.events()``: every room's events, merged.

    Bounded at ``maxsize`` items.  With ``overflow="block"`` a full stream makes
    the rooms wait; with ``"drop_oldest"`` the oldest item is dropped and counted
    (:attr:`dropped`, and ``room.stats.dropped`` of its room).  The stream ends
    when the Monitor closes or :meth:`aclose` is called.
    """

    def __init__(self, monitor: Monitor, maxsize: int, overflow: Overflow) -> None:
        check_queue(maxsize, overflow)
        self._monitor = monitor
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.overflow = overflow
        self.dropped = 0
        """Items this stream dropped (``drop_oldest``)."""
        self._finished = False
        self._owns_monitor = False
        self._started = False

    def __aiter__(self) -> MonitorStream:
        return self

    async def __anext__(self) -> tuple[MonitoredRoom, Any]:
        if self._finished:
            raise StopAsyncIteration
        if not self._started:
            self._started = True
            if not self._monitor.running:
                self._owns_monitor = True
                await self._monitor.start()
        item = await self._queue.get()
        if item is _END:
            self._finish()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop iterating; close the Monitor if this stream started it."""
        if self._finished:
            return
        self._finish()
        if self._owns_monitor:
            await self._monitor.aclose()

    @property
    def pending(self) -> int:
        """Items waiting to be read."""
        return self._queue.qsize()

    def _finish(self) -> None:
        self._finished = True
        self._monitor._streams.discard(self)
        while not self._queue.empty():  # free rooms blocked on our full queue
            self._queue.get_nowait()

    async def _put(self, item: tuple[MonitoredRoom, Any]) -> None:
        if self._finished:
            return
        queue = self._queue
        if self.overflow == "block":
            await queue.put(item)
            return
        if queue.full():
            self._drop_oldest()
            if self.dropped == 1:
                self._monitor._logger.warning(
                    "events() consumer is slower than the rooms: dropping the oldest events "
                    "(counted in stream.dropped and room.stats.dropped)"
                )
        queue.put_nowait(item)

    async def _put_many(self, room: MonitoredRoom, events: list[Any]) -> None:
        """One room's events in order, in one hand-off: awaits only when the stream is full."""
        queue = self._queue
        block = self.overflow == "block"
        for event in events:
            if self._finished:
                return
            if not queue.full():
                queue.put_nowait((room, event))
            elif block:
                await queue.put((room, event))
            else:
                self._drop_oldest()
                if self.dropped == 1:
                    self._monitor._logger.warning(
                        "events() consumer is slower than the rooms: dropping the oldest events "
                        "(counted in stream.dropped and room.stats.dropped)"
                    )
                queue.put_nowait((room, event))

    def _drop_oldest(self) -> None:
        old_room, _ = self._queue.get_nowait()
        self.dropped += 1
        old_room._stats.dropped += 1

    def _end(self) -> None:
        """Queue the end marker, making room for it if needed (it is not an event)."""
        if self._finished:
            return
        if self._queue.full():
            self._drop_oldest()
        self._queue.put_nowait(_END)


class CallbackQueue:
    """Async callbacks' results, awaited one at a time in arrival order from one task.

    A callback is called as its event arrives; when it returns an awaitable (an
    ``async def`` callback), that awaitable waits here for its turn, so a callback
    never runs beside itself and events reach it in the order they came.  At most
    ``maxsize`` wait: when full, ``"block"`` makes the delivering room wait and
    ``"drop_oldest"`` closes the oldest awaitable unrun and counts it (:attr:`dropped`
    and ``room.stats.dropped``).  The task starts with the first awaitable; an
    exception in a callback is logged and the queue goes on.

    Made by the Monitor (``monitor.callback_queue``, for ``monitor.on``) and by each
    room (``room.callback_queue``, for ``room.on``); do not construct it.
    """

    def __init__(self, name: str, maxsize: int, overflow: Overflow, logger: logging.Logger):
        check_queue(maxsize, overflow)
        self.name = name
        self.maxsize = maxsize
        self.overflow: Overflow = overflow
        self.dropped = 0
        """Calls dropped unrun (``drop_oldest``)."""
        self.done = 0
        """Calls awaited to the end (raised or not)."""
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self._logger = logger
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"CallbackQueue({self.name!r}, pending={self.pending}, maxsize={self.maxsize}, "
            f"overflow={self.overflow!r}, dropped={self.dropped})"
        )

    @property
    def pending(self) -> int:
        """Calls waiting for their turn (the one running not included)."""
        return self._queue.qsize()

    async def put(
        self, room: MonitoredRoom, callback: Callback, event: Any, result: Awaitable[Any]
    ) -> None:
        """Queue ``result`` (what ``callback(room, event)`` returned) behind the others."""
        if self._closed:
            _discard(result)
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)
        item = (room, callback, event, result)
        queue = self._queue
        if self.overflow == "block":
            await queue.put(item)
            return
        if queue.full():
            old_room, _, _, old = queue.get_nowait()
            queue.task_done()
            _discard(old)
            self.dropped += 1
            old_room._stats.dropped += 1
            if self.dropped == 1:
                self._logger.warning(
                    "%s: async callbacks are slower than the rooms: dropping the oldest "
                    "calls (counted in callback_queue.dropped and room.stats.dropped)",
                    self.name,
                )
        queue.put_nowait(item)

    async def join(self) -> None:
        """Wait until every call queued so far has been awaited (or dropped)."""
        await self._queue.join()

    async def aclose(self) -> None:
        """Take no more calls; await those queued, then stop the task.

        Called from a callback of this queue, it only stops taking calls (the
        task ends once the queue is empty).  Cancelling the wait cancels the task.
        """
        self._closed = True
        task = self._task
        if task is None or task.done():
            return
        if self._queue.empty():
            self._queue.put_nowait(_END)  # wake the task waiting on the empty queue
        if task is asyncio.current_task():
            return
        await task

    async def _run(self) -> None:
        queue = self._queue
        logger = self._logger
        try:
            while not (self._closed and queue.empty()):
                item = await queue.get()
                if item is _END:
                    queue.task_done()
                    continue
                room, callback, event, result = item
                del item
                try:
                    await result
                except Exception:  # user code: any error is reported
                    logger.exception(
                        "callback %r raised on %s of %s", callback, type(event).__name__, room.name
                    )
                finally:
                    del room, callback, event, result  # hold nothing while waiting
                    self.done += 1
                    queue.task_done()
        finally:
            while not queue.empty():  # cancelled: close what never ran
                left = queue.get_nowait()
                if left is not _END:
                    _discard(left[3])
                queue.task_done()


def _discard(result: Awaitable[Any]) -> None:
    """Release an awaitable that will never be awaited (no "never awaited" warning)."""
    if inspect.iscoroutine(result):
        result.close()
    elif isinstance(result, asyncio.Future):
        result.cancel()
