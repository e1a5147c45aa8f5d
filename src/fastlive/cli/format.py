"""How the commands print events: the colour feed, JSON lines, the status line."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from fastlive.events import BaseEvent, ClientEvent, DecodeErrorEvent, GiftStreakEvent
from fastlive.stats import RoomState

__all__ = [
    "COLOURS",
    "RESET",
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
    """``watch --jsonl``: type, room, room_id and msg_id first, then the event's fields."""
    data = event.to_dict()
    data.pop("exception", None)
    out = {
        "type": data.pop("type"),
        "room": room.key,
        "room_id": getattr(event, "room_id", 0) or room.room_id,
        "msg_id": data.pop("msg_id", None),
    }
    data.pop("room_id", None)
    out.update(data)
    return out


def enc_hook(obj: Any) -> Any:
    """msgspec's fallback for what JSON cannot hold: its repr."""
    return repr(obj)


def status_line(monitor: Any, rate: float, events: int) -> str:
    """The watch command's status line: rooms by state and by connection mode, rates."""
    states, modes = monitor.states(), monitor.modes()
    return (
        f"live {states[RoomState.LIVE]}/{len(monitor.rooms)} "
        f"(direct {modes['direct']}, signed {modes['signed']})  "
        f"waiting {states[RoomState.WAITING]}  {rate:,.1f} ev/s  "
        f"events {events:,}  dropped {monitor.stats.dropped}"
    )
