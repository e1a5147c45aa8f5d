"""The real TikTokLive 7.0.1 client against ``FakeTikTok``: an independent client
receives the scripted comments, gifts and likes, so the fake speaks TikTok's protocol
and not just fastlive's idea of it.

TikTokLive reads its base URLs from the module-level ``WebDefaults`` and the sign
server from ``SIGN_API_URL``; both are patched for one test at a time.
"""

from __future__ import annotations

import asyncio

import pytest

from fastlive.testing import FakeTikTok, chat, gift, like, make_user

tiktoklive = pytest.importorskip("TikTokLive", reason="TikTokLive (a test dependency) is absent")
from TikTokLive.client.client import TikTokLiveClient
from TikTokLive.client.web.web_settings import WebDefaults
from TikTokLive.events import (
    CommentEvent,
    ConnectEvent,
    DisconnectEvent,
    GiftEvent,
    LikeEvent,
    LiveEndEvent,
)

ROOM = 7_400_000_000_000_000_321
# No fan-club status: TikTokLive 7.0.1 (betterproto2) fails on every message whose user
# carries ``fans_club.data.user_fans_club_status`` (a forward-reference bug in the peer).
ALICE = make_user(7_300_000_000_000_000_001, "Alice A", "alice.a", fan_club_name="")
BOB = make_user(7_300_000_000_000_000_002, "Bob B", "bob.b", fan_club_name="")


def m(method: str, payload: bytes, msg_id: int) -> tuple[str, bytes, int]:
    return (method, payload, msg_id)


TRAFFIC = [
    [m("WebcastChatMessage", chat("first!", ALICE, msg_id=101, room_id=ROOM), 101)],
    [
        m(
            "WebcastGiftMessage",
            gift(5655, "Rose", 1, 1, BOB, repeat_count=3, repeat_end=1, msg_id=102, room_id=ROOM),
            102,
        ),
        m("WebcastLikeMessage", like(15, 1500, ALICE, msg_id=103, room_id=ROOM), 103),
    ],
    [m("WebcastChatMessage", chat("nice stream", BOB, msg_id=104, room_id=ROOM), 104)],
]
INITIAL = [m("WebcastChatMessage", chat("from the backlog", ALICE, msg_id=100, room_id=ROOM), 100)]


@pytest.fixture
async def fake(monkeypatch):
    async with FakeTikTok() as server:
        monkeypatch.setattr(WebDefaults, "tiktok_app_url", server.web_url)
        monkeypatch.setattr(WebDefaults, "tiktok_webcast_url", server.webcast_url + "/webcast")
        monkeypatch.setattr(WebDefaults, "tiktok_sign_url", server.sign_api_url)
        monkeypatch.setenv("SIGN_API_URL", server.sign_api_url)
        monkeypatch.delenv("SIGN_API_KEY", raising=False)
        yield server


async def run_until_end(client: TikTokLiveClient, **start) -> dict[str, list]:
    """Start ``client``, collect its events (and room/gift info) until it disconnects."""
    seen: dict[str, list] = {"connect": [], "comment": [], "gift": [], "like": [], "end": []}
    done = asyncio.Event()
    client.add_listener(ConnectEvent, lambda e: seen["connect"].append(e))
    client.add_listener(CommentEvent, lambda e: seen["comment"].append(e))
    client.add_listener(GiftEvent, lambda e: seen["gift"].append(e))
    client.add_listener(LikeEvent, lambda e: seen["like"].append(e))
    client.add_listener(LiveEndEvent, lambda e: seen["end"].append(e))
    client.add_listener(DisconnectEvent, lambda e: done.set())
    task = await client.start(**start)
    try:
        async with asyncio.timeout(10):
            await done.wait()
            await task
        seen["info"] = [client.room_id, client.room_info, client.gift_info]
    finally:
        await client.disconnect()  # close_client=True would re-enter the running loop
        await client.web.close()
    return seen


async def test_tiktoklive_receives_the_scripted_events(fake):
    fake.add_room("alice.live", room_id=ROOM, frames=TRAFFIC, initial=INITIAL, ends=True)
    client = TikTokLiveClient(unique_id="@alice.live")
    seen = await run_until_end(client, fetch_room_info=True, fetch_gift_info=True)

    room_id, room_info, gift_info = seen["info"]
    assert room_id == ROOM
    assert len(seen["connect"]) == 1
    assert [e.comment for e in seen["comment"]] == ["from the backlog", "first!", "nice stream"]
    assert [e.user.nickname for e in seen["comment"]] == ["Alice A", "Alice A", "Bob B"]
    (rose,) = seen["gift"]
    assert (rose.gift.id, rose.repeat_count, rose.user.unique_id) == (5655, 3, "bob.b")
    (likes,) = seen["like"]
    assert (likes.count, likes.total) == (15, 1500)
    assert len(seen["end"]) == 1
    assert room_info["owner"]["display_id"] == "alice.live"
    assert gift_info["gifts"][0]["name"] == "Rose"


async def test_tiktoklive_speaks_the_protocol_to_the_fake(fake):
    fake.add_room("alice.live", room_id=ROOM, frames=TRAFFIC, ends=True, interval=0.02)
    await run_until_end(TikTokLiveClient(unique_id="alice.live"))

    paths = [r.path for r in fake.requests]
    assert paths[:3] == ["/@alice.live/live", "/webcast/room/check_alive/", "/webcast/fetch"]
    fetch = fake.requests_to("/webcast/fetch")[0]
    assert fetch.query["room_id"] == str(ROOM) and fetch.query["client"] == "ttlive-python"
    (conn,) = fake.ws_connections
    assert conn.query["compress"] == "gzip" and "ttwid" in conn.cookies
    assert conn.headers["user-agent"] == fetch.query["user_agent"]
    enter, hb = fake.received("im_enter_room"), fake.heartbeats(ROOM)
    assert [f.room_id for f in enter] == [ROOM]
    assert hb and hb[0].seq == 1
    acks = {(a.log_id, a.internal_ext) for a in fake.acks(ROOM)}
    sent = set(conn.sent_log_ids.items())
    assert len(acks & sent) >= len(TRAFFIC)  # every traffic frame acked with its internal_ext


async def test_tiktoklive_falls_back_to_the_api_when_the_page_is_blocked(fake):
    fake.add_room("alice.live", room_id=ROOM, frames=TRAFFIC[:1], ends=True, html_blocked=True)
    seen = await run_until_end(TikTokLiveClient(unique_id="alice.live"))
    assert [e.comment for e in seen["comment"]] == ["first!"]
    assert "/api-live/user/room/" in [r.path for r in fake.requests]
