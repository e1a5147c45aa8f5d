"""TikTok's web side as the fake serves it: the live page (``SIGI_STATE``), profile pages that
mint a ``ttwid`` or serve the challenge page, and ``/api-live/user/room/``."""

from __future__ import annotations

import base64
import html
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from fastlive.testing.server.responses import json_response, response
from fastlive.testing.server.room import FakeRoom, room_by_handle

if TYPE_CHECKING:
    from websockets.http11 import Response

    from fastlive.testing.server.fake import FakeTikTok

__all__ = [
    "CHALLENGE_ERROR",
    "live_page",
    "live_room_json",
    "profile_page",
    "user_json",
    "user_room",
]

CHALLENGE_ERROR = "3"
"""``X-TT-System-Error`` of the challenge page served instead of a ``ttwid``."""


def user_json(fake: FakeTikTok, room: FakeRoom) -> dict[str, Any]:
    """The ``user`` object of the web API and the live page."""
    return {
        "id": str(room.user_id),
        "uniqueId": room.unique_id,
        "nickname": room.nickname,
        "signature": "",
        "avatarLarger": f"{fake.web_url}/avatar/{room.user_id}.jpeg",
        "roomId": str(room.room_id),
        "status": room.status,
        "secUid": f"MS4wLjABAAAA{room.user_id}",
    }


def live_room_json(room: FakeRoom) -> dict[str, Any]:
    """The ``liveRoom`` object of the web API and the live page."""
    return {
        "status": room.status,
        "title": room.title,
        "startTime": int(time.time()) - 600,
        "liveRoomStats": {"userCount": room.viewers, "enterCount": room.viewers * 3},
    }


def live_page(fake: FakeTikTok, handle: str) -> Response:
    """``/@{handle}/live``: HTML with ``SIGI_STATE`` (or a captcha page, ``html_blocked``)."""
    room = room_by_handle(fake.rooms, handle)
    if room is not None and room.html_blocked:
        page = "<html><body><div id='captcha-verify'>Verify to continue</div></body></html>"
        return response(200, page.encode(), "text/html; charset=utf-8")
    state: dict[str, Any] = {"AppContext": {"appContext": {"language": "en"}}}
    if room is not None:
        state["LiveRoom"] = {
            "liveRoomUserInfo": {
                "user": user_json(fake, room),
                "liveRoom": live_room_json(room),
            }
        }
    sigi = json.dumps(state).replace("</", "<\\/")
    page = (
        "<!DOCTYPE html><html><head><title>TikTok LIVE</title></head><body>"
        f'<script id="SIGI_STATE" type="application/json">{sigi}</script>'
        f"<div>{html.escape(handle)}</div></body></html>"
    )
    return response(200, page.encode(), "text/html; charset=utf-8")


def profile_page(fake: FakeTikTok, handle: str, headers: dict[str, str]) -> Response:
    """A profile page: sets ``ttwid`` (``ttwid_rate``), else the challenge page."""
    page = f"<!DOCTYPE html><html><body><div>{html.escape(handle)}</div></body></html>"
    if fake.ttwid_misses > 0 or fake._rng.random() >= fake.ttwid_rate:
        fake.ttwid_misses = max(0, fake.ttwid_misses - 1)
        return response(
            200,
            page.encode(),
            "text/html; charset=utf-8",
            {"X-TT-System-Error": CHALLENGE_ERROR},
        )
    raw = base64.b64encode(secrets.token_bytes(24)).decode()
    ttwid = (
        f"1%7C{raw.replace('+', '%2B').replace('/', '%2F').replace('=', '%3D')}"
        f"%7C{int(time.time())}%7C{secrets.token_hex(32)}"
    )
    fake.minted[ttwid] = headers.get("user-agent", "")
    cookie = f"ttwid={ttwid}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=None"
    return response(200, page.encode(), "text/html; charset=utf-8", {"Set-Cookie": cookie})


def user_room(fake: FakeTikTok, query: dict[str, str]) -> Response:
    """``/api-live/user/room/``: the user and their room, or ``user_not_found``."""
    room = room_by_handle(fake.rooms, query.get("uniqueId", ""))
    extra = {"now": int(time.time() * 1000)}
    if room is None:
        return json_response(
            200,
            {
                "data": {},
                "extra": extra,
                "message": "user_not_found",
                "statusCode": 19881007,
            },
        )
    return json_response(
        200,
        {
            "data": {
                "user": user_json(fake, room),
                "liveRoom": live_room_json(room),
                "stats": {"followerCount": 1000, "followingCount": 10},
            },
            "extra": extra,
            "message": "",
            "statusCode": 0,
        },
    )
