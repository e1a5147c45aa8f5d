"""Counters of one room's connection, and the states a room goes through.

A client keeps one ``RoomStats`` and updates it where frames arrive (a few
integer additions per frame, nothing per message); the Monitor sums them.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["RoomState", "RoomStats"]


class RoomState(str, enum.Enum):
    """Where a room is in its life, as a client or the Monitor sees it."""

    IDLE = "idle"  # not started
    WAITING = "waiting"  # offline: polled until it goes live (Monitor)
    CONNECTING = "connecting"  # resolving, signing or opening the socket
    LIVE = "live"  # socket open, events flowing
    BACKING_OFF = "backing_off"  # dropped or refused; reconnecting after a delay
    ENDED = "ended"  # the stream ended (or disconnect() was called)
    FAILED = "failed"  # gave up: the error says why


@dataclass(slots=True)
class RoomStats:
    """Counters for one room; ``merge`` adds another room's into this one."""

    frames: int = 0
    bytes: int = 0
    decode_ns: int = 0
    events: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    reconnects: int = 0
    rate_limited: int = 0
    device_blocked: int = 0
    mode_switches: int = 0
    ttwid_mints: int = 0
    ttwid_misses: int = 0
    dropped: int = 0
    last_event_time: float | None = None
    """Wall-clock time (``time.time()``) of the last event delivered."""

    @property
    def events_total(self) -> int:
        return sum(self.events.values())

    def merge(self, other: RoomStats) -> RoomStats:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "events":
                mine.update(theirs)
            elif f.name == "last_event_time":
                if theirs is not None and (mine is None or theirs > mine):
                    self.last_event_time = theirs
            else:
                setattr(self, f.name, mine + theirs)
        return self

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["events"] = dict(self.events)
        out["events_total"] = self.events_total
        out["decode_seconds"] = self.decode_ns / 1e9
        return out
