"""``Monitor``: many TikTok LIVE rooms in one event loop, one merged event stream.

The Monitor keeps one :class:`~fastlive.monitor.rooms.MonitoredRoom` per room
(added and removed at any time, by @handle or room id) and drives each through
its states (:mod:`fastlive.monitor.runner`)::

    IDLE -> WAITING -> CONNECTING -> LIVE -> ENDED -> WAITING -> ...
                          |  ^        |
                          v  |        v
                       BACKING_OFF <--+            FAILED (gave up; .error says why)

- **Waiting.** Offline rooms are polled together (:mod:`fastlive.monitor.poller`):
  one ``check_alive`` request per 50 rooms every ``poll_interval`` seconds.  A room
  that goes live is connected; a room whose stream ends goes back to waiting.  A
  handle's room id is looked up again every ``resolve_interval`` seconds while it
  waits (TikTok gives each live session a new room).
- **Shared resources.** One ``httpx.AsyncClient`` (connection pool) and one
  :class:`~fastlive.monitor.limits.SignLimiter` serve every room, so connects and
  reconnects are spread under the sign server's limit and a 429 pauses all
  of them until its reset time.
- **Events.** ``async for room, event in monitor.events()`` merges every
  room; ``monitor.on(Event, f)`` and ``room.on(Event, f)`` register callbacks
  ``f(room, event)``.  Sync ones run as the event arrives.  Async ones are
  awaited in arrival order from one task (the Monitor's for ``monitor.on``, the
  room's own for ``room.on``), never beside themselves, through a queue of at most
  ``max_queue`` calls (``monitor.callback_queue``, ``room.callback_queue``).
  Optional gift streak aggregation adds one
  :class:`~fastlive.events.GiftStreakEvent` per streak.
- **Back-pressure policy** (``overflow=``), when the consumer of ``events()`` or
  an async callback is slower than the rooms (:mod:`fastlive.monitor.stream`):
  ``"block"`` (the default) makes the rooms wait (their sockets buffer; nothing
  is lost), ``"drop_oldest"`` keeps the newest ``max_queue`` items and counts
  every one dropped, per room (``room.stats.dropped``) and per queue
  (``stream.dropped``, ``callback_queue.dropped``).  Never silent.
- **Counters.** ``room.stats`` and ``monitor.stats`` (a
  :class:`~fastlive.stats.RoomStats`: frames, bytes, decode time, events by
  type, reconnects, 429s, drops, last event time);
  ``fastlive.cli.stats.stats_table(monitor)`` prints them.

Two Monitors share nothing unless given the same ``http`` or ``sign_limiter``.

    async with Monitor(["@alice", "@bob"], gift_streaks=True) as monitor:
        monitor.add("@carol")
        async for room, event in monitor.events():
            if isinstance(event, CommentEvent):
                print(room.unique_id, event.user.nickname, event.comment)
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from fastlive._aio import run
from fastlive._config import (
    DEFAULT_MONITOR_QUEUE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RESOLVE_INTERVAL,
    DEFAULT_WEB_CONCURRENCY,
    Settings,
)
from fastlive._listeners import Listeners
from fastlive.events import GiftEvent, GiftStreakEvent
from fastlive.monitor.limits import SignLimiter
from fastlive.monitor.poller import LivePoller
from fastlive.monitor.rooms import (
    Callback,
    Callbacks,
    MonitoredRoom,
    StateListener,
    copy_stats,
    room_key,
    shard_of,
)
from fastlive.monitor.runner import run_room
from fastlive.monitor.stream import CallbackQueue, MonitorStream, Overflow, check_queue
from fastlive.sinks.base import BufferedSink, Sink
from fastlive.stats import RoomState, RoomStats
from fastlive.streaks import DEFAULT_STREAK_TIMEOUT, StreakTracker
from fastlive.web import TikTokWeb, make_http_client
from fastlive.web.budget import WebBudget

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DEFAULT_MONITOR_QUEUE",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_RESOLVE_INTERVAL",
    "CallbackQueue",
    "Monitor",
    "MonitorStream",
    "MonitoredRoom",
    "Overflow",
    "shard_of",
]

logger = logging.getLogger("fastlive.monitor")


class Monitor(Callbacks):
    """Watch many rooms at once; see the module docstring for the states and policies.

    Args:
        rooms: @handles (``str``) and room ids (``int``) to add at once.
        settings: base URLs, timeouts, backoff; ``Settings.from_env()`` if None.
        http: a shared ``httpx.AsyncClient`` (not closed here); one is made if None.
        sign_limiter: the shared :class:`~fastlive.monitor.limits.SignLimiter`; one from
            ``settings.sign_rate`` (``--sign-rate``) is made if None.
        web_budget: the :class:`~fastlive.web.budget.WebBudget` of this Monitor's egress,
            shared by every room's web requests and the live checks; one from
            ``settings.web_rate`` / ``web_burst`` / ``waf_cooldown`` is made if None.
        max_queue: items buffered per ``events()`` stream, and async callback calls
            waiting per callback queue (the Monitor's and each room's).
        overflow: ``"block"`` or ``"drop_oldest"``: what a full ``events()`` stream or
            callback queue does.
        poll_interval: seconds between live checks of the waiting rooms.
        resolve_interval: seconds between room id look-ups of a waiting handle.
        gift_streaks: also emit one ``GiftStreakEvent`` per gift streak.
        streak_timeout: seconds without news after which an open streak is closed.
        record_dir: record each room's raw frames to ``DIR/<room>.flrec``: a META
            record per live session, the sign server's fetch result, every frame
            received and sent (``fastlive replay`` reads it).
        client_kwargs: extra ``TikTokLiveClient`` arguments (``ws_proxy``, ``session_id``...).
        start_kwargs: extra ``client.start()`` arguments (``fetch_room_info``...).
        logger: the ``logging.Logger`` to use (default ``fastlive.monitor``).
        sinks: where every event also goes (``fastlive.sinks.open_sink("events.db")``, or
            any :class:`~fastlive.sinks.Sink`, wrapped in a :class:`~fastlive.sinks.BufferedSink`):
            handed over without waiting, so a slow or missing database never holds a room
            back; opened by ``start()``, flushed and closed by ``aclose()``.

    Raises:
        ValueError: an unknown ``overflow``, ``max_queue`` below 1, or an interval that
            is not positive.
    """

    def __init__(
        self,
        rooms: Iterable[str | int] = (),
        *,
        settings: Settings | None = None,
        http: httpx.AsyncClient | None = None,
        sign_limiter: SignLimiter | None = None,
        max_queue: int = DEFAULT_MONITOR_QUEUE,
        overflow: Overflow = "block",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        resolve_interval: float = DEFAULT_RESOLVE_INTERVAL,
        gift_streaks: bool = False,
        streak_timeout: float = DEFAULT_STREAK_TIMEOUT,
        record_dir: str | Path | None = None,
        client_kwargs: dict[str, Any] | None = None,
        start_kwargs: dict[str, Any] | None = None,
        logger: logging.Logger | None = None,
        sinks: Iterable[Sink] = (),
        web_budget: WebBudget | None = None,
    ) -> None:
        check_queue(max_queue, overflow)
        if poll_interval <= 0 or resolve_interval <= 0:
            raise ValueError("poll_interval and resolve_interval must be positive")
        self.settings = settings if settings is not None else Settings.from_env()
        self._owns_http = http is None
        self._http = http if http is not None else make_http_client(self.settings)
        self.sign_limiter = (
            sign_limiter if sign_limiter is not None else SignLimiter.from_settings(self.settings)
        )
        self.web_budget = (
            web_budget if web_budget is not None else WebBudget.from_settings(self.settings)
        )
        """The egress's web request budget: ``web_budget.stats`` counts requests and blocks."""
        self.max_queue = max_queue
        self.overflow: Overflow = overflow
        self.resolve_interval = resolve_interval
        self.gift_streaks = gift_streaks
        self.streak_timeout = streak_timeout
        self.record_dir = Path(record_dir) if record_dir is not None else None
        self._client_kwargs = dict(client_kwargs or {})
        self.sinks: list[BufferedSink] = [
            s if isinstance(s, BufferedSink) else BufferedSink(s) for s in sinks
        ]
        self._start_kwargs = dict(start_kwargs or {})
        self._logger = logger or globals()["logger"]
        self._web = TikTokWeb(self.settings, http=self._http, budget=self.web_budget)
        self._web_slots = asyncio.Semaphore(DEFAULT_WEB_CONCURRENCY)
        self._rooms: dict[str, MonitoredRoom] = {}
        self._listeners: Listeners[Callback] = Listeners()
        self._callbacks = CallbackQueue(
            "fastlive:monitor-callbacks", max_queue, overflow, self._logger
        )
        self._state_listeners: list[StateListener] = []
        self._streams: set[MonitorStream] = set()
        self._retired = RoomStats()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poller = LivePoller(self._web, self._rooms.values, poll_interval, self._logger)
        self._running = False
        self._closed = False
        self._started_at: float | None = None
        for room in rooms:
            self.add(room)

    def __repr__(self) -> str:
        live = sum(r.state is RoomState.LIVE for r in self._rooms.values())
        return f"Monitor(rooms={len(self._rooms)}, live={live}, running={self._running})"

    # -- rooms -------------------------------------------------------------------

    @property
    def rooms(self) -> dict[str, MonitoredRoom]:
        """The rooms by key (``@handle`` or room id text); a copy."""
        return dict(self._rooms)

    @property
    def running(self) -> bool:
        return self._running

    @property
    def http(self) -> httpx.AsyncClient:
        return self._http

    @property
    def web(self) -> TikTokWeb:
        return self._web

    @property
    def poll_interval(self) -> float:
        """Seconds between live checks of the waiting rooms."""
        return self._poller.interval

    @poll_interval.setter
    def poll_interval(self, value: float) -> None:
        if value <= 0:
            raise ValueError("poll_interval must be positive")
        self._poller.interval = value

    def room(self, key: str | int) -> MonitoredRoom:
        """A room by handle, ``@handle`` or room id (``KeyError`` if not monitored)."""
        found = self._rooms.get(room_key(key))
        if found is None:
            for room in self._rooms.values():
                if room.room_id is not None and str(room.room_id) == str(key):
                    return room
            raise KeyError(key)
        return found

    def add(self, room: str | int, *, room_id: int | None = None) -> MonitoredRoom:
        """Watch a room: an @handle (``str``) or a room id (``int``); starts at once if running.

        Adding a room already watched returns it unchanged.
        """
        if self._closed:
            raise RuntimeError("this Monitor is closed: make a new one")
        key = room_key(room)
        existing = self._rooms.get(key)
        if existing is not None:
            return existing
        if isinstance(room, int) or key.isdigit():
            entry = MonitoredRoom(self, key, None, int(key))
        else:
            entry = MonitoredRoom(self, key, key[1:], room_id)
        self._rooms[key] = entry
        if self._running:
            self._launch(entry)
        return entry

    async def remove(self, room: str | int) -> None:
        """Stop watching a room: disconnect it, await its queued callbacks, close its recording."""
        entry = self.room(room)
        del self._rooms[entry.key]
        task = entry._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self._flush_streaks(entry)
        if entry._callbacks is not None:
            await entry._callbacks.aclose()
        self._retire(entry)

    # -- listeners ---------------------------------------------------------------

    def add_state_listener(self, f: StateListener) -> StateListener:
        """Call ``f(room, old, new)`` on every state change of every room (sync only)."""
        self._state_listeners.append(f)
        return f

    @property
    def callback_queue(self) -> CallbackQueue:
        """Where the Monitor's async callbacks wait their turn (one task, in arrival order)."""
        return self._callbacks

    def events(
        self, *, max_queue: int | None = None, overflow: Overflow | None = None
    ) -> MonitorStream:
        """Every room's events, merged: ``async for room, event in monitor.events()``.

        Starts the Monitor at the first iteration if it is not running (and closes
        it when the loop is left).  ``max_queue`` and ``overflow`` default to the
        Monitor's.
        """
        stream = MonitorStream(self, max_queue or self.max_queue, overflow or self.overflow)
        self._streams.add(stream)
        return stream

    # -- counters ----------------------------------------------------------------

    @property
    def stats(self) -> RoomStats:
        """Counters summed over every room (removed ones included)."""
        total = copy_stats(self._retired)
        for room in self._rooms.values():
            total.merge(room.stats)
        return total

    def states(self) -> dict[RoomState, int]:
        """How many rooms are in each state."""
        out = dict.fromkeys(RoomState, 0)
        for room in self._rooms.values():
            out[room.state] += 1
        return out

    def modes(self) -> dict[str, int]:
        """How many live rooms are connected each way (``direct``, ``signed``)."""
        out = {"direct": 0, "signed": 0}
        for room in self._rooms.values():
            if room.state is RoomState.LIVE and room.mode in out:
                out[room.mode] += 1
        return out

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start watching every room added so far (and those added later)."""
        if self._closed:
            raise RuntimeError("this Monitor is closed: make a new one")
        if self._running:
            return
        self._running = True
        self._started_at = time.monotonic()
        self._spawn(self._poller.run(), "fastlive:monitor-poller")
        for sink in self.sinks:  # never raises: a target that is down is retried
            await sink.open()
        if self.gift_streaks:
            self._spawn(self._streak_sweeper(), "fastlive:monitor-streaks")
        for room in list(self._rooms.values()):
            self._launch(room)

    async def aclose(self) -> None:
        """Disconnect every room, await the queued async callbacks, end every ``events()``
        stream, release the HTTP pool."""
        if self._closed:
            return
        self._closed = True
        self._running = False
        rooms = list(self._rooms.values())
        pending = {r._task for r in rooms if r._task is not None} | self._tasks
        while pending:  # cancel again if one is still running (a cancel is never lost now)
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
        for room in rooms:
            await self._flush_streaks(room)
            if room.state not in (RoomState.FAILED, RoomState.ENDED):
                self._set_state(room, RoomState.ENDED, room.error)  # keep the last error
        for queue in [r._callbacks for r in rooms if r._callbacks is not None]:
            await queue.aclose()
        await self._callbacks.aclose()
        for sink in self.sinks:  # after the last streaks: write what is pending, close
            await sink.aclose()
        for stream in list(self._streams):
            stream._end()
        if self._owns_http:
            await self._http.aclose()

    close = aclose

    async def wait_closed(self) -> None:
        """Wait until every room task has finished (they run until ``aclose()``)."""
        tasks = [r._task for r in self._rooms.values() if r._task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def run(self) -> None:
        """Start and block until cancelled (Ctrl-C); uvloop when installed."""

        async def main() -> None:
            async with self:
                await asyncio.Event().wait()

        run(main())

    # -- internals: tasks and states ---------------------------------------------

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _launch(self, room: MonitoredRoom) -> None:
        room._task = asyncio.get_running_loop().create_task(
            run_room(self, room), name=f"fastlive:monitor:{room.key}"
        )

    def _retire(self, room: MonitoredRoom) -> None:
        if room.state not in (RoomState.FAILED, RoomState.ENDED):
            self._set_state(room, RoomState.ENDED)
        self._retired.merge(room.stats)
        if room._recorder is not None:
            room._recorder.close()
            room._recorder = None

    def _set_state(
        self, room: MonitoredRoom, new: RoomState, error: BaseException | None = None
    ) -> None:
        old = room.state
        if error is not None or new is not RoomState.WAITING:
            room.error = error
        if old is new:
            return
        room.state = new
        room.changed_at = time.time()
        if new is RoomState.WAITING:
            self._poller.wake()
        if new is RoomState.FAILED:
            self._logger.warning("room %s failed: %s", room.name, error)
        else:
            self._logger.info("room %s: %s -> %s", room.name, old.value, new.value)
        for listener in list(self._state_listeners):
            try:
                listener(room, old, new)
            except Exception:
                self._logger.exception("state listener %r raised", listener)

    # -- internals: delivery -------------------------------------------------------

    def _sink(self, room: MonitoredRoom) -> Callable[[list[Any]], Awaitable[None]]:
        """What the room's client awaits per frame (a batch sink): count, deliver, feed the
        streaks (a streak's end follows its gift)."""
        stats = room._stats
        events = stats.events
        tracker = None
        if self.gift_streaks:
            tracker = room._streaks = room._streaks or StreakTracker(self.streak_timeout)
        loop = asyncio.get_running_loop()
        deliver = self._deliver_batch
        wallclock = time.time

        async def sink(batch: list[Any]) -> None:
            items = batch
            for i, event in enumerate(batch):
                cls = type(event)
                events[cls.__name__] += 1
                if tracker is not None and cls is GiftEvent:
                    final = tracker.feed(event, loop.time())
                    if final is not None:
                        if items is batch:
                            items = batch[:i]
                        items.append(event)
                        events["GiftStreakEvent"] += 1
                        items.append(final)
                        continue
                if items is not batch:
                    items.append(event)
            stats.last_event_time = wallclock()
            await deliver(room, items)

        return sink

    async def _deliver(self, room: MonitoredRoom, event: Any) -> None:
        """One event to the room's callbacks, the Monitor's, and every ``events()`` stream."""
        await self._deliver_batch(room, [event])

    async def _deliver_batch(self, room: MonitoredRoom, batch: list[Any]) -> None:
        """One room's events, in order, to its callbacks, the Monitor's, and every
        ``events()`` stream (in one hand-off per stream).

        Sync callbacks run here; what async ones return joins their owner's callback
        queue (which, when full, makes this room wait or drops the oldest call).
        """
        for event in batch:
            cls = type(event)
            for owner in (room, self):
                for callback in owner._listeners.route(cls):
                    try:
                        result = callback(room, event)
                    except Exception:
                        self._logger.exception(
                            "callback %r raised on %s of %s", callback, cls.__name__, room.name
                        )
                        continue
                    if inspect.isawaitable(result):
                        await owner.callback_queue.put(room, callback, event, result)
        if self.sinks:  # before the streams, never waiting: a blocked stream holds no sink back
            key, room_id = room.key, room.room_id or 0
            for sink in self.sinks:
                for event in batch:
                    sink.put(key, room_id, event)
        if self._streams:
            for stream in list(self._streams):
                await stream._put_many(room, batch)

    async def _deliver_streak(self, room: MonitoredRoom, final: GiftStreakEvent) -> None:
        room._stats.events["GiftStreakEvent"] += 1
        await self._deliver(room, final)

    async def _flush_streaks(self, room: MonitoredRoom) -> None:
        tracker = room._streaks
        if tracker is not None and len(tracker):
            for final in tracker.flush():
                await self._deliver_streak(room, final)

    async def _streak_sweeper(self) -> None:
        """Close gift streaks whose end message never came."""
        loop = asyncio.get_running_loop()
        period = max(min(self.streak_timeout / 4, 1.0), 0.01)
        while not self._closed:
            await asyncio.sleep(period)
            now = loop.time()
            for room in list(self._rooms.values()):
                tracker = room._streaks
                if tracker is not None and len(tracker):
                    for final in tracker.expire(now):
                        await self._deliver_streak(room, final)
