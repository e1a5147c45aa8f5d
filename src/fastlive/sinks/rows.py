"""What a batch of events becomes in the five tables, for any database (sans-I/O).

:class:`TableRows` turns ``(room_key, room_id, event)`` items into row tuples for
``events``, ``comments``, ``gifts``, ``rooms`` and ``sessions`` (columns in
:data:`COLUMNS`).  It keeps what spans batches: the open gift streaks and the
open session of each room.  Every row is idempotent under the tables' keys, so a
batch written twice (a retry, a replay, a restart) stores nothing twice.

- **Gifts.**  The rows track streaks themselves (:class:`~fastlive.streaks.StreakTracker`,
  one per room, on the messages' own ``create_time`` clock): the same rows come out
  whether or not the Monitor runs with ``gift_streaks``, and a replay of the same
  messages closes the same streaks (a ``GiftStreakEvent`` from the Monitor is not
  stored again).  A streak closes on its end message, after ``streak_timeout``
  seconds of the room's message time without news, when the room disconnects or
  ends, or at :meth:`TableRows.flush`.
- **Sessions.**  One per live stream: it starts at the room's first message (its
  ``create_time``), ends at ``LiveEndEvent`` or ``DisconnectEvent``; ``peak_viewers``
  is the highest ``RoomUserSeqEvent.total``.  Keyed ``(room_id, started_at)``.
- **Events.**  Every decoded event with a ``msg_id``; the client's own events are
  not stored there.  An event seen under two types keeps the more specific
  (:data:`SPECIFIC_PAIRS`, for the upsert's ``WHERE``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import fastlive.events as _events
from fastlive.events import (
    BaseEvent,
    CommentEvent,
    DisconnectEvent,
    GiftEvent,
    LiveEndEvent,
    RoomUserSeqEvent,
)
from fastlive.schema import encode_record
from fastlive.streaks import DEFAULT_STREAK_TIMEOUT, StreakTracker

__all__ = ["COLUMNS", "SPECIFIC_PAIRS", "RowBatch", "TableRows"]

COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("room_id", "msg_id", "type", "create_time", "user_id", "unique_id", "data"),
    "comments": (
        "room_id", "msg_id", "create_time", "user_id", "unique_id", "nickname", "comment",
    ),
    "gifts": (
        "room_id", "msg_id", "create_time", "user_id", "unique_id", "gift_id", "gift_name",
        "repeat_count", "diamonds",
    ),
    "rooms": ("room_id", "unique_id", "first_seen", "last_seen"),
    "sessions": ("room_id", "started_at", "ended_at", "peak_viewers"),
}  # fmt: skip
"""The columns of each table, in the order of :class:`RowBatch`'s tuples."""


def _specific_pairs() -> frozenset[str]:
    out = set()
    for name in _events.__all__:
        sub = getattr(_events, name)
        if isinstance(sub, type) and issubclass(sub, BaseEvent):
            for base in sub.__mro__[1:]:
                if base is BaseEvent:
                    break
                if issubclass(base, BaseEvent):
                    out.add(f"{base.__name__} {sub.__name__}")
    return frozenset(out)


SPECIFIC_PAIRS = _specific_pairs()
"""``"Base Sub"`` for every event class and its subclasses (``"SocialEvent FollowEvent"``):
a row stored as ``Base`` is replaced by the same message as ``Sub``, never the other way."""


@dataclass
class RowBatch:
    """Rows for each table (tuples in :data:`COLUMNS` order)."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    comments: list[tuple[Any, ...]] = field(default_factory=list)
    gifts: list[tuple[Any, ...]] = field(default_factory=list)
    rooms: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events) + len(self.gifts) + len(self.sessions) + len(self.rooms)


class _Session:
    __slots__ = ("ended", "last", "peak", "started")

    def __init__(self, started: int) -> None:
        self.started = started
        self.last = started
        self.peak = 0
        self.ended: int | None = None

    def row(self, room_id: int) -> tuple[Any, ...]:
        return (room_id, self.started, self.ended, self.peak)


def _who(event: Any) -> tuple[int | None, str | None]:
    user = getattr(event, "user", None)
    if user is None:
        return None, None
    return user.id, user.unique_id


class TableRows:
    """Rows of the five tables from batches of events; see the module docstring.

    Args:
        streak_timeout: seconds (of the room's message time) without news before an open
            gift streak is closed.
    """

    def __init__(self, streak_timeout: float = DEFAULT_STREAK_TIMEOUT) -> None:
        self.streak_timeout = streak_timeout
        self._streaks: dict[int, StreakTracker] = {}
        self._sessions: dict[int, _Session] = {}

    def feed(self, batch: list[tuple[str, int, Any]]) -> RowBatch:
        """The rows for one batch of ``(room_key, room_id, event)``, in arrival order."""
        out = RowBatch()
        rooms: dict[int, list[Any]] = {}
        touched: dict[int, _Session] = {}
        closed: list[tuple[Any, ...]] = []
        now = int(time.time() * 1000)
        sessions = self._sessions
        event_rows = self._event_rows
        for room_key, room_id, event in batch:
            if isinstance(event, BaseEvent):
                rid = event.room_id or room_id
                if not rid:
                    continue
                created = event.create_time or now
                event_rows(out, room_key, rid, event)
                seen = rooms.get(rid)
                if seen is None:
                    handle = room_key[1:] if room_key[:1] == "@" else ""
                    rooms[rid] = [handle, created, created]
                elif created < seen[1]:
                    seen[1] = created
                elif created > seen[2]:
                    seen[2] = created
                session = touched.get(rid) or sessions.get(rid)
                if session is None:
                    session = sessions[rid] = _Session(created)
                session.last = max(session.last, created)
                cls = type(event)
                if cls is RoomUserSeqEvent and event.total > session.peak:
                    session.peak = event.total
                touched[rid] = session
                if cls is LiveEndEvent:
                    session.ended = created
                    closed.append(session.row(rid))
                    del sessions[rid], touched[rid]
                    self._close_streaks(out, rid)
                continue
            rid = getattr(event, "room_id", 0) or room_id
            if not rid:
                continue
            if isinstance(event, DisconnectEvent):
                session = sessions.pop(rid, None)
                touched.pop(rid, None)
                if session is not None:
                    session.ended = session.last
                    closed.append(session.row(rid))
                self._close_streaks(out, rid)
            elif room_key[:1] == "@" and rid not in rooms:
                rooms[rid] = [room_key[1:], now, now]
        out.sessions = closed + [s.row(rid) for rid, s in touched.items()]
        out.rooms = [(rid, h, first, last) for rid, (h, first, last) in rooms.items()]
        return out

    def flush(self) -> RowBatch:
        """Close every open streak now (``timed_out``): the sink is closing."""
        out = RowBatch()
        for rid in list(self._streaks):
            self._close_streaks(out, rid)
        return out

    def _event_rows(self, out: RowBatch, room_key: str, rid: int, event: BaseEvent) -> None:
        cls = type(event)
        user = getattr(event, "user", None)
        user_id, unique_id = (None, None) if user is None else (user.id, user.unique_id)
        if event.msg_id:
            data = encode_record(room_key, rid, event).decode()
            out.events.append(
                (rid, event.msg_id, cls.__name__, event.create_time, user_id, unique_id, data)
            )
            if cls is CommentEvent:
                nickname = event.user.nickname if event.user is not None else None
                out.comments.append(
                    (rid, event.msg_id, event.create_time, user_id, unique_id, nickname,
                     event.content)
                )  # fmt: skip
        tracker = self._streaks.get(rid)
        if tracker is not None and len(tracker):  # no news for streak_timeout: closed
            for final in tracker.expire(event.create_time / 1000):
                self._gift_row(out, rid, final)
        if cls is GiftEvent:
            clock = event.create_time / 1000
            if tracker is None:
                tracker = self._streaks[rid] = StreakTracker(self.streak_timeout)
            final = tracker.feed(event, clock)
            if final is not None:
                self._gift_row(out, rid, final)

    def _close_streaks(self, out: RowBatch, rid: int) -> None:
        tracker = self._streaks.pop(rid, None)
        if tracker is not None:
            for final in tracker.flush():
                self._gift_row(out, rid, final)

    @staticmethod
    def _gift_row(out: RowBatch, rid: int, streak: Any) -> None:
        user_id, unique_id = _who(streak)
        name = streak.gift.name if streak.gift is not None else None
        out.gifts.append(
            (rid, streak.msg_id, streak.last_time, user_id, unique_id, streak.gift_id, name,
             streak.count, streak.diamonds)
        )  # fmt: skip
