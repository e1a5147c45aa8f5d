"""How the commands print events: the colour feed, JSON lines, the status line."""

from __future__ import annotations

import asyncio
import time
from typing import Any, BinaryIO

import msgspec

from fastlive.events import BaseEvent, ClientEvent, DecodeErrorEvent, GiftStreakEvent
from fastlive.schema import event_record
from fastlive.stats import RoomState

__all__ = [
    "COLOURS",
    "RESET",
    "JsonlWriter",
    "describe",
    "enc_hook",
    "event_line",
    "feed_line",
    "status_line",
    "to_json",
]

COLOURS = {
    "CommentEvent": "\033[97m",
    "GiftEvent": "\033[95m",
    "GiftStreakEvent": "\033[1;95m",
    "LikeEvent": "\033[91m",
    "JoinEvent": "\033[90m",
    "FollowEvent": "\033[92m",
    "ShareEvent": "\033[92m",
    "LiveEndEvent": "\033[1;93m",
    "ConnectEvent": "\033[1;96m",
    "DisconnectEvent": "\033[1;93m",
    "ReconnectEvent": "\033[33m",
    "ErrorEvent": "\033[31m",
}
RESET = "\033[0m"


def event_line(event: BaseEvent) -> str:
    """One line per decoded event (``decode``, ``replay``): type, user, what happened."""
    user = getattr(event, "user", None)
    who = f"@{user.unique_id}" if user is not None and user.unique_id else ""
    detail = ""
    if hasattr(event, "content") and isinstance(event.content, str):
        detail = event.content
    elif hasattr(event, "gift") and event.gift is not None:
        detail = f"{event.gift.name} x{event.repeat_count}"
    elif hasattr(event, "total"):
        detail = f"total={event.total}"
    elif isinstance(event, DecodeErrorEvent):
        detail = f"{event.method}: {event.reason}"
    return f"{type(event).__name__:<28} {who:<24} {detail}".rstrip()


def describe(event: Any) -> str:
    """The human part of a feed line."""
    if isinstance(event, GiftStreakEvent):
        name = event.gift.name if event.gift is not None else event.gift_id
        end = " (timed out)" if event.timed_out else ""
        return f"{name} x{event.count} = {event.diamonds} diamonds{end}"
    if isinstance(event, ClientEvent):
        parts = [
            f"{k}={v}"
            for k, v in msgspec.structs.asdict(event).items()
            if k != "exception" and v not in (None, "", 0)
        ]
        return " ".join(parts)
    line = event_line(event)
    return line.split(None, 1)[1].strip() if " " in line else ""


def feed_line(room: Any, event: Any, colour: bool) -> str:
    """A line of ``watch``'s feed: time, room, event type, what happened (coloured by type)."""
    name = type(event).__name__
    text = f"{time.strftime('%H:%M:%S')} {room.name:<20} {name:<18} {describe(event)}"
    return f"{COLOURS.get(name, '')}{text}{RESET}" if colour else text


def to_json(room: Any, event: Any) -> dict[str, Any]:
    """``watch --jsonl``: the event's record of the schema (``fastlive.schema``, ``"v": 1``)."""
    return event_record(room.key, room.room_id or 0, event)


def enc_hook(obj: Any) -> Any:
    """msgspec's fallback for what JSON cannot hold: its repr."""
    return repr(obj)


class JsonlWriter:
    """``watch --jsonl``'s output: events encoded into one buffer, one ``write`` per batch.

    :meth:`add` encodes an event (msgspec, into the buffer); :meth:`flush` writes the
    buffer in one call.  The caller flushes when its input runs dry (the loop goes
    idle); a timer flushes ``interval`` s after the first unwritten line at the latest,
    and a buffer past ``limit`` bytes is written at once.  Call :meth:`close` at the end.
    """

    def __init__(self, out: BinaryIO, *, interval: float = 0.05, limit: int = 1 << 16) -> None:
        self._out = out
        self._interval = interval
        self._limit = limit
        self._buf = bytearray()
        self._encode_into = msgspec.json.Encoder(enc_hook=enc_hook).encode_into
        self._timer: asyncio.TimerHandle | None = None
        self.writes = 0
        """Writes made (one per batch)."""
        self.lines = 0
        """Lines written or buffered."""

    def add(self, room: Any, event: Any) -> None:
        """Buffer the event's JSON line."""
        buf = self._buf
        self._encode_into(to_json(room, event), buf, -1)
        buf.append(10)  # "\n"
        self.lines += 1
        if len(buf) >= self._limit:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self.flush)

    @property
    def pending(self) -> int:
        """Bytes buffered, not yet written."""
        return len(self._buf)

    def flush(self) -> None:
        """Write what is buffered, in one call."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._buf:
            return
        try:
            self._out.write(self._buf)  # written or copied when it returns
            self._out.flush()
        finally:
            self._buf.clear()
            self.writes += 1

    def close(self) -> None:
        """Write what is left; no timer is left behind."""
        self.flush()


def status_line(monitor: Any, rate: float, events: int) -> str:
    """The watch command's status line: rooms by state and by connection mode, rates."""
    states, modes = monitor.states(), monitor.modes()
    return (
        f"live {states[RoomState.LIVE]}/{len(monitor.rooms)} "
        f"(direct {modes['direct']}, signed {modes['signed']})  "
        f"waiting {states[RoomState.WAITING]}  {rate:,.1f} ev/s  "
        f"events {events:,}  dropped {monitor.stats.dropped}"
        f"{_web_part(getattr(monitor, 'web_budget', None))}"
    )


def _web_part(budget: Any) -> str:
    """``  web 42 req`` and, while TikTok's WAF blocks the egress, ``BLOCKED 4m59s``."""
    if budget is None:
        return ""
    stats = budget.stats
    part = f"  web {stats.total:,} req"
    if stats.blocks:
        part += f" ({stats.blocks} WAF blocks)"
    if stats.blocked_for > 0:
        minutes, seconds = divmod(int(stats.blocked_for + 0.999), 60)
        part += f"  {budget.name} BLOCKED {minutes}m{seconds:02d}s"
    return part
