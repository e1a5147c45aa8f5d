"""The three connection modes end to end against ``FakeTikTok`` (protocol.md §2.8).

``direct`` (a minted ``ttwid``, the direct websocket, no sign server), ``signed``
and ``auto`` (direct first, signed when direct is refused and a sign server is
configured), with the fake's faults: challenge pages, DEVICE_BLOCKED in both
shapes, dropped sockets with re-sent history, an unreachable host.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from fastlive._config import DEFAULT_SIGN_API_URL
from fastlive._decode import build_enter_room, build_heartbeat
from fastlive.client import TikTokLiveClient
from fastlive.events import (
    BaseEvent,
    CommentEvent,
    ConnectEvent,
    DisconnectEvent,
    LiveEndEvent,
    ReconnectEvent,
)
from fastlive.exceptions import ConnectError, UserNotFoundError, UserOfflineError
from fastlive.record import record_video
from fastlive.stats import RoomState
from fastlive.testing import FakeTikTok, chat, control, like
from fastlive.testing.flv import GeneratedFLV
from fastlive.web.streams import StreamUrl
from fastlive.web.ttwid import TtwidMinter, TtwidPool

ROOM = 7_400_000_000_000_000_888
FAST = {
    "heartbeat_interval": 0.05,
    "stall_timeout": 2.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "device_blocked_delay": 0.01,
    "ttwid_retry_delay": 0.01,
    "direct_max_retries": 3,
    "reconnect_attempts": 3,
}


def comments(first: int, n: int) -> list[list[tuple[str, bytes, int]]]:
    """``n`` frames of one comment each, msg ids ``first``, ``first + 1``..."""
    return [
        [("WebcastChatMessage", chat(f"c{i}", msg_id=i, room_id=ROOM), i)]
        for i in range(first, first + n)
    ]


def make_client(fake: FakeTikTok, connect: str = "direct", **settings) -> TikTokLiveClient:
    return TikTokLiveClient(
        "@alice", settings=fake.settings(**{**FAST, **settings}), connect=connect
    )


def record(client: TikTokLiveClient) -> list[int]:
    got: list[int] = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    return got


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- direct, end to end ----------------------------------------------------------------------


async def test_a_direct_room_to_its_end(fake: FakeTikTok):
    frames = comments(1, 8)
    frames[3].append(("WebcastLikeMessage", like(count=3, msg_id=100, room_id=ROOM), 100))
    fake.add_room("alice", room_id=ROOM, frames=frames, ends=True, interval=0.02, empty_ext_every=3)
    client = make_client(fake)
    states: list[tuple[RoomState, RoomState]] = []
    client.add_state_listener(lambda c, old, new: states.append((old, new)))
    events: list = []
    client.on(BaseEvent)(events.append)
    modes: list[str] = []
    client.on(ConnectEvent)(lambda e: modes.append(client.connect_mode))
    assert client.state is RoomState.IDLE and client.connect_mode == "direct"

    await client.connect()

    # every event once, in order, then the stream end; nothing signed
    ids = [e.msg_id for e in events]
    assert ids[:9] == [1, 2, 3, 4, 100, 5, 6, 7, 8] and isinstance(events[-1], LiveEndEvent)
    assert len(set(ids)) == len(ids)
    assert modes == ["direct"]
    assert not fake.requests_to("/webcast/fetch")
    assert not fake.requests_to("/webcast/room/check_alive")  # the live state came with the room
    assert len(fake.requests_to("/api-live/user/room")) == 1

    [conn] = fake.ws_connections
    assert conn.direct and conn.query["room_id"] == str(ROOM)
    assert conn.query["ws_direct"] == "1" and conn.query["compress"] == "gzip"
    assert conn.query["heartbeat_duration"] == "50"
    assert "cursor" not in conn.query and "internal_ext" not in conn.query
    # heartbeat before the join, both at once; heartbeats carry no sequence number
    assert conn.first_frames == ["hb", "im_enter_room"]
    sent = fake.frames_of(conn.index)
    assert [f.raw for f in sent[:2]] == [build_heartbeat(ROOM, 0), build_enter_room(ROOM)]
    assert all(f.seq == 0 for f in fake.heartbeats(ROOM))
    assert len(fake.heartbeats(ROOM)) >= 2
    # acks per the rule: the frame's log_id and internal_ext; none for an empty internal_ext
    acks = fake.acks(ROOM)
    assert acks and all(conn.sent_log_ids[a.log_id] == a.internal_ext for a in acks)
    assert all(a.internal_ext for a in acks)
    empty = {log_id for log_id, ext in conn.sent_log_ids.items() if not ext}
    assert empty and not empty & {a.log_id for a in acks}
    # one session: the cookie and user agent of the mint are those of the websocket
    ttwid = conn.cookies["ttwid"]
    user_agent = conn.headers["user-agent"]
    assert fake.minted[ttwid] == user_agent
    mints = [r for r in fake.requests if r.path.startswith("/@") and not r.path.endswith("/live")]
    assert mints and all(r.headers["user-agent"] == user_agent for r in mints)
    assert all(not r.cookies for r in mints)  # minting sends no cookie
    assert conn.headers["origin"] == fake.web_url and conn.headers["cache-control"] == "no-cache"

    # state, mode and counters
    assert [new for _, new in states] == [RoomState.CONNECTING, RoomState.LIVE, RoomState.ENDED]
    stats = client.stats
    assert stats.events["CommentEvent"] == 8 and stats.events["LikeEvent"] == 1
    assert stats.events["ConnectEvent"] == 1 and stats.events["LiveEndEvent"] == 1
    assert stats.frames >= 9 and stats.bytes > 0 and stats.decode_ns > 0
    assert stats.ttwid_mints == 1 and stats.ttwid_misses == 0 and stats.reconnects == 0
    assert stats.last_event_time is not None and stats.last_event_time <= time.time()
    assert client.connect_stats.mints == 1
    await client.aclose()


async def test_a_ttwid_missing_several_times_before_it_is_minted():
    async with FakeTikTok(ttwid_misses=5) as fake:
        fake.add_room("alice", room_id=ROOM, frames=comments(1, 3), ends=True)
        client = make_client(fake)
        got = record(client)
        await client.connect()
        await client.aclose()
    assert got == [1, 2, 3]
    profiles = [
        r for r in fake.requests if r.path.startswith("/@") and not r.path.endswith("/live")
    ]
    # each round asks the host's profile, then /@tiktok; the 6th GET sets the cookie
    assert [r.path for r in profiles] == ["/@alice", "/@tiktok"] * 3
    assert len(fake.minted) == 1 and client.stats.ttwid_mints == 1
    assert fake.ws_connections[0].cookies["ttwid"] in fake.minted


async def test_no_ttwid_at_all_without_a_signer_is_a_clear_error():
    async with FakeTikTok(ttwid_rate=0.0) as fake:
        fake.add_room("alice", room_id=ROOM, frames=comments(1, 3), ends=True)
        client = make_client(fake, ttwid_attempts=2, direct_max_retries=1)
        with pytest.raises(ConnectError, match="ttwid") as info:
            await client.connect()
        await client.aclose()
    assert "sign server" in str(info.value)
    assert client.state is RoomState.FAILED
    assert client.stats.ttwid_misses == 2 and not fake.ws_connections


@pytest.mark.parametrize("status", [200, 415])
async def test_device_blocked_once_rotates_then_succeeds(fake: FakeTikTok, status: int):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 4),
        ends=True,
        device_blocked=1,
        device_blocked_status=status,
    )
    client = make_client(fake)
    got = record(client)
    reconnects: list[ReconnectEvent] = []
    client.on(ReconnectEvent)(reconnects.append)
    await client.connect()
    assert got == [1, 2, 3, 4]
    upgrades = [r for r in fake.requests if r.websocket]
    assert len(upgrades) == 2 and len(fake.ws_connections) == 1
    first, second = (r.cookies["ttwid"] for r in upgrades)
    assert first != second and first in fake.flagged  # a new ttwid, not the flagged one
    assert upgrades[0].headers["user-agent"] == fake.minted[first]
    assert upgrades[1].headers["user-agent"] == fake.minted[second]
    [event] = reconnects
    assert "DEVICE_BLOCKED" in event.reason and event.delay <= 0.02
    assert client.stats.device_blocked == 1 and client.stats.ttwid_mints == 2
    assert client.connect_mode == "direct" and client.stats.mode_switches == 0
    await client.aclose()


async def test_device_blocked_always_with_a_signer_moves_auto_to_signed(fake: FakeTikTok):
    room = fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 10),
        initial=comments(4, 1)[0],  # the signed backlog overlaps what direct delivered
        drop_after=4,
        resend=2,
        history=6,
        ends=True,
        interval=0.01,
    )
    client = make_client(fake, connect="auto")
    assert client.signer_configured
    got = record(client)
    modes: list[tuple[int, str]] = []
    reconnects: list[ReconnectEvent] = []
    client.on(CommentEvent)(lambda e: modes.append((e.msg_id, client.connect_mode)))
    client.on(ReconnectEvent)(reconnects.append)

    def block_direct_from_now_on(event: CommentEvent) -> None:
        if event.msg_id == 2:
            room.device_blocked = True

    client.on(CommentEvent)(block_direct_from_now_on)
    await client.connect()

    assert got == list(range(1, 11))  # none lost, none repeated
    assert modes[0] == (1, "direct") and modes[-1] == (10, "signed")
    direct = [c for c in fake.ws_connections if c.direct]
    signed = [c for c in fake.ws_connections if not c.direct]
    assert len(direct) == 1 and len(signed) == 1
    assert len(fake.requests_to("/webcast/fetch")) == 1
    assert client.connect_mode == "signed"
    assert client.stats.device_blocked == 2 and client.stats.mode_switches == 1
    assert client.connect_stats.switches == 1
    assert client.stats.duplicates >= 1  # the backlog and the re-sent frames
    assert "switching to a signed connection" in reconnects[-1].reason
    await client.aclose()


async def test_device_blocked_always_without_a_signer_gives_up_within_budget(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 3), device_blocked=True)
    client = make_client(fake, connect="auto", sign_api_url=DEFAULT_SIGN_API_URL)
    assert not client.signer_configured
    reconnects: list[ReconnectEvent] = []
    client.on(ReconnectEvent)(reconnects.append)
    with pytest.raises(ConnectError) as info:
        await client.connect()
    message = str(info.value)
    assert "gave up on the direct connection after 3 failed attempts" in message
    assert "DEVICE_BLOCKED" in message and "SIGN_API_KEY" in message
    # the budget in the client's own clock: the waits it chose, not the test's wall clock
    assert sum(r.delay for r in reconnects) < 0.5
    assert len([r for r in fake.requests if r.websocket]) == 4  # the first try + 3 retries
    assert [r.attempt for r in reconnects] == [1, 2, 3]
    assert len({r.cookies["ttwid"] for r in fake.requests if r.websocket}) == 4  # each rotated
    assert not fake.requests_to("/webcast/fetch")
    assert client.state is RoomState.FAILED and client.stats.device_blocked == 4
    await client.aclose()


async def test_a_dropped_direct_socket_reconnects_and_drops_the_resent_history(
    fake: FakeTikTok,
):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 10),
        drop_after=5,
        history=6,
        ends=True,
        interval=0.01,
    )
    client = make_client(fake)
    events: list = []
    client.on(BaseEvent)(events.append)
    reconnects: list[ReconnectEvent] = []
    client.on(ReconnectEvent)(reconnects.append)
    await client.connect()
    comments_seen = [e.msg_id for e in events if isinstance(e, CommentEvent)]
    assert comments_seen == list(range(1, 11))
    first, second = fake.ws_connections
    assert first.fault == "drop" and second.history_sent == 5
    assert client.stats.duplicates == 5
    assert second.first_frames == ["hb", "im_enter_room"]
    [event] = reconnects
    assert "without a close frame" in event.reason
    await client.aclose()


async def test_a_stream_end_stops_reconnecting(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    client = make_client(fake)
    reconnects: list = []
    client.on(ReconnectEvent)(reconnects.append)
    await client.connect()
    await asyncio.sleep(0.1)
    assert reconnects == [] and len(fake.ws_connections) == 1
    assert client.state is RoomState.ENDED and not client.running
    await client.aclose()


# -- the direct host unreachable ----------------------------------------------------------------


async def test_unreachable_direct_host_without_a_signer(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    client = make_client(fake, ws_url=f"ws://127.0.0.1:{free_port()}", direct_max_retries=2)
    with pytest.raises(ConnectError, match="could not be reached") as info:
        await client.connect()
    assert "could not open the direct websocket" in str(info.value)
    await client.aclose()


async def test_unreachable_direct_host_auto_goes_signed(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 3), ends=True)
    client = make_client(fake, connect="auto", ws_url=f"ws://127.0.0.1:{free_port()}")
    got = record(client)
    await client.connect()
    assert got == [1, 2, 3]
    assert client.connect_mode == "signed" and client.stats.mode_switches == 1
    assert [c.direct for c in fake.ws_connections] == [False]
    await client.aclose()


async def test_auto_tries_direct_again_after_its_cool_down(fake: FakeTikTok):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 6),
        device_blocked=2,  # direct twice refused: auto goes signed...
        drop_after=3,  # ...whose socket drops; the cool-down is over: direct again
        ends=True,
        interval=0.01,
    )
    client = make_client(fake, connect="auto", direct_cooldown=0.0)
    got = record(client)
    await client.connect()
    assert got == list(range(1, 7))
    assert [c.direct for c in fake.ws_connections] == [False, True]
    assert client.connect_mode == "direct" and client.stats.mode_switches == 2
    await client.aclose()


async def test_a_blocked_direct_lookup_falls_back_to_signed(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    fake.fail_next("/api-live/user/room", 403)
    client = make_client(fake, connect="auto")
    got = record(client)
    await client.connect()
    assert got == [1, 2]
    assert [c.direct for c in fake.ws_connections] == [False]
    await client.aclose()


async def test_direct_lookup_errors(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, live=False)
    client = make_client(fake)
    with pytest.raises(UserOfflineError):
        await client.start()
    assert client.state is RoomState.FAILED
    nobody = TikTokLiveClient("nobody", settings=fake.settings(**FAST), connect="direct")
    with pytest.raises(UserNotFoundError):
        await nobody.start()
    assert not fake.requests_to("/@") and not fake.ws_connections
    await client.aclose()
    await nobody.aclose()


# -- every mode, same events --------------------------------------------------------------------


@pytest.mark.parametrize("history", [0, 6])
async def test_the_same_room_in_all_three_modes_gives_the_same_events(history: int):
    results = {}
    for mode in ("direct", "signed", "auto"):
        async with FakeTikTok() as fake:
            frames = comments(1, 6)
            frames[2].append(("WebcastLikeMessage", like(count=2, msg_id=50, room_id=ROOM), 50))
            fake.add_room(
                "alice", room_id=ROOM, frames=frames, ends=True, drop_after=3, history=history
            )
            client = make_client(fake, connect=mode)
            events: list = []
            client.on(BaseEvent)(events.append)
            await client.connect()
            await client.aclose()
            results[mode] = [
                (type(e).__name__, e.msg_id) for e in events if not isinstance(e, LiveEndEvent)
            ]
            assert isinstance(events[-1], LiveEndEvent)
            assert [c.direct for c in fake.ws_connections] == [mode != "signed"] * 2
    assert results["direct"] == results["signed"] == results["auto"]
    assert len(results["direct"]) == 7


# -- hooks the Monitor uses ---------------------------------------------------------------------


async def test_a_shared_ttwid_pool_serves_several_rooms(fake: FakeTikTok):
    handles = [f"user{i}" for i in range(5)]
    for i, handle in enumerate(handles):
        fake.add_room(handle, room_id=ROOM + i, frames=comments(1, 2), ends=True)
    settings = fake.settings(**FAST)
    async with TtwidMinter(settings) as minter:
        pool = TtwidPool(2, minter)
        clients = [
            TikTokLiveClient(h, settings=settings, connect="direct", ttwid_pool=pool)
            for h in handles
        ]
        await asyncio.gather(*(c.connect() for c in clients))
        assert pool.sessions == []  # every room released its place
        for c in clients:
            await c.aclose()
    assert len(fake.minted) == 3  # 5 rooms, 2 per ttwid
    assert sum(c.stats.ttwid_mints for c in clients) == 3
    assert all(c.stats.events["CommentEvent"] == 2 for c in clients)


async def test_no_ttwid_or_cookie_reaches_the_logs(fake: FakeTikTok, caplog):
    fake.add_room(
        "alice", room_id=ROOM, frames=comments(1, 4), device_blocked=1, drop_after=2, ends=True
    )
    client = make_client(fake)
    with caplog.at_level(logging.DEBUG):
        await client.connect()
        await client.aclose()
    ttwids = list(fake.minted)
    assert len(ttwids) >= 2
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith(("websockets.server", "httpcore"))
    )
    assert "DEVICE_BLOCKED" in text
    for ttwid in ttwids:
        assert ttwid not in text and ttwid.split("%7C")[1] not in text


# -- video ----------------------------------------------------------------------------------


async def test_stream_urls_and_a_recording_that_stops_at_the_stream_end(fake: FakeTikTok, tmp_path):
    room = fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 3),
        interval=0.05,
        video=GeneratedFLV(media_tags=100_000),
        video_options={"rate": 200},
    )
    client = make_client(fake)
    urls = await client.stream_urls()
    assert all(isinstance(u, StreamUrl) for u in urls)
    assert {(u.quality, u.format) for u in urls} >= {("hd", "flv"), ("origin", "flv")}
    await client.start()

    async def end_soon() -> None:
        stream = fake.flv.streams[str(ROOM)]
        await fake.wait_for(lambda: stream.position >= 100, timeout=30)  # 100 tags sent
        room.end()

    ender = asyncio.ensure_future(end_soon())
    stats = await asyncio.wait_for(record_video(client, tmp_path / "alice.flv", "hd"), 60)
    await ender
    await client.disconnect()
    assert (tmp_path / "alice.flv").stat().st_size > 1000
    assert stats.bytes > 1000
    assert fake.flv.streams[str(ROOM)].ended
    assert not client.has_listener(LiveEndEvent)  # the recording's listener is gone
    assert any(r.path.endswith("/hd.flv") for r in fake.flv.requests)
    await client.aclose()


async def test_record_video_stops_on_the_rooms_live_end_event(fake: FakeTikTok, tmp_path):
    """The video keeps going; the websocket's LiveEndEvent alone ends the recording."""
    end = ("WebcastControlMessage", control(3, msg_id=99, room_id=ROOM), 99)
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=[*comments(1, 3), [end]],
        interval=0.1,
        video=GeneratedFLV(media_tags=100_000),
        video_options={"rate": 100},
    )
    client = make_client(fake)
    await client.start()
    # the video would last 1,000 s: only the LiveEndEvent can stop the recording this soon
    stats = await asyncio.wait_for(record_video(client, tmp_path / "v.flv"), 60)
    assert stats.stop_reason == "stopped"
    assert (tmp_path / "v.flv").stat().st_size > 0
    assert not fake.flv.streams[str(ROOM)].ended
    await client.disconnect()  # the run ends by itself too: the session saw the end
    assert client.state is RoomState.ENDED and client.stats.reconnects == 0
    await client.aclose()


# -- the benchmark's harness (no timing asserted) ---------------------------------------------


@pytest.mark.parametrize("mode", ["direct", "signed"])
async def test_bench_connect_harness(mode: str):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_connect

    async with FakeTikTok() as fake:
        for i in range(3):
            room_id = bench_connect.FIRST_ROOM + i
            msg = ("WebcastChatMessage", chat("hi", msg_id=i + 1, room_id=room_id), i + 1)
            fake.add_room(f"room{i}", room_id=room_id, frames=[[msg]], replay=True)
        result = await bench_connect.run_mode(fake.port, 3, mode, concurrent=True)
    assert result["rooms"] == 3 and result["median_ms"] > 0
    assert [c.direct for c in fake.ws_connections] == [mode == "direct"] * 3
    assert (result["mints"] > 0) == (mode == "direct")


async def test_a_room_that_ended_while_disconnected_is_not_joined_again(fake: FakeTikTok):
    room = fake.add_room("alice", room_id=ROOM, frames=comments(1, 4), drop_after=2)
    client = make_client(fake)
    got = record(client)

    def end_while_the_socket_is_down(event: CommentEvent) -> None:
        if event.msg_id == 2:
            room.live = False  # the stream end itself never reaches the client

    client.on(CommentEvent)(end_while_the_socket_is_down)
    disconnects: list = []
    client.on(DisconnectEvent)(disconnects.append)
    await client.connect()
    assert got == [1, 2] and len(fake.ws_connections) == 1
    assert disconnects[0].reason == "the stream is no longer live"
    assert client.state is RoomState.ENDED
    await client.aclose()


def test_the_mode_comes_from_the_argument_or_the_environment(monkeypatch):
    monkeypatch.setenv("FASTLIVE_CONNECT", "signed")
    assert TikTokLiveClient("alice").connect_mode == "signed"
    assert TikTokLiveClient("alice", connect="DIRECT").connect_mode == "direct"
    monkeypatch.setenv("FASTLIVE_CONNECT", "sideways")
    with pytest.raises(ValueError, match="connection mode"):
        TikTokLiveClient("alice")
    monkeypatch.delenv("FASTLIVE_CONNECT")
    monkeypatch.delenv("SIGN_API_URL", raising=False)
    monkeypatch.delenv("SIGN_API_KEY", raising=False)
    assert not TikTokLiveClient("alice").signer_configured
    assert TikTokLiveClient("alice", sign_api_key="k").signer_configured
    monkeypatch.setenv("SIGN_API_URL", "https://sign.example")
    assert TikTokLiveClient("alice").signer_configured
    client = TikTokLiveClient("alice", ws_url="eu")
    assert client.settings.ws_url == "wss://webcast-ws.eu.tiktok.com"


def test_a_direct_room_on_uvloop():
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> tuple[list[int], str]:
        async with FakeTikTok() as fake:
            fake.add_room(
                "alice", room_id=ROOM, frames=comments(1, 5), drop_after=2, history=6, ends=True
            )
            client = make_client(fake)
            got = record(client)
            await client.connect()
            await client.aclose()
            return got, type(asyncio.get_running_loop()).__module__

    got, loop = uvloop.run(scenario())
    assert loop.startswith("uvloop") and got == [1, 2, 3, 4, 5]
