"""``FakeRoom``: one scripted room of ``FakeTikTok`` (its traffic, faults and state), how a
room is found by handle, and the stream-end message that closes it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fastlive.testing.factory.room import control

if TYPE_CHECKING:
    from fastlive.testing.flv import GeneratedFLV

__all__ = [
    "CONTROL_STREAM_ENDED",
    "SIGN_FAULT_NAMES",
    "FakeRoom",
    "SignFault",
    "room_by_handle",
    "stream_end",
]

CONTROL_STREAM_ENDED = 3
SignFault = int | str
"""An HTTP status for ``/webcast/fetch`` to answer, or one of ``"empty"`` (200, no
body), ``"garbage"`` (200, not protobuf), ``"no_cookies"``, ``"no_push_server"``,
``"no_cursor"`` (200 without that part)."""
SIGN_FAULT_NAMES = frozenset({"empty", "garbage", "no_cookies", "no_push_server", "no_cursor"})


class FakeRoom:
    """One scripted room.  Attributes may be changed while the fake runs.

    See :meth:`FakeTikTok.add_room` for the meaning of every keyword.
    """

    def __init__(self, unique_id: str, room_id: int, **options: Any) -> None:
        self.unique_id = unique_id
        self.room_id = room_id
        self.nickname: str = options.pop("nickname", None) or unique_id.title()
        self.user_id: int = options.pop("user_id", None) or 6_000_000_000_000_000_000 + room_id
        self.live: bool = options.pop("live", True)
        self.title: str = options.pop("title", f"{self.nickname} is live")
        self.viewers: int = options.pop("viewers", 123)
        self.age_restricted: bool = options.pop("age_restricted", False)
        self.html_blocked: bool = options.pop("html_blocked", False)
        self.traffic: list[Any] = list(options.pop("frames", None) or [])
        self.initial: list[Any] = list(options.pop("initial", None) or [])
        self.interval: float = options.pop("interval", 0.0)
        self.server_hb_every: int = options.pop("server_hb_every", 5)
        self.drop_after: int | None = options.pop("drop_after", None)
        self.drop_times: int = options.pop("drop_times", 1)
        self.resend: int = options.pop("resend", 0)
        self.stall_after: int | None = options.pop("stall_after", None)
        self.stall_times: int = options.pop("stall_times", 1)
        self.sign_faults: list[SignFault] = [429] * options.pop("sign_rate_limit", 0)
        self.sign_faults += list(options.pop("sign_faults", ()))
        self.retry_after: float = options.pop("retry_after", 1.0)
        self.handshake_status: int | None = options.pop("handshake_status", None)
        self.handshake_msg: str = options.pop("handshake_msg", "device was blocked")
        self.handshake_times: int | None = options.pop("handshake_times", None)
        self.ends: bool = options.pop("ends", False)
        self.close_delay: float = options.pop("close_delay", 0.05)
        self.replay: bool = options.pop("replay", False)
        self.device_blocked: int | bool = options.pop("device_blocked", 0)
        self.device_blocked_status: int = options.pop("device_blocked_status", 200)
        self.history: int = options.pop("history", 0)
        self.empty_ext_every: int = options.pop("empty_ext_every", 0)
        self.video: GeneratedFLV | bool | None = options.pop("video", None)
        self.video_options: dict[str, Any] = options.pop("video_options", None) or {}
        if options:
            raise TypeError(f"add_room() got unknown keywords: {', '.join(sorted(options))}")
        for fault in self.sign_faults:
            if not isinstance(fault, int) and fault not in SIGN_FAULT_NAMES:
                raise ValueError(
                    f"unknown sign fault {fault!r}: use a status or {SIGN_FAULT_NAMES}"
                )
        self.position = 0
        """Traffic items sent so far; a new connection resumes from here."""
        self._resend_next = 0
        self._changed = asyncio.Event()
        self._ended = False
        self._recent: deque[tuple[str, bytes, int]] = deque(maxlen=max(self.history, 1))
        self._on_end: list[Callable[[], Any]] = []

    def __repr__(self) -> str:
        return f"FakeRoom({self.unique_id!r}, room_id={self.room_id}, live={self.live})"

    @property
    def status(self) -> int:
        """TikTok's room status: 2 live, 4 offline."""
        return 2 if self.live else 4

    def push(self, *items: Any) -> None:
        """Append traffic (batches or raw frames); open connections send it at once."""
        self.traffic.extend(items)
        self._wake()

    def end(self) -> None:
        """End the stream now: after pending traffic, a stream-end message, close 1000
        (and the video, if the room has one)."""
        self.ends = True
        self._wake()
        self._ended_video()

    def _ended_video(self) -> None:
        callbacks, self._on_end = self._on_end, []
        for callback in callbacks:
            callback()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


def room_by_handle(rooms: Mapping[int, FakeRoom], handle: str) -> FakeRoom | None:
    """The room of ``handle`` (``@`` and case ignored), or None."""
    handle = handle.lstrip("@").lower()
    for room in rooms.values():
        if room.unique_id.lower() == handle:
            return room
    return None


def stream_end(room: FakeRoom, msg_id: int) -> tuple[str, bytes, int]:
    """The stream-end message (``WebcastControlMessage`` action 3) of ``room``."""
    payload = control(
        CONTROL_STREAM_ENDED,
        msg_id=msg_id,
        room_id=room.room_id,
        create_time=int(time.time() * 1000),
    )
    return ("WebcastControlMessage", payload, msg_id)
