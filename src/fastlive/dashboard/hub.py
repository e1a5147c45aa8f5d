"""The dashboard's view of a Monitor: per-room figures, their history, and the event relay.

:class:`Hub` listens to every event with one *sync* Monitor callback, so it never makes
a room wait: it adds to a few counters and, when someone is subscribed, encodes the
event once and appends it to each subscriber's bounded queue.  A subscriber that reads
slower than the rooms loses its oldest records (counted in ``dropped``), never the
rooms' time.  A sampler task records viewers, diamonds and events per second every
``sample_interval`` seconds for the charts.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastlive.events import GiftEvent, GiftStreakEvent, RoomUserSeqEvent
from fastlive.schema import encode_record
from fastlive.stats import RoomState

__all__ = ["DEFAULT_HISTORY", "DEFAULT_SUBSCRIBER_QUEUE", "Hub", "RoomFigures", "Subscriber"]

DEFAULT_SUBSCRIBER_QUEUE = 1_000
"""Records waiting per ``/api/events`` client before its oldest are dropped."""
DEFAULT_HISTORY = 360
"""Chart samples kept per room (an hour at one sample every 10 s)."""


class Subscriber:
    """One ``/api/events`` client: its filters and a bounded queue of encoded records."""

    def __init__(self, rooms: frozenset[str], types: frozenset[str], max_queue: int) -> None:
        self.rooms = rooms
        self.types = types
        self.queue: collections.deque[bytes] = collections.deque(maxlen=max_queue)
        self.unencodable = 0
        """Events the schema could not encode (skipped by the relay)."""
        self.dropped = 0
        self.sent = 0
        self.wakeup = asyncio.Event()
        self.closed = False

    def wants(self, room: str, names: frozenset[str]) -> bool:
        return (not self.rooms or room in self.rooms) and (
            not self.types or bool(self.types & names)
        )

    def push(self, record: bytes) -> None:
        queue = self.queue
        if len(queue) == queue.maxlen:
            self.dropped += 1  # the deque drops the oldest itself
        queue.append(record)
        self.wakeup.set()

    def take(self) -> list[bytes]:
        """Every record waiting, oldest first (and clears the wake-up)."""
        out = list(self.queue)
        self.queue.clear()
        self.wakeup.clear()
        return out


class RoomFigures:
    """What the dashboard shows of one room beyond its ``stats``: viewers, diamonds, history."""

    __slots__ = ("_counted", "diamonds", "history", "last_event", "last_type", "rate", "viewers")

    def __init__(self, history: int) -> None:
        self.viewers = 0
        self.diamonds = 0
        self.last_event: float | None = None
        self.last_type = ""
        self.rate = 0.0
        self.history: collections.deque[tuple[float, int, int]] = collections.deque(maxlen=history)
        self._counted = 0


class Hub:
    """Per-room figures and the event relay of a Monitor; see the module docstring.

    Args:
        monitor: the :class:`~fastlive.monitor.Monitor` to watch (its public API only).
        max_queue: records waiting per subscriber before the oldest are dropped.
        history: chart samples kept per room.
        sample_interval: seconds between two chart samples (and rate computations).
    """

    def __init__(
        self,
        monitor: Any,
        *,
        max_queue: int = DEFAULT_SUBSCRIBER_QUEUE,
        history: int = DEFAULT_HISTORY,
        sample_interval: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_queue < 1 or history < 1 or sample_interval <= 0:
            raise ValueError("max_queue and history must be >= 1, sample_interval positive")
        self.monitor = monitor
        self.max_queue = max_queue
        self.sample_interval = sample_interval
        self._history = history
        self._clock = clock
        self._figures: dict[str, RoomFigures] = {}
        self._subscribers: set[Subscriber] = set()
        self._names: dict[type, frozenset[str]] = {}
        self._streaks = bool(getattr(monitor, "gift_streaks", False))
        self._sampler: asyncio.Task[None] | None = None
        self.dropped = 0
        """Records dropped over every subscriber that has left (live ones: ``sub.dropped``)."""
        monitor.on(object, self._on_event)

    # -- the Monitor callback (sync: it must never wait) ---------------------------------

    def _on_event(self, room: Any, event: Any) -> None:
        figures = self.figures(room.key)
        cls = type(event)
        figures.last_event = self._clock()
        figures.last_type = cls.__name__
        if cls is RoomUserSeqEvent:
            figures.viewers = event.total
        elif cls is GiftStreakEvent:
            figures.diamonds += event.diamonds
        elif cls is GiftEvent and not self._streaks:
            figures.diamonds += event.diamond_value or 0
        if not self._subscribers:
            return
        names = self._names.get(cls)
        if names is None:
            names = self._names[cls] = frozenset(c.__name__ for c in cls.__mro__)
        record = None
        for sub in self._subscribers:
            if sub.wants(room.key, names):
                if record is None:
                    try:
                        record = self._record(room, event)
                    except (TypeError, ValueError, AttributeError):  # not the room's problem
                        self.unencodable += 1
                        return
                sub.push(record)

    def _record(self, room: Any, event: Any) -> bytes:
        room_id = getattr(event, "room_id", 0) or room.room_id or 0
        return encode_record(room.key, room_id, event)

    # -- reading ----------------------------------------------------------------------

    def figures(self, key: str) -> RoomFigures:
        found = self._figures.get(key)
        if found is None:
            found = self._figures[key] = RoomFigures(self._history)
        return found

    def rooms(self) -> list[dict[str, Any]]:
        """``/api/rooms``: one dict per room of the Monitor, in the order they were added."""
        out = []
        for key, room in self.monitor.rooms.items():
            stats = room.stats
            figures = self.figures(key)
            out.append(
                {
                    "room": key,
                    "room_id": room.room_id,
                    "state": room.state.value,
                    "mode": room.mode,
                    "events": stats.events_total,
                    "viewers": figures.viewers,
                    "diamonds": figures.diamonds,
                    "events_per_second": round(figures.rate, 2),
                    "last_event": figures.last_type,
                    "last_event_time": figures.last_event,
                    "reconnects": stats.reconnects,
                    "dropped": stats.dropped,
                }
            )
        return out

    def history(self, rooms: Iterable[str] = ()) -> dict[str, list[list[float]]]:
        """``/api/history``: per room, ``[time, viewers, diamonds]`` samples, oldest first."""
        wanted = set(rooms)
        return {
            key: [list(s) for s in figures.history]
            for key, figures in self._figures.items()
            if not wanted or key in wanted
        }

    def summary(self) -> dict[str, Any]:
        states = collections.Counter(r.state.value for r in self.monitor.rooms.values())
        return {
            "rooms": sum(states.values()),
            "live": states[RoomState.LIVE.value],
            "states": dict(states),
            "subscribers": len(self._subscribers),
            "subscriber_dropped": self.dropped + sum(s.dropped for s in self._subscribers),
        }

    # -- subscribers --------------------------------------------------------------------

    def subscribe(self, rooms: Iterable[str] = (), types: Iterable[str] = ()) -> Subscriber:
        sub = Subscriber(frozenset(rooms), frozenset(types), self.max_queue)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub in self._subscribers:
            self._subscribers.discard(sub)
            self.dropped += sub.dropped
        sub.closed = True
        sub.wakeup.set()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    # -- the sampler --------------------------------------------------------------------

    def sample(self) -> None:
        """Take one chart sample of every room and update its events per second."""
        now = self._clock()
        for key, room in self.monitor.rooms.items():
            figures = self.figures(key)
            total = room.stats.events_total
            if figures.history:
                elapsed = max(now - figures.history[-1][0], 1e-9)
                figures.rate = max(total - figures._counted, 0) / elapsed
            figures._counted = total
            figures.history.append((now, figures.viewers, figures.diamonds))

    async def _run_sampler(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.sample_interval)

    def start(self) -> None:
        if self._sampler is None:
            self._sampler = asyncio.get_running_loop().create_task(
                self._run_sampler(), name="fastlive:dashboard-sampler"
            )

    async def aclose(self) -> None:
        """Stop sampling, end every subscriber, stop listening to the Monitor."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        for sub in list(self._subscribers):
            self.unsubscribe(sub)
        with contextlib.suppress(ValueError):
            self.monitor.remove_listener(object, self._on_event)
