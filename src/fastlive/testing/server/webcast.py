"""The webcast JSON API as the fake serves it: ``/webcast/room/check_alive/``,
``/webcast/room/info/`` (with the room's video URLs) and ``/webcast/gift/list/``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastlive.testing.flv import room_stream_url
from fastlive.testing.server.responses import json_response
from fastlive.testing.server.room import FakeRoom

if TYPE_CHECKING:
    from websockets.http11 import Response

    from fastlive.testing.server.fake import FakeTikTok

__all__ = [
    "DEFAULT_GIFTS",
    "VIDEO_QUALITIES",
    "check_alive",
    "gift_list",
    "room_info",
    "video_urls",
]

VIDEO_QUALITIES = ("origin", "hd", "sd", "ld")
DEFAULT_GIFTS = (
    {"id": 5655, "name": "Rose", "diamond_count": 1, "type": 1},
    {"id": 5827, "name": "Ice Cream Cone", "diamond_count": 1, "type": 1},
    {"id": 6064, "name": "GG", "diamond_count": 1, "type": 1},
    {"id": 5487, "name": "Finger Heart", "diamond_count": 5, "type": 1},
    {"id": 6267, "name": "Corgi", "diamond_count": 299, "type": 2},
)


def check_alive(fake: FakeTikTok, query: dict[str, str]) -> Response:
    """``/webcast/room/check_alive/``: whether each known room of ``room_ids`` is live."""
    data = []
    for text in query["room_ids"].split(","):
        room = fake.rooms.get(int(text))
        if room is not None:
            data.append(
                {"alive": room.live, "room_id": room.room_id, "room_id_str": str(room.room_id)}
            )
    return json_response(
        200, {"data": data, "extra": {"now": int(time.time() * 1000)}, "status_code": 0}
    )


def video_urls(fake: FakeTikTok, room: FakeRoom) -> dict[str, Any] | None:
    """The room's ``stream_url`` while it is live with video, else None."""
    name = str(room.room_id)
    if not room.video or not room.live or name not in fake.flv.streams:
        return None
    return room_stream_url({q: fake.flv.url(name, q) for q in VIDEO_QUALITIES})


def room_info(fake: FakeTikTok, query: dict[str, str]) -> Response:
    """``/webcast/room/info/``: the room, its owner and video, or why it cannot be seen."""
    room = fake.rooms.get(int(query["room_id"]))
    if room is None:
        return json_response(
            200, {"data": {"message": "room does not exist"}, "status_code": 30003}
        )
    if room.age_restricted:
        return json_response(
            200,
            {
                "data": {
                    "prompts": "This LIVE is age-restricted",
                    "age_restricted": {"restricted": True, "source": 1},
                },
                "status_code": 4003110,
            },
        )
    return json_response(
        200,
        {
            "data": {
                "id": room.room_id,
                "id_str": str(room.room_id),
                "status": room.status,
                "title": room.title,
                "user_count": room.viewers,
                "stats": {
                    "like_count": 0,
                    "total_user": room.viewers * 3,
                    "enter_count": room.viewers * 3,
                },
                "owner": {
                    "id": room.user_id,
                    "id_str": str(room.user_id),
                    "display_id": room.unique_id,
                    "nickname": room.nickname,
                    "bio_description": "",
                    "follow_info": {"follower_count": 1000, "following_count": 10},
                    "avatar_large": {"url_list": [f"{fake.web_url}/avatar/{room.user_id}.jpeg"]},
                },
                "age_restricted": {"restricted": False, "source": 0},
                **(
                    {"stream_url": stream_url}
                    if (stream_url := video_urls(fake, room)) is not None
                    else {}
                ),
            },
            "extra": {"now": int(time.time() * 1000)},
            "status_code": 0,
        },
    )


def gift_list(fake: FakeTikTok) -> Response:
    """The gift catalogue (``FakeTikTok(gifts=...)``)."""
    return json_response(200, {"data": {"gifts": fake.gifts}, "status_code": 0})
