"""``fastlive.testing.FakeTikTok`` on its own: routes, frames, recordings and faults.

Frames are read back with fastlive's compiled decoder; the websocket side is
driven with the plain ``websockets`` client, so the fake is tested as a server
that any client could use.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus

import fastlive
from fastlive.proto import webcast_pb2 as pb
from fastlive.testing import (
    FakeTikTok,
    chat,
    fetch_result,
    gift,
    like,
    push_frame,
    random_traffic,
)
from fastlive.web import TikTokWeb
from fastlive.web.signer import SignClient, SignedFetch

ROOM = 7_400_000_000_000_000_777


def msg(n: int, text: str | None = None) -> tuple[str, bytes, int]:
    """A chat message with msg_id ``n``."""
    return ("WebcastChatMessage", chat(text or f"message {n}", msg_id=n, room_id=ROOM), n)


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


@pytest.fixture
async def web(fake):
    async with TikTokWeb(fake.settings()) as client:
        yield client


async def sign(fake: FakeTikTok, web: TikTokWeb, room_id: int = ROOM, **kw) -> SignedFetch:
    return await SignClient(fake.settings(), web.http).fetch(
        room_id, user_agent=web.user_agent, **kw
    )


def ws_headers(web: TikTokWeb, signed: SignedFetch) -> dict[str, str]:
    jar = {**web.cookies, **signed.cookies}
    return {
        "User-Agent": signed.user_agent,
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
    }


async def open_ws(fake, web, room_id=ROOM, *, ws_url=None, headers=None, **kw):
    signed = await sign(fake, web, room_id, **kw)
    return connect(
        ws_url or signed.ws_url,
        additional_headers=headers or ws_headers(web, signed),
        ping_interval=None,
        open_timeout=5,
    )


async def read_all(ws, *, ack: bool = True, limit: float = 5.0) -> list[fastlive.Batch]:
    """Every frame until the server closes, acking ``msg`` frames as a client must."""
    batches = []
    try:
        async with asyncio.timeout(limit):
            async for data in ws:
                batch = fastlive.decode(data)
                batches.append(batch)
                if ack and batch.need_ack:
                    try:
                        await ws.send(fastlive.build_ack(batch.log_id, batch.internal_ext))
                    except (ConnectionClosedOK, ConnectionClosedError):
                        pass  # closing: frames already received are still to be read
    except (ConnectionClosedOK, ConnectionClosedError):
        pass
    return batches


def msg_ids(batches) -> list[int]:
    return [e.msg_id for b in batches if b.payload_type == "msg" for e in b.events]


# -- addresses and HTTP ------------------------------------------------------------


async def test_settings_point_every_url_at_the_fake(fake):
    settings = fake.settings(http_timeout=2.0)
    base = f"http://127.0.0.1:{fake.port}"
    assert settings.web_url == settings.webcast_url == settings.sign_api_url == base
    assert fake.web_url == fake.webcast_url == fake.sign_api_url == base
    assert fake.push_url == f"ws://127.0.0.1:{fake.port}/webcast/im/push/v2/"
    assert settings.http_timeout == 2.0


async def test_live_page_carries_sigi_state(fake):
    fake.add_room("alice", room_id=ROOM)
    async with httpx.AsyncClient() as http:
        page = (await http.get(f"{fake.web_url}/@alice/live")).text
        blocked = fake.add_room("bob", room_id=2, html_blocked=True)
        captcha = (await http.get(f"{fake.web_url}/@bob/live")).text
        unknown = (await http.get(f"{fake.web_url}/@nobody/live")).text
    assert '<script id="SIGI_STATE" type="application/json">' in page
    assert f'"roomId": "{ROOM}"' in page and '"status": 2' in page
    assert blocked.html_blocked and "SIGI_STATE" not in captcha
    assert "SIGI_STATE" in unknown and "LiveRoom" not in unknown


async def test_json_routes(fake):
    fake.add_room("alice", room_id=ROOM)
    fake.add_room("bob", room_id=2, live=False, age_restricted=True)
    async with httpx.AsyncClient(base_url=fake.web_url) as http:
        user = (await http.get("/api-live/user/room/", params={"uniqueId": "alice"})).json()
        missing = (await http.get("/api-live/user/room/", params={"uniqueId": "x"})).json()
        alive = await http.get("/webcast/room/check_alive/", params={"room_ids": f"{ROOM},2,3"})
        info = (await http.get("/webcast/room/info/", params={"room_id": ROOM})).json()
        restricted = (await http.get("/webcast/room/info/", params={"room_id": 2})).json()
        gifts = (await http.get("/webcast/gift/list/")).json()
        nothing = await http.get("/nowhere")
    assert user["data"]["user"]["roomId"] == str(ROOM) and user["data"]["liveRoom"]["status"] == 2
    assert missing["message"] == "user_not_found"
    assert [(e["room_id"], e["alive"]) for e in alive.json()["data"]] == [(ROOM, True), (2, False)]
    assert alive.headers["connection"] == "close"
    assert info["data"]["owner"]["display_id"] == "alice" and info["status_code"] == 0
    assert restricted["status_code"] == 4003110 and "prompts" in restricted["data"]
    assert gifts["data"]["gifts"][0]["name"] == "Rose"
    assert nothing.status_code == 404


async def test_requests_are_recorded_with_query_headers_and_cookies(fake):
    fake.add_room("alice", room_id=ROOM)
    async with httpx.AsyncClient() as http:
        await http.get(
            f"{fake.web_url}/webcast/room/info/?room_id={ROOM}&aid=1988",
            headers={"User-Agent": "UA/1", "Cookie": "a=1; b=2;"},
        )
    (req,) = fake.requests_to("/webcast/room/info/")
    assert req.method == "GET" and not req.websocket
    assert req.query == {"room_id": str(ROOM), "aid": "1988"}
    assert req.headers["user-agent"] == "UA/1"
    assert req.cookies == {"a": "1", "b": "2"}


async def test_fail_next_answers_the_next_requests_then_stops(fake):
    fake.fail_next("/webcast/gift/list/", 429, times=2, headers={"Retry-After": "3"})
    async with httpx.AsyncClient(base_url=fake.web_url) as http:
        codes = [(await http.get("/webcast/gift/list/")).status_code for _ in range(3)]
        first = fake.requests_to("/webcast/gift/list/")
    assert codes == [429, 429, 200] and len(first) == 3


async def test_unknown_room_options_are_refused(fake):
    with pytest.raises(TypeError, match="drop_afterr"):
        fake.add_room("alice", room_id=ROOM, drop_afterr=1)
    with pytest.raises(ValueError, match="sign fault"):
        fake.add_room("alice", room_id=ROOM, sign_faults=["bogus"])


# -- sign server -------------------------------------------------------------------


async def test_sign_fetch_is_a_raw_fetch_result_pointing_at_the_fake(fake):
    fake.add_room("alice", room_id=ROOM, initial=[msg(1), msg(2)])
    async with httpx.AsyncClient() as http:
        response = await http.get(
            f"{fake.sign_api_url}/webcast/fetch",
            params={"room_id": ROOM, "user_agent": "UA/1", "client": "test"},
        )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert "ttwid=" in response.headers["x-set-tt-cookie"]
    batch = fastlive.decode_fetch_result(response.content)
    assert batch.is_first and batch.cursor and batch.internal_ext
    assert batch.push_server == fake.push_url
    assert batch.route_params["wrss"] and batch.route_params["user_agent"] == "UA/1"
    assert [e.msg_id for e in batch.events] == [1, 2]
    assert not batch.need_ack  # the initial batch is never acked


async def test_sign_fetch_for_an_offline_room_carries_a_stream_end(fake):
    fake.add_room("alice", room_id=ROOM, live=False)
    async with httpx.AsyncClient() as http:
        body = (await http.get(f"{fake.sign_api_url}/webcast/fetch?room_id={ROOM}")).content
        unknown = await http.get(f"{fake.sign_api_url}/webcast/fetch?room_id=5")
    (event,) = fastlive.decode_fetch_result(body).events
    assert isinstance(event, fastlive.LiveEndEvent)
    assert unknown.status_code == 404


async def test_sign_faults_are_consumed_in_order(fake):
    fake.add_room("alice", room_id=ROOM, sign_rate_limit=1, sign_faults=[500, "empty"])
    url = f"{fake.sign_api_url}/webcast/fetch?room_id={ROOM}"
    async with httpx.AsyncClient() as http:
        answers = [await http.get(url) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 500, 200, 200]
    limited = answers[0]
    assert limited.headers["retry-after"] == "1" and limited.headers["ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) >= int(time.time())
    assert limited.json()["limit_label"] == "minute"
    assert answers[2].content == b"" and answers[3].content


async def test_sign_server_can_require_an_api_key():
    async with FakeTikTok(require_api_key="k-123") as fake:
        fake.add_room("alice", room_id=ROOM)
        url = f"{fake.sign_api_url}/webcast/fetch?room_id={ROOM}"
        async with httpx.AsyncClient() as http:
            refused = await http.get(url)
            allowed = await http.get(url, headers={"X-Api-Key": "k-123"})
    assert (refused.status_code, allowed.status_code) == (401, 200)


# -- websocket -----------------------------------------------------------------------


async def test_frames_are_gzip_msg_frames_that_need_acks(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)], [msg(2), msg(3)]], server_hb_every=0)
    async with await open_ws(fake, web) as ws:
        raw = await ws.recv()
        frame = pb.WebcastPushFrame.FromString(raw)
        assert frame.payload_type == "msg" and frame.payload_encoding == "pb"
        assert [(h.key, h.value) for h in frame.headers] == [("compress_type", "gzip")]
        inner = pb.ProtoMessageFetchResult.FromString(gzip.decompress(frame.payload))
        assert inner.need_ack and inner.internal_ext and inner.cursor
        assert [m.msg_id for m in inner.messages] == [1]
        batch = fastlive.decode(await ws.recv())
        assert [e.msg_id for e in batch.events] == [2, 3] and batch.log_id != frame.log_id
    assert fake.ws_connections[0].frames_sent == 2


async def test_without_compress_frames_are_raw(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)]])
    signed = await sign(fake, web, compress=False)
    assert "&compress=&" in signed.ws_url
    async with connect(signed.ws_url, additional_headers=ws_headers(web, signed)) as ws:
        frame = pb.WebcastPushFrame.FromString(await ws.recv())
    assert [(h.key, h.value) for h in frame.headers] == [("compress_type", "none")]
    assert pb.ProtoMessageFetchResult.FromString(frame.payload).messages[0].msg_id == 1


async def test_client_frames_are_recorded_and_answered(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)]], server_hb_every=0)
    async with await open_ws(fake, web) as ws:
        batch = fastlive.decode(await ws.recv())
        await ws.send(fastlive.build_enter_room(ROOM))
        assert fastlive.decode(await ws.recv()).payload_type == "im_enter_room_resp"
        await ws.send(fastlive.build_heartbeat(ROOM, 1))
        assert fastlive.decode(await ws.recv()).payload_type == "hb"
        await ws.send(fastlive.build_ack(batch.log_id, batch.internal_ext))
        await fake.wait_for(lambda: fake.acks())
    enter, hb, ack = fake.ws_received
    assert (enter.kind, enter.room_id) == ("im_enter_room", ROOM)
    assert (hb.kind, hb.room_id, hb.seq) == ("hb", ROOM, 1)
    assert (ack.kind, ack.log_id, ack.internal_ext) == ("ack", batch.log_id, batch.internal_ext)
    assert fake.ws_connections[0].sent_log_ids == {batch.log_id: batch.internal_ext}
    assert fake.heartbeats(ROOM) == [hb] and fake.received("im_enter_room") == [enter]


async def test_server_heartbeats_are_interleaved(fake, web):
    fake.add_room(
        "alice", room_id=ROOM, frames=[[msg(i)] for i in range(1, 5)], ends=True, server_hb_every=2
    )
    async with await open_ws(fake, web) as ws:
        kinds = [b.payload_type for b in await read_all(ws)]
    assert kinds == ["msg", "msg", "hb", "msg", "msg", "hb", "msg"]


async def test_connection_record_holds_the_upgrade(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)]])
    async with await open_ws(fake, web) as ws:
        await ws.recv()
    (conn,) = fake.ws_connections
    assert conn.room_id == ROOM and conn.query["room_id"] == str(ROOM)
    assert conn.headers["user-agent"] == web.user_agent
    assert "ttwid" in conn.cookies and conn.cookies["tt-target-idc"] == "useast1a"
    assert fake.requests_to("/webcast/im/push/v2/")[0].websocket


async def test_room_end_sends_control_then_close_1000(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)]], ends=True)
    async with await open_ws(fake, web) as ws:
        batches = await read_all(ws)
        assert ws.close_code == 1000
    assert isinstance(batches[-1].events[0], fastlive.LiveEndEvent)
    assert batches[-1].events[0].action == 3
    assert not fake.room(ROOM).live
    assert await web.fetch_is_live_many([ROOM]) == [False]


async def test_recorded_frames_are_sent_verbatim(fake, web):
    inner = fetch_result([msg(9)], need_ack=True)
    frames = [push_frame(inner, log_id=42), push_frame(b"", log_id=0, payload_type="hb")]
    fake.add_room("alice", room_id=ROOM, frames=frames, server_hb_every=0)
    async with await open_ws(fake, web) as ws:
        assert [await ws.recv(), await ws.recv()] == frames


async def test_bare_payloads_take_method_and_id_from_common(fake, web):
    batch = [chat("hi", msg_id=11), gift(msg_id=12), like(msg_id=13)]
    fake.add_room("alice", room_id=ROOM, frames=[batch], ends=True)
    async with await open_ws(fake, web) as ws:
        events = (await read_all(ws))[0].events
    assert [type(e).__name__ for e in events] == ["CommentEvent", "GiftEvent", "LikeEvent"]
    assert [e.msg_id for e in events] == [11, 12, 13]


async def test_generated_traffic_and_pacing(fake, web):
    traffic = list(random_traffic(seed=3, n_frames=4, room_id=ROOM))
    fake.add_room(
        "alice", room_id=ROOM, frames=traffic, interval=0.05, ends=True, server_hb_every=0
    )
    started = time.monotonic()
    async with await open_ws(fake, web) as ws:
        batches = await read_all(ws)
    assert time.monotonic() - started >= 0.15
    assert msg_ids(batches[:4]) == [m[2] for batch in traffic for m in batch]


async def test_push_and_end_at_run_time(fake, web):
    room = fake.add_room("alice", room_id=ROOM, server_hb_every=0)
    async with await open_ws(fake, web) as ws:
        room.push([msg(1)])
        assert msg_ids([fastlive.decode(await ws.recv())]) == [1]
        room.push([msg(2)], [msg(3)])
        room.end()
        batches = await read_all(ws)
    assert msg_ids(batches)[:2] == [2, 3] and isinstance(
        batches[-1].events[0], fastlive.LiveEndEvent
    )


async def test_replay_starts_every_connection_from_the_first_frame(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)], [msg(2)]], ends=True, replay=True)
    for _ in range(2):
        async with await open_ws(fake, web) as ws:
            assert msg_ids(await read_all(ws))[:2] == [1, 2]
        fake.room(ROOM).live = True


async def test_a_new_connection_resumes_after_the_frames_sent(fake, web):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(i)] for i in (1, 2, 3)], server_hb_every=0)
    async with await open_ws(fake, web) as ws:
        assert msg_ids([fastlive.decode(await ws.recv())]) == [1]
        await fake.wait_for(lambda: fake.room(ROOM).position == 3)
    fake.room(ROOM).end()
    async with await open_ws(fake, web) as ws:
        batches = await read_all(ws)
    assert msg_ids(batches) and isinstance(batches[0].events[0], fastlive.LiveEndEvent)


# -- faults --------------------------------------------------------------------------


async def test_drop_closes_abnormally_and_resumes_with_resend(fake, web):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=[[msg(i)] for i in range(1, 6)],
        drop_after=3,
        resend=1,
        ends=True,
        server_hb_every=0,
    )
    async with await open_ws(fake, web) as ws:
        first = await read_all(ws)
        assert ws.close_code == 1006  # no close frame: abnormal closure
    async with await open_ws(fake, web) as ws:
        second = await read_all(ws)
        assert ws.close_code == 1000
    assert msg_ids(first) == [1, 2, 3]
    assert msg_ids(second)[:3] == [3, 4, 5]  # frame 3 again, for dedup tests
    assert [c.fault for c in fake.ws_connections] == ["drop", None]


async def test_stall_sends_nothing_until_the_client_gives_up(fake, web):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=[[msg(1)], [msg(2)]],
        stall_after=1,
        ends=True,
        server_hb_every=0,
    )
    async with await open_ws(fake, web) as ws:
        assert msg_ids([fastlive.decode(await ws.recv())]) == [1]
        await ws.send(fastlive.build_heartbeat(ROOM, 1))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await ws.recv()  # no frame, no heartbeat answer
    await fake.wait_for(lambda: fake.heartbeats(ROOM))
    async with await open_ws(fake, web) as ws:
        assert msg_ids(await read_all(ws))[:1] == [2]
    assert fake.ws_connections[0].fault == "stall"


@pytest.mark.parametrize("status", [200, 400])
async def test_handshake_refusal_carries_handshake_msg(fake, web, status):
    fake.add_room(
        "alice", room_id=ROOM, handshake_status=status, handshake_msg="blocked", handshake_times=1
    )
    with pytest.raises(InvalidStatus) as caught:
        async with await open_ws(fake, web):
            pass
    assert caught.value.response.status_code == status
    assert caught.value.response.headers["Handshake-Msg"] == "blocked"
    async with await open_ws(fake, web):
        pass  # only the first upgrade was refused


async def test_strict_upgrade_checks_token_user_agent_and_session(fake, web, monkeypatch):
    fake.add_room("alice", room_id=ROOM)
    signed = await sign(fake, web)
    cases = [
        (signed.ws_url.replace("wrss=", "wrsx="), ws_headers(web, signed), 400),
        (signed.ws_url, {**ws_headers(web, signed), "User-Agent": "other/1"}, 200),
        (signed.ws_url.replace(f"room_id={ROOM}", "room_id=5"), ws_headers(web, signed), 400),
    ]
    for url, headers, status in cases:
        with pytest.raises(InvalidStatus) as caught:
            async with connect(url, additional_headers=headers):
                pass
        assert caught.value.response.status_code == status
    authed = await sign(
        fake, web, session_id="sid-1", tt_target_idc="useast1a", allow_authenticated=True
    )
    with pytest.raises(InvalidStatus) as caught:
        async with connect(authed.ws_url, additional_headers=ws_headers(web, authed)):
            pass
    assert caught.value.response.headers["Handshake-Msg"] == "illegal secret key"
    web.set_session("sid-1", "useast1a")
    async with connect(authed.ws_url, additional_headers=ws_headers(web, authed)):
        pass


async def test_lenient_fake_takes_any_upgrade_for_a_known_room():
    async with FakeTikTok(strict=False) as fake:
        fake.add_room("alice", room_id=ROOM, frames=[[msg(1)]])
        url = f"{fake.push_url}?room_id={ROOM}&compress=gzip"
        async with connect(url) as ws:
            assert msg_ids([fastlive.decode(await ws.recv())]) == [1]


async def test_wait_for_times_out(fake):
    with pytest.raises(TimeoutError):
        await fake.wait_for(lambda: False, timeout=0.05)


async def test_closing_the_fake_closes_open_sockets(web):
    fake = FakeTikTok()
    await fake.start()
    fake.add_room("alice", room_id=ROOM)
    async with await open_ws(fake, web) as ws:
        await fake.aclose()
        with pytest.raises(ConnectionClosedOK):
            await ws.recv()
        assert ws.close_code == 1001


# -- the direct connection (§2.8.9) ------------------------------------------------------------

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/147.0"


async def mint(fake: FakeTikTok, path: str = "/@alice") -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(fake.web_url + path, headers={"User-Agent": UA})


def direct_url(fake: FakeTikTok, room_id: int = ROOM) -> str:
    from fastlive.web.direct import build_direct_ws_url

    return build_direct_ws_url(fake.ws_url, room_id)


async def test_profile_pages_mint_a_ttwid_or_serve_the_challenge():
    async with FakeTikTok(ttwid_misses=2) as fake:
        misses = [await mint(fake), await mint(fake, "/")]
        hit = await mint(fake, "/@tiktok")
    for page in misses:
        assert page.status_code == 200 and "set-cookie" not in page.headers
        assert page.headers["x-tt-system-error"] == "3"
    ttwid = hit.cookies["ttwid"]
    assert ttwid.startswith("1%7C") and ttwid.count("%7C") == 3
    assert fake.minted == {ttwid: UA}


async def test_ttwid_rate_is_a_fraction_of_requests():
    async with FakeTikTok(ttwid_rate=0.25, seed=3) as fake:
        pages = [await mint(fake) for _ in range(40)]
    hits = sum("ttwid" in p.cookies for p in pages)
    assert 4 <= hits <= 18 and hits == len(fake.minted)


async def test_direct_socket_waits_for_the_join_then_resends_history(fake):
    fake.add_room(
        "alice", room_id=ROOM, frames=[[msg(i)] for i in range(1, 4)], history=6, server_hb_every=0
    )
    ttwid = (await mint(fake)).cookies["ttwid"]
    headers = {"User-Agent": UA, "Cookie": f"ttwid={ttwid}"}
    async with connect(direct_url(fake), additional_headers=headers, user_agent_header=None) as ws:
        with pytest.raises(asyncio.TimeoutError):  # nothing before the join
            await asyncio.wait_for(ws.recv(), 0.1)
        await ws.send(fastlive.build_heartbeat(ROOM, 0))
        await ws.send(fastlive.build_enter_room(ROOM))
        kinds = [fastlive.decode(await ws.recv()) for _ in range(5)]
    assert [b.payload_type for b in kinds] == ["hb", "im_enter_room_resp", "msg", "msg", "msg"]
    async with connect(direct_url(fake), additional_headers=headers, user_agent_header=None) as ws:
        await ws.send(fastlive.build_heartbeat(ROOM, 0))
        await ws.send(fastlive.build_enter_room(ROOM))
        await ws.recv(), await ws.recv()
        history = fastlive.decode(await ws.recv())
    assert [e.msg_id for e in history.events] == [1, 2, 3]  # recent comments, again
    first, second = fake.ws_connections
    assert first.direct and first.first_frames == ["hb", "im_enter_room"]
    assert (first.history_sent, second.history_sent) == (0, 3)
    assert second.cookies["ttwid"] == ttwid and second.headers["user-agent"] == UA


@pytest.mark.parametrize("status", [200, 415])
async def test_device_blocked_in_both_shapes_flags_the_ttwid(fake, status):
    fake.add_room(
        "alice", room_id=ROOM, frames=[[msg(1)]], device_blocked=1, device_blocked_status=status
    )
    ttwid = (await mint(fake)).cookies["ttwid"]
    headers = {"User-Agent": UA, "Cookie": f"ttwid={ttwid}"}
    for _ in range(2):  # blocked once by the script, then because the ttwid is flagged
        with pytest.raises(InvalidStatus) as info:
            await connect(direct_url(fake), additional_headers=headers, user_agent_header=None)
        response = info.value.response
        assert response.status_code == status
        if status == 200:
            assert response.headers["Handshake-Msg"] == "DEVICE_BLOCKED"
            assert response.headers["Handshake-Status"] == "415"
        else:
            assert "Handshake-Msg" not in response.headers
        assert response.body == b""
    assert fake.flagged == {ttwid}
    fresh = (await mint(fake)).cookies["ttwid"]
    headers["Cookie"] = f"ttwid={fresh}"
    async with connect(direct_url(fake), additional_headers=headers, user_agent_header=None):
        pass


@pytest.mark.parametrize("headers", [{}, {"User-Agent": UA}, {"Cookie": "ttwid=made-up"}])
async def test_direct_upgrade_wants_a_minted_ttwid_and_a_user_agent(fake, headers):
    fake.add_room("alice", room_id=ROOM, frames=[[msg(1)]])
    if "Cookie" in headers:
        headers = {**headers, "User-Agent": UA}
    with pytest.raises(InvalidStatus) as info:
        await connect(direct_url(fake), additional_headers=headers, user_agent_header=None)
    assert info.value.response.headers["Handshake-Msg"] == "DEVICE_BLOCKED"


async def test_a_drop_without_interval_still_records_the_clients_frames(fake, web):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=[[msg(i)] for i in range(1, 4)],
        drop_after=2,
        server_hb_every=0,
    )
    async with await open_ws(fake, web) as ws:
        await ws.send(fastlive.build_enter_room(ROOM))
        batch = fastlive.decode(await ws.recv())
        await ws.send(fastlive.build_ack(batch.log_id, batch.internal_ext))
        with contextlib.suppress(ConnectionClosedError):
            while True:
                await ws.recv()
    await fake.wait_for(lambda: fake.ws_connections[0].closed)
    assert [f.kind for f in fake.ws_received] == ["im_enter_room", "ack"]


async def test_room_info_carries_the_video_and_the_end_ends_it(fake):
    from fastlive.testing.flv import GeneratedFLV
    from fastlive.web.streams import parse_stream_urls

    room = fake.add_room("alice", room_id=ROOM, video=GeneratedFLV(media_tags=50))
    async with TikTokWeb(fake.settings()) as web:
        urls = parse_stream_urls(await web.fetch_room_info(ROOM))
        assert {u.quality for u in urls} == {"origin", "hd", "sd", "ld"}
        async with httpx.AsyncClient() as http:
            hd = next(u for u in urls if u.quality == "hd" and u.format == "flv")
            assert (await http.get(hd.url)).content.startswith(b"FLV")
        room.end()
        assert fake.flv.streams[str(ROOM)].ended
