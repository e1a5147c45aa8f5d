"""The sign server as the fake serves it: ``/webcast/fetch`` answers the first batch, a
``push_server`` pointing back at the fake and a signed token (``wrss``) the websocket upgrade
checks later; its faults (rate limits, errors, broken bodies) come from the room's script."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from fastlive.testing.factory.wire import fetch_result, message_parts
from fastlive.testing.server.responses import json_response, parse_cookie_header, response
from fastlive.testing.server.room import FakeRoom, SignFault, room_by_handle, stream_end

if TYPE_CHECKING:
    from websockets.http11 import Response

    from fastlive.testing.server.fake import FakeTikTok

__all__ = ["Issued", "SignPlan", "sign_fetch", "sign_headers"]


@dataclasses.dataclass(kw_only=True)
class SignPlan:
    """A sign server's plan: ``limit`` fetches per ``window`` seconds, advertised on every
    answer (``RateLimit-*``, or ``X-RateLimit-*`` with ``x_headers``), 429 past it.

    Attributes:
        served: fetches let through; refused: fetches answered 429.
    """

    limit: int = 10
    window: float = 60.0
    x_headers: bool = False
    clock: Callable[[], float] = time.monotonic
    served: int = 0
    refused: int = 0
    _start: float | None = None
    _used: int = 0

    def take(self) -> tuple[bool, dict[str, str]]:
        """(allowed, the rate-limit headers of this answer)."""
        now = self.clock()
        if self._start is None or now >= self._start + self.window:
            self._start, self._used = now, 0
        allowed = self._used < self.limit
        if allowed:
            self._used += 1
            self.served += 1
        else:
            self.refused += 1
        reset = max(0.0, self._start + self.window - now)
        prefix = "X-RateLimit-" if self.x_headers else "RateLimit-"
        headers = {
            f"{prefix}Limit": str(self.limit),
            f"{prefix}Remaining": str(self.limit - self._used),
            f"{prefix}Reset": f"{reset:.3f}",
        }
        if not allowed:
            headers["Retry-After"] = f"{reset:.3f}"
        return allowed, headers


class Issued(msgspec.Struct):
    """What a signed token (``wrss``) was issued for: the upgrade must match it."""

    room_id: int
    user_agent: str
    session_id: str | None


def sign_fetch(fake: FakeTikTok, query: dict[str, str], headers: dict[str, str]) -> Response:
    """``/webcast/fetch``, within the fake's ``sign_plan`` when it has one."""
    plan = fake.sign_plan
    if plan is None:
        return _fetch(fake, query, headers)
    allowed, limits = plan.take()
    if not allowed:
        return json_response(429, {"message": "Too many requests", "limit_label": "plan"}, limits)
    answer = _fetch(fake, query, headers)
    for name, value in limits.items():
        answer.headers[name] = value
    return answer


def _fetch(fake: FakeTikTok, query: dict[str, str], headers: dict[str, str]) -> Response:
    """The first batch and a token for the upgrade, or the room's next fault."""
    if fake.require_api_key and headers.get("x-api-key") != fake.require_api_key:
        return json_response(401, {"code": 401, "message": "A valid API key is required"})
    room = None
    if query.get("room_id"):
        room = fake.rooms.get(int(query["room_id"]))
    elif query.get("unique_id"):
        room = room_by_handle(fake.rooms, query["unique_id"])
    if room is None:
        return json_response(404, {"code": 404, "message": "Room not found"})
    fault: SignFault | None = room.sign_faults.pop(0) if room.sign_faults else None
    if fault == 429:
        reset = max(1, round(room.retry_after))
        return json_response(
            429,
            {"message": "Too many requests", "limit_label": "minute"},
            {
                "Retry-After": f"{room.retry_after:g}",
                "RateLimit-Limit": "10",
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset),
                "X-RateLimit-Reset": str(int(time.time()) + reset),
            },
        )
    if isinstance(fault, int):
        return json_response(fault, {"code": fault, "message": f"fault injected: HTTP {fault}"})
    if fault == "empty":
        return response(200, b"", "application/x-protobuf", sign_headers(room, ""))
    if fault == "garbage":
        return response(
            200,
            b"\xff\xff\xff\xff",
            "application/x-protobuf",
            sign_headers(room, "ttwid=x"),
        )

    token = secrets.token_urlsafe(16)
    user_agent = query.get("user_agent", "")
    session = query.get("session_id") or parse_cookie_header(
        headers.get("x-cookie-header", "")
    ).get("sessionid")
    fake._issued[token] = Issued(room.room_id, user_agent, session or None)
    now_ms = int(time.time() * 1000)
    cursor = f"{now_ms}_{room.room_id}_0_1_0_0"
    internal_ext = f"fetch_time:{now_ms}|start_time:0|wrss:{token}"
    messages = [message_parts(item) for item in room.initial]
    if not room.live:  # what a sign server may say for an ended room
        messages = [stream_end(room, next(fake._log_ids))]
    body = fetch_result(
        messages,
        cursor="" if fault == "no_cursor" else cursor,
        internal_ext=internal_ext,
        need_ack=False,
        is_first=True,
        push_server="" if fault == "no_push_server" else fake.push_url,
        route_params={
            "wrss": token,
            "cursor": cursor,
            "internal_ext": internal_ext,
            "user_agent": user_agent,
            "host": "",
        },
        now=now_ms,
    )
    ttwid = (
        ""
        if fault == "no_cookies"
        else f"ttwid={secrets.token_urlsafe(24)}; tt_chain_token={secrets.token_urlsafe(12)}"
    )
    return response(
        200,
        body,
        "application/x-protobuf",
        sign_headers(room, ttwid),
    )


def sign_headers(room: FakeRoom, cookies: str) -> dict[str, str]:
    """The headers a sign server answers with; ``cookies`` go in ``X-Set-TT-Cookie``."""
    headers = {
        "X-Request-Id": secrets.token_hex(8),
        "X-Agent-Id": "fake-agent",
        "X-Log-Code": "0",
        "X-Room-Id": str(room.room_id),
    }
    if cookies:
        headers["X-Set-TT-Cookie"] = cookies
    return headers
