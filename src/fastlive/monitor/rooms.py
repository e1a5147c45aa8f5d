"""``MonitoredRoom``: one room of a Monitor, its callbacks, and how rooms are named.

A room is made by :meth:`Monitor.add <fastlive.monitor.monitor.Monitor.add>` and
driven by :mod:`fastlive.monitor.runner`; users read its state and counters and
register callbacks on it.  Rooms are keyed by ``@handle`` (lower-cased) or by the
room id as text; :func:`shard_of` hashes that key.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from fastlive._listeners import Listeners
from fastlive.monitor.stream import CallbackQueue
from fastlive.stats import RoomState, RoomStats
from fastlive.web import normalize_unique_id

if TYPE_CHECKING:
    from fastlive.client import TikTokLiveClient
    from fastlive.monitor.monitor import Monitor
    from fastlive.record.frames import Recorder
    from fastlive.streaks import StreakTracker

__all__ = ["Callback", "MonitoredRoom", "StateListener", "room_key", "shard_of"]

Callback = Callable[["MonitoredRoom", Any], Any]
StateListener = Callable[["MonitoredRoom", RoomState, RoomState], Any]

_ROOM_ID_RE = re.compile(r"^\d{6,20}$")


class Callbacks:
    """``on`` / ``add_listener`` / ``remove_listener`` over a ``Listeners`` table.

    Callbacks take ``(room, event)`` and also get subclasses of the class they
    listen to; a Monitor's see every room's events, a room's only its own.  Sync
    callbacks run as the event arrives; what async ones return is awaited in
    arrival order by the owner's :class:`~fastlive.monitor.stream.CallbackQueue`.
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


class MonitoredRoom(Callbacks):
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
        self._callbacks: CallbackQueue | None = None
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
        out = copy_stats(self._stats)
        if self._client_stats is not None:
            merge_client(out, self._client_stats)
        return out

    @property
    def callback_queue(self) -> CallbackQueue:
        """Where this room's async callbacks wait their turn (one task, in arrival order).

        Bounded at the Monitor's ``max_queue`` with its ``overflow`` policy: a full
        queue makes this room wait (``"block"``) or drops the oldest call, counted in
        ``callback_queue.dropped`` and ``room.stats.dropped`` (``"drop_oldest"``).
        """
        queue = self._callbacks
        if queue is None:
            monitor = self._monitor
            queue = self._callbacks = CallbackQueue(
                f"fastlive:monitor-callbacks:{self.key}",
                monitor.max_queue,
                monitor.overflow,
                monitor._logger,
            )
        return queue


def room_key(room: str | int) -> str:
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
    digest = hashlib.blake2b(room_key(room).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


# -- counters ------------------------------------------------------------------------


def copy_stats(stats: RoomStats) -> RoomStats:
    """A copy of ``stats`` that shares nothing with it (its ``events`` counter included)."""
    out = RoomStats()
    for f in fields(stats):
        value = getattr(stats, f.name)
        setattr(out, f.name, value.copy() if f.name == "events" else value)
    return out


_MONITOR_FIELDS = frozenset({"events", "last_event_time", "dropped"})
"""Counters the Monitor keeps itself (from the events it delivers), never the client's."""


def merge_client(out: RoomStats, client: RoomStats) -> None:
    """Add a client's connection counters (frames, bytes, reconnects...) to ``out``."""
    for f in fields(client):
        if f.name not in _MONITOR_FIELDS:
            setattr(out, f.name, getattr(out, f.name) + getattr(client, f.name))
