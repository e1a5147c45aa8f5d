"""The websocket upgrade as TikTok checks it: the push socket wants the signed token, user
agent and session of its ``/webcast/fetch``; the direct socket wants a minted, unflagged
``ttwid`` and answers DEVICE_BLOCKED otherwise."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from fastlive.testing.server.records import WsConnection
from fastlive.testing.server.responses import response
from fastlive.testing.server.room import FakeRoom

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Response

    from fastlive.testing.server.fake import FakeTikTok

__all__ = ["DEVICE_BLOCKED_STATUS", "DIRECT_PATH", "PUSH_PATH", "direct_refusal", "upgrade"]

PUSH_PATH = "/webcast/im/push/v2/"
DIRECT_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
"""The direct websocket's path (protocol.md §2.8.4)."""
DEVICE_BLOCKED_STATUS = 415


def upgrade(
    fake: FakeTikTok,
    connection: ServerConnection,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    cookies: dict[str, str],
) -> Response | None:
    """Check an upgrade as TikTok would: None accepts it (and records the connection), else
    the refusal."""

    def refuse(status: int, message: str) -> Response:
        return response(status, b"", "text/plain", {"Handshake-Msg": message})

    if path not in (PUSH_PATH, DIRECT_PATH):
        return refuse(404, "uri not found")
    try:
        room = fake.rooms[int(query.get("room_id", ""))]
    except (KeyError, ValueError):
        return refuse(400, "parameter error: unknown room_id")
    if room.handshake_status is not None and room.handshake_times != 0:
        if room.handshake_times is not None:
            room.handshake_times -= 1
        return refuse(room.handshake_status, room.handshake_msg)
    direct = path == DIRECT_PATH
    if direct:
        blocked = direct_refusal(fake, room, headers, cookies)
        if blocked is not None:
            return blocked
    elif fake.strict:
        issued = fake._issued.get(query.get("wrss", ""))
        if issued is None or issued.room_id != room.room_id:
            return refuse(400, "parameter error: missing or unknown wrss")
        if issued.user_agent and headers.get("user-agent") != issued.user_agent:
            return refuse(200, "user agent differs from the signed one")
        if issued.session_id and cookies.get("sessionid") != issued.session_id:
            return refuse(200, "illegal secret key")
    record = WsConnection(
        index=len(fake.ws_connections),
        room_id=room.room_id,
        query=query,
        headers=headers,
        cookies=cookies,
        direct=direct,
    )
    fake.ws_connections.append(record)
    fake._pending[connection] = (room, record)
    if direct:
        fake._joined[record.index] = asyncio.Event()
    return None


def direct_refusal(
    fake: FakeTikTok, room: FakeRoom, headers: dict[str, str], cookies: dict[str, str]
) -> Response | None:
    """DEVICE_BLOCKED for a direct upgrade that TikTok would refuse (§2.8.5)."""
    ttwid = cookies.get("ttwid", "")
    flag = bool(room.device_blocked)
    if flag and room.device_blocked is not True:
        room.device_blocked = int(room.device_blocked) - 1
    if not flag:
        flag = not ttwid or not headers.get("user-agent") or ttwid in fake.flagged
        flag = flag or (fake.strict and ttwid not in fake.minted)
    if not flag:
        return None
    if ttwid:
        fake.flagged.add(ttwid)
    if room.device_blocked_status == DEVICE_BLOCKED_STATUS:
        return response(DEVICE_BLOCKED_STATUS, b"", "text/plain")
    return response(
        room.device_blocked_status,
        b"",
        "text/plain",
        {
            "Handshake-Msg": "DEVICE_BLOCKED",
            "Handshake-Status": str(DEVICE_BLOCKED_STATUS),
            "x-tt-logid": secrets.token_hex(16).upper(),
        },
    )
