"""The dashboard end to end: a Monitor watching FakeTikTok rooms, read over real HTTP.

``/api/rooms`` against the scripted figures, ``/api/events`` by a plain SSE client
(httpx streaming) against what the Monitor delivered, its filters, a reader that never
reads, ``/metrics`` through prometheus-client's own parser, the token rule, the pages
and ``fastlive watch --dashboard``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fastlive.dashboard import Dashboard, parse_address
from fastlive.events import BaseEvent
from fastlive.exceptions import DashboardError
from fastlive.monitor import Monitor
from fastlive.monitor.limits import SignLimiter
from fastlive.stats import RoomState
from fastlive.testing import FakeTikTok, chat, gift, make_user, room_user_seq, social_follow

BASE_ROOM = 7_400_000_000_000_300_000
USER = make_user(7_300_000_000_000_000_001, "Alice A", "alice.a", fan_club_name="")
FAN = make_user(7_300_000_000_000_000_002, "Bob B", "bob.b", fan_club_name="")
FAST = {"connect": "signed", "backoff_initial": 0.05, "backoff_max": 0.2, "stall_timeout": 2.0}
ROOMS = 3
VIEWERS = [150, 2_500, 40]
DIAMONDS_PER_ROOM = 10 + 3  # a 10-diamond gift, then a streak of three 1-diamond roses


def scripted(room_id: int, comments: int = 4, text: str = "hello") -> list[list]:
    """Comments, a gift that does not streak, a streak of three, a follow, a viewer count."""
    n = (room_id - BASE_ROOM) * 1000
    frames: list[list] = []

    def add(method: str, build: Any) -> None:
        nonlocal n
        n += 1
        frames.append([(method, build(n), n)])

    for i in range(comments):
        add(
            "WebcastChatMessage",
            lambda m, i=i: chat(f"{text} {i}", USER, msg_id=m, room_id=room_id),
        )
    add(
        "WebcastGiftMessage",
        lambda m: gift(6064, "GG", 10, 2, FAN, msg_id=m, room_id=room_id),
    )
    for count in (1, 2, 3):
        add(
            "WebcastGiftMessage",
            lambda m, c=count: gift(
                5655,
                "Rose",
                1,
                1,
                FAN,
                repeat_count=c,
                repeat_end=int(c == 3),
                group_id=room_id,
                msg_id=m,
                room_id=room_id,
            ),
        )
    add("WebcastSocialMessage", lambda m: social_follow(FAN, msg_id=m, room_id=room_id))
    viewers = VIEWERS[(room_id - BASE_ROOM) % len(VIEWERS)]
    add("WebcastRoomUserSeqMessage", lambda m: room_user_seq(viewers, msg_id=m, room_id=room_id))
    return frames


def scripted_ids(frames: list[list]) -> set[int]:
    return {m[2] for batch in frames for m in batch}


def add_rooms(fake: FakeTikTok, count: int = ROOMS, **options: Any) -> dict[int, list[list]]:
    """``@dash0``... offline until a test turns them live; returns the script by room id."""
    out = {}
    for i in range(count):
        rid = BASE_ROOM + i
        out[rid] = options.pop("frames", None) or scripted(rid)
        fake.add_room(f"dash{i}", room_id=rid, frames=out[rid], live=False, ends=True, **options)
    return out


def monitor_for(fake: FakeTikTok, rooms: int = ROOMS, **kwargs: Any) -> Monitor:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("sign_limiter", SignLimiter(rate=200, burst=20))
    return Monitor([f"@dash{i}" for i in range(rooms)], settings=fake.settings(**FAST), **kwargs)


def go_live(fake: FakeTikTok, rooms: int = ROOMS) -> None:
    for i in range(rooms):
        fake.room(f"dash{i}").live = True


async def read_sse(response: httpx.Response, until: Any) -> tuple[list[dict], list[dict]]:
    """``data:`` records and ``event: dropped`` notices of an SSE response, until ``until``."""
    records: list[dict] = []
    notices: list[dict] = []
    event = "message"
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:])
            (records if event == "message" else notices).append(data)
            if until(records):
                break
        elif not line:
            event = "message"
    return records, notices


def ended(rooms: int) -> Any:
    return lambda got: sum(r["type"] == "LiveEndEvent" for r in got) == rooms


async def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    """Poll ``predicate`` (a hang guard, not a timing assertion)."""
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


# -- /api/events -----------------------------------------------------------------------


async def test_api_events_delivers_every_event_the_monitor_delivers(fake):
    script = add_rooms(fake)
    monitor = monitor_for(fake)
    delivered: list[tuple[str, Any]] = []
    async with (
        monitor,
        Dashboard(monitor, port=0) as board,
        httpx.AsyncClient(base_url=board.url, timeout=20) as client,
    ):
        stream = monitor.events()

        async def consume() -> None:
            async for room, event in stream:
                delivered.append((room.key, event))

        consumer = asyncio.ensure_future(consume())
        async with client.stream("GET", "/api/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            go_live(fake)
            records, notices = await asyncio.wait_for(read_sse(response, ended(ROOMS)), 20)
        await wait_for(lambda: sum(type(e).__name__ == "LiveEndEvent" for _, e in delivered) == 3)
        consumer.cancel()
    assert notices == []
    # the same events, in the same order per room, as the Monitor's own stream (up to and
    # past each room's end: the reading stopped at the last room's LiveEndEvent)
    for i in range(ROOMS):
        key = f"@dash{i}"
        mine = [(r["type"], r["msg_id"]) for r in records if r["room"] == key]
        theirs = [(type(e).__name__, getattr(e, "msg_id", 0)) for k, e in delivered if k == key]
        assert ("LiveEndEvent", mine[-1][1]) in mine
        assert mine == theirs[: len(mine)]
        assert len(mine) >= len([e for k, e in delivered if k == key and isinstance(e, BaseEvent)])
    # every scripted message, in the schema's form
    for rid, frames in script.items():
        got = {r["msg_id"] for r in records if r["room_id"] == rid}
        assert scripted_ids(frames) <= got
    comments = [r for r in records if r["type"] == "CommentEvent"]
    assert len(comments) == 4 * ROOMS
    assert all(r["v"] == 1 and r["user"]["unique_id"] == "alice.a" for r in comments)
    assert {r["content"] for r in comments} == {f"hello {i}" for i in range(4)}


async def test_api_events_filters_by_room_and_type(fake):
    add_rooms(fake)
    monitor = monitor_for(fake, gift_streaks=True)
    async with (
        monitor,
        Dashboard(monitor, port=0) as board,
        httpx.AsyncClient(base_url=board.url, timeout=20) as client,
    ):
        everything = client.stream("GET", "/api/events")
        gifts = client.stream("GET", "/api/events", params={"room": "@Dash1", "type": "GiftEvent"})
        social = client.stream(
            "GET",
            "/api/events",
            params={"room": "@dash0,@dash2", "type": "SocialEvent,LiveEndEvent"},
        )
        async with everything as all_r, gifts as gift_r, social as social_r:
            go_live(fake)
            records, _ = await asyncio.wait_for(read_sse(all_r, ended(ROOMS)), 20)
            gift_records, _ = await asyncio.wait_for(read_sse(gift_r, lambda g: len(g) == 4), 20)
            social_records, _ = await asyncio.wait_for(read_sse(social_r, ended(2)), 20)
    assert [(r["room"], r["type"]) for r in gift_records] == [("@dash1", "GiftEvent")] * 4
    assert [r["gift"]["name"] for r in gift_records] == ["GG", "Rose", "Rose", "Rose"]
    want = [
        (r["room"], r["type"], r["msg_id"])
        for r in records
        if r["room"] in ("@dash0", "@dash2") and r["type"] in ("FollowEvent", "LiveEndEvent")
    ]
    assert [(r["room"], r["type"], r["msg_id"]) for r in social_records] == want
    assert {r["type"] for r in social_records} == {"FollowEvent", "LiveEndEvent"}  # subclasses
    streaks = [r for r in records if r["type"] == "GiftStreakEvent"]
    assert sorted((r["room"], r["count"], r["diamonds"]) for r in streaks) == sorted(
        (f"@dash{i}", c, d) for i in range(ROOMS) for c, d in ((1, 10), (3, 3))
    )


async def test_a_reader_that_never_reads_loses_its_oldest_not_the_rooms_time(fake):
    """A stalled SSE client fills its own bounded queue; the rooms and a fast reader go on."""
    big = "x" * 3_000
    frames = scripted(BASE_ROOM, comments=1_500, text=big)
    fake.add_room("dash0", room_id=BASE_ROOM, frames=frames, live=False, ends=True)
    monitor = monitor_for(fake, rooms=1)
    async with (
        monitor,
        Dashboard(monitor, port=0, max_queue=16) as board,
        httpx.AsyncClient(base_url=board.url, timeout=30) as client,
    ):
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(stalled, ("127.0.0.1", board.port))
        await loop.sock_sendall(stalled, b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await wait_for(lambda: board.hub.subscribers == 1)
        async with client.stream("GET", "/api/events") as response:
            await wait_for(lambda: board.hub.subscribers == 2)
            go_live(fake, 1)
            records, notices = await asyncio.wait_for(read_sse(response, ended(1)), 60)
        await wait_for(lambda: monitor.room("@dash0").state is RoomState.WAITING)
        summary = board.hub.summary()
        stalled.close()
    assert notices == []  # the reader that keeps up loses nothing
    assert scripted_ids(frames) <= {r["msg_id"] for r in records}
    assert summary["subscriber_dropped"] > 0  # the one that never read lost its oldest
    assert monitor.stats.dropped == 0  # and the rooms never waited for it


# -- /api/rooms, /api/history ------------------------------------------------------------


async def test_api_rooms_shows_every_room_with_its_figures(fake):
    add_rooms(fake)
    monitor = monitor_for(fake)
    async with (
        monitor,
        Dashboard(monitor, port=0, sample_interval=0.05) as board,
        httpx.AsyncClient(base_url=board.url, timeout=20) as client,
    ):
        before = (await client.get("/api/rooms")).json()
        assert [r["room"] for r in before] == ["@dash0", "@dash1", "@dash2"]
        assert {r["state"] for r in before} <= {"idle", "waiting"}
        async with client.stream("GET", "/api/events", params={"type": "LiveEndEvent"}) as r:
            go_live(fake)
            await asyncio.wait_for(read_sse(r, lambda got: len(got) == ROOMS), 20)
        await wait_for(lambda: all(r.state is RoomState.WAITING for r in monitor.rooms.values()))
        rooms = (await client.get("/api/rooms")).json()
        await wait_for(lambda: board.hub.history()["@dash1"][-1][1] == VIEWERS[1])
        history = (await client.get("/api/history", params={"room": "@dash1"})).json()
    for i, row in enumerate(rooms):
        room = monitor.room(f"@dash{i}")
        assert {"room", "room_id", "state", "mode", "events", "viewers", "diamonds"} <= set(row)
        assert row["room"] == f"@dash{i}" and row["room_id"] == BASE_ROOM + i
        assert row["state"] == "waiting"
        assert row["events"] == room.stats.events_total > 0
        assert row["viewers"] == VIEWERS[i]
        assert row["diamonds"] == DIAMONDS_PER_ROOM
        assert row["last_event"] == "DisconnectEvent"
    assert list(history) == ["@dash1"]
    assert history["@dash1"][-1][1:] == [VIEWERS[1], DIAMONDS_PER_ROOM]


async def test_live_rooms_show_their_connection_mode(fake):
    fake.add_room("dash0", room_id=BASE_ROOM, frames=scripted(BASE_ROOM), live=True)
    monitor = monitor_for(fake, rooms=1)
    async with (
        monitor,
        Dashboard(monitor, port=0) as board,
        httpx.AsyncClient(base_url=board.url) as client,
    ):
        await wait_for(lambda: monitor.room("@dash0").state is RoomState.LIVE)
        row = (await client.get("/api/rooms")).json()[0]
    assert (row["state"], row["mode"]) == ("live", "signed")


# -- /metrics ----------------------------------------------------------------------------


async def test_metrics_parse_and_count_what_the_monitor_counted(fake):
    add_rooms(fake)
    monitor = monitor_for(fake)
    async with (
        monitor,
        Dashboard(monitor, port=0) as board,
        httpx.AsyncClient(base_url=board.url, timeout=20) as client,
    ):
        async with client.stream("GET", "/api/events", params={"type": "LiveEndEvent"}) as r:
            go_live(fake)
            await asyncio.wait_for(read_sse(r, lambda got: len(got) == ROOMS), 20)
        await wait_for(lambda: all(r.state is RoomState.WAITING for r in monitor.rooms.values()))
        answer = await client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    by_room = {
        name: {
            s.labels["room"]: s.value for s in families[name].samples if s.name.endswith("_total")
        }
        for name in (
            "fastlive_room_events",
            "fastlive_room_frames",
            "fastlive_room_received_bytes",
            "fastlive_room_decode_seconds",
            "fastlive_room_reconnects",
            "fastlive_room_rate_limited",
            "fastlive_room_device_blocked",
            "fastlive_room_diamonds",
        )
    }
    for i in range(ROOMS):
        key, stats = f"@dash{i}", monitor.room(f"@dash{i}").stats
        assert by_room["fastlive_room_events"][key] == stats.events_total
        assert by_room["fastlive_room_frames"][key] == stats.frames > 0
        assert by_room["fastlive_room_received_bytes"][key] == stats.bytes > 0
        assert by_room["fastlive_room_decode_seconds"][key] == pytest.approx(stats.decode_ns / 1e9)
        assert by_room["fastlive_room_reconnects"][key] == stats.reconnects
        assert by_room["fastlive_room_diamonds"][key] == DIAMONDS_PER_ROOM
    viewers = {s.labels["room"]: s.value for s in families["fastlive_room_viewers"].samples}
    assert viewers == {f"@dash{i}": VIEWERS[i] for i in range(ROOMS)}
    types = {s.labels["type"]: s.value for s in families["fastlive_events"].samples}
    assert types["CommentEvent"] == 4 * ROOMS and types["LiveEndEvent"] == ROOMS
    states = {s.labels["state"]: s.value for s in families["fastlive_rooms"].samples}
    assert states["waiting"] == ROOMS and sum(states.values()) == ROOMS


async def test_metrics_stay_bounded_past_the_room_limit(fake):
    add_rooms(fake)
    monitor = monitor_for(fake)
    async with (
        monitor,
        Dashboard(monitor, port=0, room_limit=2) as board,
        httpx.AsyncClient(base_url=board.url, timeout=20) as client,
    ):
        async with client.stream("GET", "/api/events", params={"type": "LiveEndEvent"}) as r:
            go_live(fake)
            await asyncio.wait_for(read_sse(r, lambda got: len(got) == ROOMS), 20)
        text = (await client.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    events = {
        s.labels["room"]: s.value
        for s in families["fastlive_room_events"].samples
        if s.name.endswith("_total")
    }
    assert set(events) == {"@dash0", "@dash1", "_other"}
    assert events["_other"] == monitor.room("@dash2").stats.events_total
    assert sum(len(f.samples) for f in families.values()) < 200


# -- the token rule, the pages -----------------------------------------------------------


async def test_off_loopback_needs_a_token_and_every_request_carries_it(fake):
    monitor = monitor_for(fake, rooms=0)
    with pytest.raises(DashboardError, match="--dashboard-token"):
        Dashboard(monitor, "0.0.0.0", 0)
    token = "s3cret-t0ken-for-the-test"
    async with Dashboard(monitor, "0.0.0.0", 0, token=token) as board:
        base = f"http://127.0.0.1:{board.port}"
        async with httpx.AsyncClient(base_url=base) as client:
            for path in ("/", "/api/rooms", "/api/events", "/metrics", "/static/dashboard.js"):
                refused = await client.get(path)
                assert refused.status_code == 401, path
                assert token not in refused.text
            wrong = await client.get("/api/rooms", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            bearer = await client.get("/api/rooms", headers={"Authorization": f"Bearer {token}"})
            assert bearer.status_code == 200 and bearer.json() == []
            metrics = await client.get("/metrics", params={"token": token})
            assert metrics.status_code == 200
        async with httpx.AsyncClient(base_url=base) as browser:  # a page opened with ?token=
            page = await browser.get("/", params={"token": token})
            assert page.status_code == 200
            cookie = page.headers["set-cookie"]
            assert token not in cookie and "HttpOnly" in cookie
            for path in ("/static/dashboard.js", "/static/charts.js", "/api/rooms", "/overlay/@a"):
                answer = await browser.get(path)  # the cookie is enough now
                assert answer.status_code == 200, path
                assert token not in answer.text
            overlay = await browser.get("/overlay/@a", params={"token": token})
            assert token not in overlay.text
        await monitor.aclose()


async def test_loopback_refuses_foreign_host_names(fake):
    monitor = monitor_for(fake, rooms=0)
    async with Dashboard(monitor, port=0) as board, httpx.AsyncClient(base_url=board.url) as c:
        assert (await c.get("/api/rooms")).status_code == 200
        assert (await c.get("/api/rooms", headers={"Host": f"localhost:{board.port}"})).is_success
        rebound = await c.get("/api/rooms", headers={"Host": "attacker.example:8765"})
        assert rebound.status_code == 403
    await monitor.aclose()


async def test_pages_come_from_the_package_and_work_offline(fake):
    monitor = monitor_for(fake, rooms=0)
    async with Dashboard(monitor, port=0) as board, httpx.AsyncClient(base_url=board.url) as c:
        pages = {path: await c.get(path) for path in ("/", "/overlay/@alice")}
        for page in pages.values():
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "default-src 'self'" in page.headers["content-security-policy"]
            refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assert refs and all(ref.startswith("/") and not ref.startswith("//") for ref in refs)
            for ref in refs:
                if ref.startswith("/static/"):
                    asset = await c.get(ref)
                    assert asset.status_code == 200 and asset.content, ref
                    assert "http://" not in asset.text and "https://" not in asset.text
        assert (
            (await c.get("/static/dashboard.js"))
            .headers["content-type"]
            .startswith("text/javascript")
        )
        assert (await c.get("/static/nope.js")).status_code == 404
        assert (await c.get("/static/../server.py")).status_code == 404
        assert (await c.get("/nope")).status_code == 404
        assert (await c.post("/api/rooms")).status_code == 405
        head = await c.head("/api/rooms")
        assert head.status_code == 200 and head.content == b""
    await monitor.aclose()


async def test_a_request_that_is_not_http_gets_400(fake):
    monitor = monitor_for(fake, rooms=0)
    async with Dashboard(monitor, port=0) as board:
        reader, writer = await asyncio.open_connection("127.0.0.1", board.port)
        writer.write(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400")
    await monitor.aclose()


def test_parse_address():
    assert parse_address("127.0.0.1:8765") == ("127.0.0.1", 8765)
    assert parse_address(":9000") == ("127.0.0.1", 9000)
    assert parse_address("[::1]:80") == ("::1", 80)
    for bad in ("8765", "host:", "host:99999", "host:http"):
        with pytest.raises(DashboardError):
            parse_address(bad)


async def test_a_port_in_use_says_so(fake):
    monitor = monitor_for(fake, rooms=0)
    async with Dashboard(monitor, port=0) as first:
        with pytest.raises(DashboardError, match="another port"):
            await Dashboard(monitor, port=first.port).start()
    await monitor.aclose()


# -- fastlive watch --dashboard ----------------------------------------------------------


async def test_watch_serves_the_dashboard_while_it_watches(fake):
    add_rooms(fake, count=2)
    env = {
        **os.environ,
        "FASTLIVE_WEB_URL": fake.web_url,
        "FASTLIVE_WEBCAST_URL": fake.webcast_url,
        "SIGN_API_URL": fake.sign_api_url,
        "FASTLIVE_CONNECT": "signed",
    }
    env.pop("SIGN_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fastlive",
        "watch",
        "@dash0",
        "@dash1",
        "--once",
        "--jsonl",
        "--poll-interval",
        "0.05",
        "--duration",
        "40",
        "--dashboard",
        "127.0.0.1:0",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        url = re.search(r"dashboard on (http://\S+)", line)
        assert url, line
        async with httpx.AsyncClient(base_url=url.group(1), timeout=20) as client:
            rooms = (await client.get("/api/rooms")).json()
            assert [r["room"] for r in rooms] == ["@dash0", "@dash1"]
            async with client.stream("GET", "/api/events") as response:
                go_live(fake, 2)
                records, _ = await asyncio.wait_for(read_sse(response, ended(2)), 30)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err
    printed = [json.loads(line) for line in out.decode().splitlines()]
    key = ("type", "room", "msg_id")
    sse = [tuple(r[k] for k in key) for r in records if r["msg_id"]]
    assert sse == [tuple(r[k] for k in key) for r in printed if r["msg_id"]][: len(sse)]


async def test_watch_dashboard_off_loopback_without_a_token_is_refused():
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fastlive",
        "watch",
        "@someone",
        "--dashboard",
        "0.0.0.0:8765",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert b"--dashboard-token" in err
