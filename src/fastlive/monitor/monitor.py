"""``Monitor``: many TikTok LIVE rooms in one event loop, one merged event stream.

The Monitor keeps one :class:`MonitoredRoom` per room (added and removed at
any time, by @handle or room id) and drives each through its states::

    IDLE -> WAITING -> CONNECTING -> LIVE -> ENDED -> WAITING -> ...
                          |  ^        |
                          v  |        v
                       BACKING_OFF <--+            FAILED (gave up; .error says why)

- **Waiting.** Offline rooms are polled together: one ``check_alive`` request
  per 50 rooms every ``poll_interval`` seconds.  A room that goes live is
  connected; a room whose stream ends goes back to waiting.  A handle's room
  id is looked up again every ``resolve_interval`` seconds while it waits
  (TikTok gives each live session a new room).
- **Shared resources.** One ``httpx.AsyncClient`` (connection pool) and one
  :class:`~fastlive.monitor.limits.SignLimiter` serve every room, so connects and
  reconnects are spread under the sign server's limit and a 429 pauses all
  of them until its reset time.
- **Events.** ``async for room, event in monitor.events()`` merges every
  room; ``monitor.on(Event, f)`` and ``room.on(Event, f)`` register callbacks
  ``f(room, event)`` (sync or async: async ones are awaited in order, so a
  slow one slows its own room).  Optional gift streak aggregation adds one
  :class:`~fastlive.events.GiftStreakEvent` per streak.
- **Back-pressure policy** (``overflow=``), when the consumer of
  ``events()`` is slower than the rooms: ``"block"`` (the default) makes the
  rooms wait (their sockets buffer; nothing is lost), ``"drop_oldest"`` keeps
  the newest ``max_queue`` items and counts every one dropped, per room
  (``room.stats.dropped``) and per stream (``stream.dropped``).  Never silent.
- **Counters.** ``room.stats`` and ``monitor.stats`` (a
  :class:`~fastlive.stats.RoomStats`: frames, bytes, decode time, events by
  type, reconnects, 429s, drops, last event time); ``monitor.stats_table()``
  prints them.

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
import hashlib
import inspect
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from fastlive._aio import run, wait_event
from fastlive._config import (
    DEFAULT_BACKOFF_JITTER,
    DEFAULT_MONITOR_QUEUE,
    DEFAULT_POLL_COALESCE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RESOLVE_INTERVAL,
    DEFAULT_WEB_CONCURRENCY,
    Settings,
)
from fastlive._listeners import Listeners
from fastlive.client import TikTokLiveClient
from fastlive.events import (
    GiftEvent,
    GiftStreakEvent,
)
from fastlive.exceptions import (
    AgeRestrictedError,
    ConnectError,
    RateLimitedError,
    SignAPIError,
    SignatureRateLimitError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
    WebError,
)
from fastlive.monitor.limits import SignLimiter
from fastlive.record.frames import META, Recorder
from fastlive.session import backoff
from fastlive.stats import RoomState, RoomStats
from fastlive.streaks import DEFAULT_STREAK_TIMEOUT, StreakTracker
from fastlive.web import TikTokWeb, make_http_client, normalize_unique_id

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DEFAULT_MONITOR_QUEUE",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_RESOLVE_INTERVAL",
    "Monitor",
    "MonitorStream",
    "MonitoredRoom",
    "Overflow",
    "shard_of",
]

logger = logging.getLogger("fastlive.monitor")

Overflow = Literal["block", "drop_oldest"]
OVERFLOW_POLICIES = ("block", "drop_oldest")
Callback = Callable[["MonitoredRoom", Any], Any]
StateListener = Callable[["MonitoredRoom", RoomState, RoomState], Any]

_END = object()
_ROOM_ID_RE = re.compile(r"^\d{6,20}$")


class _Removed(Exception):
    """Internal: the room was removed or the Monitor closed."""


class _Callbacks:
    """``on`` / ``add_listener`` / ``remove_listener`` over a ``Listeners`` table.

    Callbacks take ``(room, event)`` and also get subclasses of the class they
    listen to; a Monitor's see every room's events, a room's only its own.
    """

    _listeners: Listeners[Callback]

    def on(self, event: type, f: Callback | None = None) -> Any:
        """Register ``f(room, event)`` for events of ``event``'s class (also a decorator)."""
        if f is None:
            return lambda func: self._listeners.add(event, func)
        return self._listeners.add(event, f)

    def add_listener(self, event: type, f: Callback) -> Callback:
        """Call ``f(room, event)`` for each event of type ``event`` (or a subclass)."""
        return self._listeners.add(event, f)

    def remove_listener(self, event: type, f: Callback) -> None:
        """Stop calling ``f`` for ``event`` (``ValueError`` if it was not registered)."""
        self._listeners.remove(event, f)


class MonitoredRoom(_Callbacks):
    """One room of a :class:`Monitor`: its state, counters, callbacks and current client.

    Made by :meth:`Monitor.add`; read its attributes, do not construct it.
    """

    def __init__(self, monitor: Monitor, key: str, unique_id: str | None, room_id: int | None):
        self.key = key
        """``@handle`` or the room id as text: how the Monitor names the room."""
        self.unique_id = unique_id
        """The host's handle (no ``@``), or None for a room added by id."""
        self.room_id = room_id
        """The current room id (looked up from the handle, and again when it goes live)."""
        self.state = RoomState.IDLE
        self.error: BaseException | None = None
        """Why the room is ``FAILED`` (or the last trouble while waiting), else None."""
        self.client: TikTokLiveClient | None = None
        """The client of the live session now running, if any."""
        self.changed_at = time.time()
        """Wall-clock time of the last state change."""
        self.sessions = 0
        """Live sessions connected so far."""
        self._monitor = monitor
        self._stats = RoomStats()
        self._client_stats: RoomStats | None = None
        self._listeners: Listeners[Callback] = Listeners()
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._streaks: StreakTracker | None = None
        self._recorder: Recorder | None = None
        self._resolved_at = 0.0

    def __repr__(self) -> str:
        return f"MonitoredRoom({self.key!r}, room_id={self.room_id}, state={self.state.value})"

    @property
    def name(self) -> str:
        """``@handle`` when known, else the room id."""
        return f"@{self.unique_id}" if self.unique_id else str(self.room_id)

    @property
    def mode(self) -> str:
        """How the current connection went: ``"direct"``, ``"signed"``, or ``""`` when none."""
        return self.client.connect_mode if self.client is not None else ""

    @property
    def stats(self) -> RoomStats:
        """This room's counters over every live session so far (a fresh copy)."""
        out = _copy_stats(self._stats)
        if self._client_stats is not None:
            _merge_client(out, self._client_stats)
        return out


class MonitorStream:
    """``async for room, event in monitor.events()``: every room's events, merged.

    Bounded at ``maxsize`` items.  With ``overflow="block"`` a full stream makes
    the rooms wait; with ``"drop_oldest"`` the oldest item is dropped and counted
    (:attr:`dropped`, and ``room.stats.dropped`` of its room).  The stream ends
    when the Monitor closes or :meth:`aclose` is called.
    """

    def __init__(self, monitor: Monitor, maxsize: int, overflow: Overflow) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow={overflow!r}: use one of {', '.join(OVERFLOW_POLICIES)}")
        if maxsize < 1:
            raise ValueError("max_queue must be at least 1")
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
            old_room, _ = queue.get_nowait()
            self.dropped += 1
            old_room._stats.dropped += 1
            if self.dropped == 1:
                logger.warning(
                    "events() consumer is slower than the rooms: dropping the oldest events "
                    "(counted in stream.dropped and room.stats.dropped)"
                )
        queue.put_nowait(item)

    def _end(self) -> None:
        """Queue the end marker, making room for it if needed (it is not an event)."""
        if self._finished:
            return
        if self._queue.full():
            old_room, _ = self._queue.get_nowait()
            self.dropped += 1
            old_room._stats.dropped += 1
        self._queue.put_nowait(_END)


class Monitor(_Callbacks):
    """Watch many rooms at once; see the module docstring for the states and policies.

    Args:
        rooms: @handles (``str``) and room ids (``int``) to add at once.
        settings: base URLs, timeouts, backoff; ``Settings.from_env()`` if None.
        http: a shared ``httpx.AsyncClient`` (not closed here); one is made if None.
        sign_limiter: the shared :class:`~fastlive.monitor.limits.SignLimiter`; one with the
            default rate is made if None.
        max_queue: items buffered per ``events()`` stream.
        overflow: ``"block"`` or ``"drop_oldest"``: what a full ``events()`` stream does.
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
    ) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow={overflow!r}: use one of {', '.join(OVERFLOW_POLICIES)}")
        if poll_interval <= 0 or resolve_interval <= 0:
            raise ValueError("poll_interval and resolve_interval must be positive")
        self.settings = settings if settings is not None else Settings.from_env()
        self._owns_http = http is None
        self._http = http if http is not None else make_http_client(self.settings)
        self.sign_limiter = sign_limiter if sign_limiter is not None else SignLimiter()
        self.max_queue = max_queue
        self.overflow: Overflow = overflow
        self.poll_interval = poll_interval
        self.resolve_interval = resolve_interval
        self.gift_streaks = gift_streaks
        self.streak_timeout = streak_timeout
        self.record_dir = Path(record_dir) if record_dir is not None else None
        self._client_kwargs = dict(client_kwargs or {})
        self._start_kwargs = dict(start_kwargs or {})
        self._logger = logger or globals()["logger"]
        self._web = TikTokWeb(self.settings, http=self._http)
        self._web_slots = asyncio.Semaphore(DEFAULT_WEB_CONCURRENCY)
        self._rooms: dict[str, MonitoredRoom] = {}
        self._listeners: Listeners[Callback] = Listeners()
        self._state_listeners: list[StateListener] = []
        self._streams: set[MonitorStream] = set()
        self._retired = RoomStats()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poll_now = asyncio.Event()
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

    def room(self, key: str | int) -> MonitoredRoom:
        """A room by handle, ``@handle`` or room id (``KeyError`` if not monitored)."""
        found = self._rooms.get(_key(key))
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
        key = _key(room)
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
        """Stop watching a room: disconnect it, close its recording, forget it."""
        entry = self.room(room)
        del self._rooms[entry.key]
        task = entry._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self._flush_streaks(entry)
        self._retire(entry)

    # -- listeners ---------------------------------------------------------------

    def add_state_listener(self, f: StateListener) -> StateListener:
        """Call ``f(room, old, new)`` on every state change of every room (sync only)."""
        self._state_listeners.append(f)
        return f

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
        total = _copy_stats(self._retired)
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

    def stats_table(self) -> str:
        """A text table: one line per room and a total line."""
        head = (
            f"{'room':<24} {'state':<11} {'mode':<6} {'events':>9} {'frames':>8} {'MiB':>8} "
            f"{'decode s':>8} {'reconn':>6} {'429':>4} {'blocked':>7} {'switch':>6} "
            f"{'dropped':>7}  last event"
        )
        lines = [head]
        now = time.time()

        def line(name: str, state: str, mode: str, s: RoomStats) -> str:
            age = "-" if s.last_event_time is None else f"{now - s.last_event_time:.0f} s ago"
            return (
                f"{name[:24]:<24} {state:<11} {mode:<6} {s.events_total:>9} {s.frames:>8} "
                f"{s.bytes / 2**20:>8.2f} {s.decode_ns / 1e9:>8.3f} {s.reconnects:>6} "
                f"{s.rate_limited:>4} {s.device_blocked:>7} {s.mode_switches:>6} "
                f"{s.dropped:>7}  {age}"
            )

        for room in self._rooms.values():
            lines.append(line(room.name, room.state.value, room.mode, room.stats))
        states = self.states()
        summary = f"{states[RoomState.LIVE]}/{len(self._rooms)} live"
        lines.append(line("total", summary, "", self.stats))
        return "\n".join(lines)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Start watching every room added so far (and those added later)."""
        if self._closed:
            raise RuntimeError("this Monitor is closed: make a new one")
        if self._running:
            return
        self._running = True
        self._started_at = time.monotonic()
        self._spawn(self._poller(), "fastlive:monitor-poller")
        if self.gift_streaks:
            self._spawn(self._streak_sweeper(), "fastlive:monitor-streaks")
        for room in list(self._rooms.values()):
            self._launch(room)

    async def aclose(self) -> None:
        """Disconnect every room, end every ``events()`` stream, release the HTTP pool."""
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

    # -- internals: tasks --------------------------------------------------------

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _launch(self, room: MonitoredRoom) -> None:
        room._task = asyncio.get_running_loop().create_task(
            self._room_loop(room), name=f"fastlive:monitor:{room.key}"
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
            self._poll_now.set()
        if new is RoomState.FAILED:
            self._logger.warning("room %s failed: %s", room.name, error)
        else:
            self._logger.info("room %s: %s -> %s", room.name, old.value, new.value)
        for listener in list(self._state_listeners):
            try:
                listener(room, old, new)
            except Exception:
                self._logger.exception("state listener %r raised", listener)

    # -- internals: one room -----------------------------------------------------

    async def _room_loop(self, room: MonitoredRoom) -> None:
        """Resolve, wait for live, connect, repeat; until removed or FAILED."""
        loop = asyncio.get_running_loop()
        s = self.settings
        failures = 0
        jitter = DEFAULT_BACKOFF_JITTER
        delays = backoff(s.backoff_initial, s.backoff_factor, s.backoff_max, jitter)
        try:
            while True:
                if (
                    room.unique_id
                    and (
                        room.room_id is None
                        or loop.time() - room._resolved_at >= self.resolve_interval
                    )
                    and not await self._resolve(room)
                ):
                    return
                if room.room_id is None:
                    self._set_state(room, RoomState.WAITING)
                    await self._sleep_jittered(self.resolve_interval)
                    continue
                self._set_state(room, RoomState.WAITING)
                room._live.clear()
                if not await wait_event(room._live, self._wait_budget(room, loop)):
                    continue  # time to look the handle up again
                self._set_state(room, RoomState.CONNECTING)
                try:
                    await self._live_session(room)
                except (UserOfflineError, _Removed):
                    continue  # went offline between the check and the connect
                except (UserNotFoundError, AgeRestrictedError, WebcastBlockedError) as exc:
                    self._set_state(room, RoomState.FAILED, exc)
                    return
                except SignAPIError as exc:
                    if not _retryable_sign(exc):
                        self._set_state(room, RoomState.FAILED, exc)
                        return
                    failures += 1
                    room.error = exc
                except (ConnectError, WebError, OSError, TimeoutError, asyncio.TimeoutError) as exc:
                    failures += 1
                    room.error = exc
                else:
                    failures = 0
                    delays = backoff(s.backoff_initial, s.backoff_factor, s.backoff_max, jitter)
                    continue
                if failures > s.reconnect_attempts:
                    self._set_state(room, RoomState.FAILED, room.error)
                    return
                delay = next(delays)
                if isinstance(room.error, (SignatureRateLimitError, RateLimitedError)):
                    delay = max(delay, room.error.retry_after or 0.0)
                self._set_state(room, RoomState.BACKING_OFF, room.error)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._logger.exception("room %s: monitor task failed", room.name)
            self._set_state(room, RoomState.FAILED, exc)

    def _wait_budget(self, room: MonitoredRoom, loop: asyncio.AbstractEventLoop) -> float | None:
        """How long to wait for live before the handle's room id is looked up again."""
        if not room.unique_id:
            return None
        left = room._resolved_at + self.resolve_interval - loop.time()
        return max(left, 0.0) * random.uniform(1.0, 1.2)

    async def _sleep_jittered(self, delay: float) -> None:
        await asyncio.sleep(delay * random.uniform(1.0, 1.2))

    async def _resolve(self, room: MonitoredRoom) -> bool:
        """Look the handle's room id up; False when the room is FAILED for good."""
        assert room.unique_id is not None
        loop = asyncio.get_running_loop()
        try:
            async with self._web_slots:
                room.room_id = int(await self._web.fetch_room_id(room.unique_id))
            room.error = None
        except UserNotFoundError as exc:
            self._set_state(room, RoomState.FAILED, exc)
            return False
        except UserOfflineError as exc:
            room.error = exc  # no room at all yet: look again later
        except (WebError, OSError) as exc:
            room.error = exc
            self._logger.warning("room %s: room id look-up failed (%s)", room.name, exc)
        room._resolved_at = loop.time()
        return True

    async def _live_session(self, room: MonitoredRoom) -> None:
        """Connect one client to the live room; its events reach the Monitor through a sink."""
        kwargs: dict[str, Any] = {
            "settings": self.settings,
            "http": self._http,
            "sign_limiter": self.sign_limiter,
        }
        kwargs.update(self._client_kwargs)
        client = TikTokLiveClient(
            room.unique_id or str(room.room_id), room_id=room.room_id, **kwargs
        )
        client.add_event_sink(self._sink(room))
        client.add_state_listener(lambda _c, _old, new: self._client_state(room, new))
        if self.record_dir is not None:
            self._record(room, client, room.sessions + 1)
        room.client = client
        room._client_stats = client.stats
        try:
            task = await client.start(**self._start_kwargs)
            room.sessions += 1
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if task.done():
                    return  # the client's task was cancelled, not ours
                raise
        finally:
            if client.running:
                with contextlib.suppress(BaseException):
                    await client.disconnect()
            await self._flush_streaks(room)
            if room._client_stats is not None:
                _merge_client(room._stats, room._client_stats)
                room._client_stats = None
            room.client = None
        self._set_state(room, RoomState.ENDED)

    def _client_state(self, room: MonitoredRoom, new: RoomState) -> None:
        """A running client's own state (when it reports one) becomes the room's."""
        if new in (RoomState.CONNECTING, RoomState.LIVE, RoomState.BACKING_OFF):
            self._set_state(room, new)

    def _record(self, room: MonitoredRoom, client: TikTokLiveClient, session: int) -> None:
        """Record the client's raw frames to the room's ``.flrec`` (``record_dir``).

        A META record (room id, handle, fastlive version, connection mode, session
        number) comes before the session's first frame, and again whenever the
        mode changes (``auto`` moving between direct and signed); then every
        frame: the sign server's fetch result, each frame received and sent.
        """
        from fastlive._version import __version__

        mode = [""]

        def on_frame(kind: int, data: bytes, time_ns: int) -> None:
            recorder = room._recorder
            if recorder is None:
                assert self.record_dir is not None
                self.record_dir.mkdir(parents=True, exist_ok=True)
                name = re.sub(r"[^\w.-]", "_", room.unique_id or str(room.room_id))
                recorder = room._recorder = Recorder(self.record_dir / f"{name}.flrec")
            if client.connect_mode != mode[0]:
                mode[0] = client.connect_mode
                meta = {
                    "room_id": client.room_id or room.room_id,
                    "unique_id": room.unique_id,
                    "fastlive": __version__,
                    "mode": mode[0],
                    "session": session,
                }
                recorder.write(META, _json(meta), time_ns)
            recorder.write(kind, data, time_ns)

        client.add_frame_listener(on_frame)

    def _sink(self, room: MonitoredRoom) -> Callable[[Any], Awaitable[None]]:
        """What the room's client awaits per event: count it, deliver it, feed the streaks."""
        stats = room._stats
        events = stats.events
        tracker = None
        if self.gift_streaks:
            tracker = room._streaks = room._streaks or StreakTracker(self.streak_timeout)
        loop = asyncio.get_running_loop()
        deliver = self._deliver
        wallclock = time.time

        async def sink(event: Any) -> None:
            cls = type(event)
            events[cls.__name__] += 1
            stats.last_event_time = wallclock()
            await deliver(room, event)
            if tracker is not None and cls is GiftEvent:
                final = tracker.feed(event, loop.time())
                if final is not None:
                    await self._deliver_streak(room, final)

        return sink

    async def _deliver(self, room: MonitoredRoom, event: Any) -> None:
        """One event to the room's callbacks, the Monitor's, and every ``events()`` stream."""
        cls = type(event)
        for table in (room._listeners, self._listeners):
            for callback in table.route(cls):
                try:
                    result = callback(room, event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    self._logger.exception(
                        "callback %r raised on %s of %s", callback, cls.__name__, room.name
                    )
        if self._streams:
            item = (room, event)
            for stream in list(self._streams):
                await stream._put(item)

    async def _deliver_streak(self, room: MonitoredRoom, final: GiftStreakEvent) -> None:
        room._stats.events["GiftStreakEvent"] += 1
        await self._deliver(room, final)

    async def _flush_streaks(self, room: MonitoredRoom) -> None:
        tracker = room._streaks
        if tracker is not None and len(tracker):
            for final in tracker.flush():
                await self._deliver_streak(room, final)

    # -- internals: the shared tasks ----------------------------------------------

    async def _poller(self) -> None:
        """Check the waiting rooms in batches; wake those that went live."""
        pause = 0.0
        while not self._closed:
            await wait_event(self._poll_now, self.poll_interval + pause)
            pause = 0.0
            if self._poll_now.is_set():  # rooms just started waiting: let others join
                await asyncio.sleep(min(DEFAULT_POLL_COALESCE, self.poll_interval))
                self._poll_now.clear()
            waiting = [
                r
                for r in self._rooms.values()
                if r.state is RoomState.WAITING and r.room_id is not None and not r._live.is_set()
            ]
            if not waiting:
                continue
            try:
                alive = await self._web.fetch_is_live_many([r.room_id for r in waiting])
            except RateLimitedError as exc:
                pause = exc.retry_after or self.poll_interval
                self._logger.warning("live check rate-limited: next one in %.0f s", pause)
                continue
            except (WebError, OSError) as exc:
                self._logger.warning("live check failed (%s); retrying", exc)
                continue
            for room, live in zip(waiting, alive):
                if live and room.state is RoomState.WAITING:
                    room._live.set()

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


# -- helpers -----------------------------------------------------------------------


def _key(room: str | int) -> str:
    """``@handle`` for a handle, the digits for a room id."""
    if isinstance(room, int):
        return str(room)
    text = str(room).strip()
    if _ROOM_ID_RE.match(text):  # "@123456" stays a handle
        return text
    return "@" + normalize_unique_id(text).lower()


def shard_of(room: str | int, shards: int) -> int:
    """The shard (0 to ``shards - 1``) a room belongs to: a stable hash of its key.

    The same handle or room id always lands in the same shard, in every process
    and Python version (BLAKE2b of ``@handle`` lower-cased, or of the room id).
    ``fastlive watch --shard K/N`` keeps the rooms with ``shard_of(room, N) == K - 1``.
    """
    digest = hashlib.blake2b(_key(room).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def _retryable_sign(exc: SignAPIError) -> bool:
    return exc.status is None or exc.status >= 500 or exc.status == 429


def _copy_stats(stats: RoomStats) -> RoomStats:
    out = RoomStats()
    for f in fields(stats):
        value = getattr(stats, f.name)
        setattr(out, f.name, value.copy() if f.name == "events" else value)
    return out


_MONITOR_FIELDS = frozenset({"events", "last_event_time", "dropped"})
"""Counters the Monitor keeps itself (from the events it delivers), never the client's."""


def _merge_client(out: RoomStats, client: RoomStats) -> None:
    """Add a client's connection counters (frames, bytes, reconnects...) to ``out``."""
    for f in fields(client):
        if f.name not in _MONITOR_FIELDS:
            setattr(out, f.name, getattr(out, f.name) + getattr(client, f.name))


def _json(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True).encode()
