"""TikTokLiveClient end to end against ``FakeTikTok`` on loopback: web API, sign server
and push websocket are real local servers; nothing in fastlive is mocked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from fastlive.client import TikTokLiveClient
from fastlive.events import (
    BaseEvent,
    ClientEvent,
    CommentEvent,
    ConnectEvent,
    ControlEvent,
    DisconnectEvent,
    EmoteChatEvent,
    EnvelopeEvent,
    ErrorEvent,
    FollowEvent,
    GiftEvent,
    JoinEvent,
    LikeEvent,
    LiveEndEvent,
    LivePauseEvent,
    ReconnectEvent,
    RoomUserSeqEvent,
    ShareEvent,
    SocialEvent,
)
from fastlive.exceptions import (
    AlreadyConnectedError,
    ConnectError,
    SignAPIError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
)
from fastlive.testing import (
    FakeTikTok,
    chat,
    control,
    emote_chat,
    envelope,
    gift,
    like,
    make_user,
    member,
    room_user_seq,
    social_follow,
    social_share,
)

ROOM = 7_400_000_000_000_000_777
FAST = {
    "connect": "signed",
    "heartbeat_interval": 0.05,
    "stall_timeout": 2.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
    "reconnect_attempts": 5,
}


def m(method: str, payload_fn, msg_id: int, *args, **kwargs) -> tuple[str, bytes, int]:
    return (method, payload_fn(*args, msg_id=msg_id, room_id=ROOM, **kwargs), msg_id)


def comments(first: int, n: int) -> list[list[tuple[str, bytes, int]]]:
    """``n`` frames of one comment each, msg ids ``first``, ``first + 1``..."""
    return [[m("WebcastChatMessage", chat, first + i, f"c{first + i}")] for i in range(n)]


def every_kind() -> list[list[tuple[str, bytes, int]]]:
    """Frames with every common event type, a gift streak and a pause."""
    bob = make_user(7_300_000_000_000_000_555, "Bob Builder", "bob.builder")
    return [
        [m("WebcastChatMessage", chat, 1, "hello", user=bob)],
        [m("WebcastMemberMessage", member, 2), m("WebcastLikeMessage", like, 3, count=5)],
        [m("WebcastGiftMessage", gift, 4, repeat_count=1, repeat_end=0, user=bob)],
        [m("WebcastGiftMessage", gift, 5, repeat_count=3, repeat_end=1, user=bob)],
        [m("WebcastSocialMessage", social_follow, 6), m("WebcastSocialMessage", social_share, 7)],
        [m("WebcastRoomUserSeqMessage", room_user_seq, 8, total=42)],
        [m("WebcastEmoteChatMessage", emote_chat, 9), m("WebcastEnvelopeMessage", envelope, 10)],
        [m("WebcastControlMessage", control, 11, 1)],  # a pause, not an end
        [m("WebcastChatMessage", chat, 12, "bye")],
    ]


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


def make_client(fake: FakeTikTok, handle: str = "alice", **kwargs) -> TikTokLiveClient:
    settings = fake.settings(**{**FAST, **kwargs.pop("settings", {})})
    return TikTokLiveClient(handle, settings=settings, **kwargs)


# -- the main scenario, on both loops --------------------------------------------------------


async def full_stream_scenario() -> dict:
    """A room from @handle to LiveEndEvent; returns what handlers and events() saw."""
    async with FakeTikTok() as fake:
        fake.add_room(
            "alice",
            room_id=ROOM,
            frames=every_kind(),
            initial=every_kind()[0],  # the backlog overlaps frame 1
            ends=True,
            interval=0.03,
        )
        client = make_client(fake, "@alice")
        seen: dict[type, list] = {}

        def record(kind):
            def handler(event):
                seen.setdefault(kind, []).append(event)

            return handler

        async def on_comment(event: CommentEvent) -> None:  # an async handler
            await asyncio.sleep(0)
            seen.setdefault("async comment", []).append(event.comment)

        for kind in (
            BaseEvent,
            ClientEvent,
            CommentEvent,
            GiftEvent,
            LikeEvent,
            JoinEvent,
            SocialEvent,
            FollowEvent,
            ShareEvent,
            RoomUserSeqEvent,
            ControlEvent,
            LiveEndEvent,
            ConnectEvent,
            DisconnectEvent,
        ):
            client.add_listener(kind, record(kind))
        client.on(CommentEvent)(on_comment)

        streamed: list = []

        async def consume() -> None:
            async for event in client.events():
                streamed.append(event)

        consumer = asyncio.ensure_future(consume())  # observes: connect() starts the client
        task = await client.connect(fetch_room_info=True, fetch_gift_info=True)
        await consumer  # connect() returned: the stream has its end marker
        result = {
            "seen": seen,
            "streamed": streamed,
            "task": task,
            "client": client,
            "acks": fake.acks(ROOM),
            "heartbeats": fake.heartbeats(ROOM),
            "received": list(fake.ws_received),
            "connections": list(fake.ws_connections),
            "loop": type(asyncio.get_running_loop()).__module__,
        }
        await client.aclose()
        return result


def check_full_stream(result: dict) -> None:
    seen, streamed = result["seen"], result["streamed"]
    client: TikTokLiveClient = result["client"]
    assert result["task"].done() and result["task"].exception() is None

    # events(): ConnectEvent first, DisconnectEvent last, every message once, in order
    assert isinstance(streamed[0], ConnectEvent)
    assert streamed[0] == ConnectEvent(unique_id="alice", room_id=ROOM)
    assert isinstance(streamed[-1], DisconnectEvent)
    assert isinstance(streamed[-2], LiveEndEvent)
    ids = [e.msg_id for e in streamed if isinstance(e, BaseEvent)]
    assert ids[:-1] == list(range(1, 13))  # then the fake's own stream-end message
    assert len(set(ids)) == len(ids)

    # handlers: by MRO, sync and async
    assert [e.msg_id for e in seen[BaseEvent]] == ids
    assert [type(e) for e in seen[ClientEvent]] == [ConnectEvent, DisconnectEvent]
    assert [e.comment for e in seen[CommentEvent]] == ["hello", "bye"]
    assert seen["async comment"] == ["hello", "bye"]
    assert seen[CommentEvent][0].user.nickname == "Bob Builder"
    gifts = seen[GiftEvent]
    assert [(g.repeat_count, g.streaking) for g in gifts] == [(1, True), (3, False)]
    assert gifts[1].gift.name == "Rose" and gifts[1].user.unique_id == "bob.builder"
    assert seen[LikeEvent][0].count == 5
    assert len(seen[JoinEvent]) == 1
    assert [type(e) for e in seen[SocialEvent]] == [FollowEvent, ShareEvent]
    assert len(seen[FollowEvent]) == 1 and len(seen[ShareEvent]) == 1
    assert seen[RoomUserSeqEvent][0].total == 42
    assert [type(e) for e in seen[ControlEvent]] == [LivePauseEvent, LiveEndEvent]
    assert len(seen[LiveEndEvent]) == 1
    kinds = Counter(type(e) for e in streamed)
    assert kinds[EmoteChatEvent] == 1 and kinds[EnvelopeEvent] == 1
    assert kinds[ConnectEvent] == 1 and kinds[DisconnectEvent] == 1

    # properties
    assert client.room_id == ROOM and client.unique_id == "alice"
    assert client.room_info["id"] == ROOM
    assert any(g["name"] == "Rose" for g in client.gift_info)
    assert not client.connected and not client.running

    # the wire: join first, acks carry the right log_id/internal_ext, heartbeats count up
    [conn] = result["connections"]
    received = result["received"]
    assert received[0].kind == "im_enter_room" and received[0].room_id == ROOM
    acks = result["acks"]
    assert len(acks) >= len(every_kind()) - 1  # the ack of the final frame may meet the close
    for ack in acks:
        assert conn.sent_log_ids[ack.log_id] == ack.internal_ext
    assert len({a.log_id for a in acks}) == len(acks)
    seqs = [hb.seq for hb in result["heartbeats"]]
    assert len(seqs) >= 2 and seqs == list(range(1, len(seqs) + 1))
    assert all(hb.room_id == ROOM for hb in result["heartbeats"])
    # the websocket presented the signed user agent and the signer's cookies
    assert conn.headers["user-agent"] == client.web.user_agent
    assert "ttwid" in conn.cookies and "tt-target-idc" in conn.cookies


async def test_full_stream_on_asyncio():
    check_full_stream(await full_stream_scenario())


def test_full_stream_on_uvloop():
    uvloop = pytest.importorskip("uvloop")
    result = uvloop.run(full_stream_scenario())
    assert result["loop"].startswith("uvloop")
    check_full_stream(result)


def test_run_blocks_until_the_end_on_uvloop(
    fake_in_thread: Callable[..., AbstractContextManager[FakeTikTok]],
):
    pytest.importorskip("uvloop")
    got: list = []
    with fake_in_thread(alice={"room_id": ROOM, "frames": comments(1, 3), "ends": True}) as fake:
        client = make_client(fake)
        client.on(CommentEvent)(lambda e: got.append(e.comment))
        client.on(ConnectEvent)(lambda e: got.append(type(asyncio.get_running_loop()).__module__))
        client.run()
    assert got[0].startswith("uvloop")
    assert got[1:] == ["c1", "c2", "c3"]


# -- reconnection ------------------------------------------------------------------------------


async def test_reconnects_after_a_drop_without_losing_or_repeating(fake: FakeTikTok):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 10),
        initial=[m("WebcastChatMessage", chat, 1, "c1")],
        drop_after=4,  # abort the socket (1006) after 4 frames...
        resend=2,  # ...and re-send the last 2 on the next connection
        ends=True,
        interval=0.02,
    )
    client = make_client(fake)
    got: list = []
    reconnects: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    client.on(ReconnectEvent)(reconnects.append)
    await client.connect()
    assert got == list(range(1, 11))
    assert len(fake.ws_connections) == 2
    assert fake.ws_connections[0].fault == "drop"
    assert len(fake.requests_to("/webcast/fetch")) == 2  # a fresh signature
    [event] = reconnects
    assert event.attempt == 1 and 0 < event.delay <= FAST["backoff_max"] * 1.5
    assert "without a close frame" in event.reason
    # the second socket joined again, with heartbeats counted from 1
    joins = fake.received("im_enter_room", ROOM)
    assert [j.connection for j in joins] == [0, 1]
    second = [hb.seq for hb in fake.heartbeats(ROOM) if hb.connection == 1]
    assert second[:1] == [1]


async def test_a_stalled_socket_is_replaced(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 6), stall_after=2, ends=True)
    client = make_client(fake, settings={"stall_timeout": 0.3})
    got: list = []
    reconnects: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    client.on(ReconnectEvent)(reconnects.append)
    await client.connect()
    assert got == list(range(1, 7))
    # the watchdog's own clock said so (not the default 60 s, not the test's wall clock)
    assert [r.reason for r in reconnects] == ["no data for 0.3 s (stalled)"]
    assert fake.ws_connections[0].fault == "stall"


async def test_sign_rate_limit_waits_retry_after_then_connects(fake: FakeTikTok):
    fake.add_room(
        "alice", room_id=ROOM, frames=comments(1, 2), ends=True, sign_rate_limit=1, retry_after=0.3
    )
    client = make_client(fake)
    got: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    await client.connect()
    assert got == [1, 2]
    first, second = fake.requests_to("/webcast/fetch")
    assert second.at - first.at >= 0.28


async def test_sign_rate_limit_during_a_reconnect_is_waited_out(fake: FakeTikTok):
    room = fake.add_room("alice", room_id=ROOM, frames=comments(1, 4), drop_after=2, ends=True)
    client = make_client(fake)
    got: list = []
    reconnects: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    client.on(ReconnectEvent)(reconnects.append)

    def rate_limit_next_fetch(event: CommentEvent) -> None:
        if event.msg_id == 1:
            room.sign_faults.append(429)
            room.retry_after = 0.2

    client.on(CommentEvent)(rate_limit_next_fetch)
    await client.connect()
    assert got == [1, 2, 3, 4]
    assert [r.delay for r in reconnects][1:] == [0.2]
    assert "rate limit" in reconnects[1].reason


async def test_reconnect_off_ends_at_the_first_drop(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 4), drop_after=2, ends=True)
    client = make_client(fake, settings={"reconnect": False})
    events: list = []
    client.on(ClientEvent)(events.append)
    await client.connect()
    assert [type(e) for e in events] == [ConnectEvent, DisconnectEvent]
    assert len(fake.ws_connections) == 1


async def test_gives_up_after_reconnect_attempts(fake: FakeTikTok):
    fake.add_room(
        "alice", room_id=ROOM, frames=comments(1, 2), drop_after=1, drop_times=99, replay=True
    )
    client = make_client(fake, settings={"reconnect_attempts": 2})
    reconnects: list = []
    client.on(ReconnectEvent)(reconnects.append)
    # A socket that delivers resets the count, so make every reconnect fail at the sign server.
    room = fake.room(ROOM)
    client.on(ConnectEvent)(lambda e: room.sign_faults.extend([500, 500, 500]))

    with pytest.raises(ConnectError, match="after 2 failed attempts") as info:
        await client.connect()
    assert [r.attempt for r in reconnects] == [1, 2]
    assert "HTTP 500" in str(info.value)  # the last error, not only the policy's summary


# -- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 400, 415])
async def test_blocked_upgrade_raises_and_is_not_retried(fake: FakeTikTok, status: int):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 1),
        handshake_status=status,
        handshake_msg="device was blocked",
    )
    client = make_client(fake)
    events: list = []
    client.on(ClientEvent)(events.append)
    with pytest.raises(WebcastBlockedError, match="device was blocked") as info:
        await client.connect()
    assert info.value.status == status
    assert info.value.handshake_msg == "device was blocked"
    assert len([r for r in fake.requests if r.websocket]) == 1
    assert [type(e) for e in events] == [ErrorEvent, DisconnectEvent]
    assert events[0].source == "connection"


async def test_offline_user(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, live=False)
    client = make_client(fake)
    with pytest.raises(UserOfflineError):
        await client.start()
    assert not await client.is_live()
    assert not fake.requests_to("/webcast/fetch")
    await client.aclose()


async def test_unknown_user(fake: FakeTikTok):
    client = make_client(fake, "nobody_here")
    with pytest.raises(UserNotFoundError):
        await client.connect()
    await client.aclose()


async def test_sign_server_refusal_propagates(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, sign_faults=[401])
    client = make_client(fake)
    with pytest.raises(SignAPIError) as info:
        await client.start()
    assert info.value.status == 401
    await client.aclose()


async def test_is_live_and_room_id_override(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 1), ends=True)
    client = make_client(fake, "someone_else", room_id=ROOM)
    assert await client.is_live()
    assert await client.is_live("alice")
    got: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    await client.connect()
    assert got == [1]
    assert not fake.requests_to("/@")  # no handle lookup
    await client.aclose()


# -- handlers ---------------------------------------------------------------------------------


async def test_a_raising_handler_is_reported_and_the_stream_goes_on(
    fake: FakeTikTok, caplog: pytest.LogCaptureFixture
):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 4), ends=True)
    client = make_client(fake)
    got: list = []
    errors: list = []

    def broken_sync(event: CommentEvent) -> None:
        if event.msg_id == 2:
            raise RuntimeError("sync boom")

    async def broken_async(event: CommentEvent) -> None:
        if event.msg_id == 3:
            raise ValueError("async boom")

    client.on(CommentEvent)(broken_sync)
    client.on(CommentEvent)(broken_async)
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    client.on(ErrorEvent)(errors.append)
    with caplog.at_level(logging.ERROR, logger="fastlive.client"):
        await client.connect()
    assert got == [1, 2, 3, 4]
    assert [(e.source, type(e.exception)) for e in errors] == [
        ("handler", RuntimeError),
        ("handler", ValueError),
    ]
    assert "broken_sync" in caplog.text and "broken_async" in caplog.text
    assert "sync boom" in caplog.text


async def test_a_failing_error_handler_does_not_loop(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    client = make_client(fake)
    calls: list = []

    def bad(event):
        calls.append(type(event))
        raise RuntimeError("always")

    client.on(CommentEvent)(bad)
    client.on(ErrorEvent)(bad)
    await client.connect()
    assert calls.count(CommentEvent) == 2 and calls.count(ErrorEvent) == 2


async def test_listener_registry(fake: FakeTikTok):
    client = make_client(fake)

    def handler(event):
        pass

    assert not client.has_listener(CommentEvent)
    assert client.on(CommentEvent, handler) is handler
    assert client.has_listener(CommentEvent)
    assert client.listeners(CommentEvent) == [handler]
    client.remove_listener(CommentEvent, handler)
    assert not client.has_listener(CommentEvent)
    with pytest.raises(ValueError):
        client.remove_listener(CommentEvent, handler)
    with pytest.raises(TypeError):
        client.add_listener("CommentEvent", handler)
    await client.aclose()


async def test_disconnect_from_a_handler_stops_the_client(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 50), interval=0.01)
    client = make_client(fake)
    got: list = []
    disconnects: list = []

    async def on_comment(event: CommentEvent) -> None:
        got.append(event.msg_id)
        if event.msg_id == 3:
            await client.disconnect()

    client.on(CommentEvent)(on_comment)
    client.on(DisconnectEvent)(disconnects.append)
    await asyncio.wait_for(client.connect(), 30)  # a guard against a hang
    assert got[:3] == [1, 2, 3] and len(got) < 50
    assert len(disconnects) == 1 and disconnects[0].reason == "disconnect() called"
    assert len(fake.ws_connections) == 1
    await client.aclose()


async def test_start_twice_raises_already_connected(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 3), interval=0.05)
    client = make_client(fake)
    task = await client.start()
    with pytest.raises(AlreadyConnectedError):
        await client.start()
    await fake.wait_for(lambda: client.connected)
    await client.disconnect()
    assert task.done()
    await client.aclose()


async def test_events_iterator_starts_and_stops_the_client(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 50), interval=0.01)
    client = make_client(fake)
    got: list = []
    stream = client.events()
    async for event in stream:
        if isinstance(event, CommentEvent):
            got.append(event.msg_id)
            if len(got) == 3:
                break
    await stream.aclose()
    assert got == [1, 2, 3]
    assert not client.running
    await client.aclose()


async def test_event_sinks_get_every_event_in_order_and_hold_the_reader(
    fake: FakeTikTok, caplog: pytest.LogCaptureFixture
):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 20), interval=0.0, ends=True)
    client = make_client(fake)
    seen: list = []
    steps: list[str] = []
    release = asyncio.Event()

    async def sink(event) -> None:
        seen.append(event)
        if isinstance(event, CommentEvent):
            steps.append(f"in {event.msg_id}")
            if event.msg_id == 5:
                await release.wait()  # the reader waits for the sink
                steps.append("out 5")

    async def let_go() -> None:
        await fake.wait_for(lambda: "in 5" in steps)
        for _ in range(20):  # the reader had every chance to overtake: it must not
            await asyncio.sleep(0)
        release.set()

    async def broken(event) -> None:
        raise RuntimeError("a consumer bug")

    client.add_event_sink(sink)
    client.add_event_sink(broken)
    releaser = asyncio.ensure_future(let_go())
    with caplog.at_level(logging.ERROR, logger="fastlive"):
        await client.connect()
    await releaser
    ids = [e.msg_id for e in seen if isinstance(e, CommentEvent)]
    assert ids == list(range(1, 21))  # every comment once, in order, despite the broken sink
    assert type(seen[0]) is ConnectEvent and type(seen[-1]) is DisconnectEvent
    assert steps.index("in 6") == steps.index("out 5") + 1  # nothing overtook: back-pressure
    assert "event sink" in caplog.text and "a consumer bug" in caplog.text
    client.remove_event_sink(broken)
    with pytest.raises(ValueError):
        client.remove_event_sink(broken)
    await client.aclose()


async def test_events_iterator_raises_the_error_that_ended_its_run(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, handshake_status=200, handshake_msg="illegal secret key")
    client = make_client(fake)
    seen: list = []
    with pytest.raises(WebcastBlockedError):
        async for event in client.events():
            seen.append(type(event))
    assert seen == [ErrorEvent, DisconnectEvent]
    await client.aclose()


# -- secrets -------------------------------------------------------------------------------------


async def test_no_secret_reaches_the_logs(caplog: pytest.LogCaptureFixture):
    key, session = "sk-live-SECRET-api-key-123", "SESSIONSECRET9876"
    async with FakeTikTok(require_api_key=key) as fake:
        fake.add_room("alice", room_id=ROOM, frames=comments(1, 3), drop_after=2, ends=True)
        client = make_client(
            fake,
            settings={"sign_api_key": key},
            session_id=session,
            tt_target_idc="useast1a",
        )
        client.on(CommentEvent)(lambda e: 1 / 0)  # error logs too
        with caplog.at_level(logging.DEBUG):
            await client.connect()
            await client.aclose()
        cookies = [v for conn in fake.ws_connections for v in conn.cookies.values() if len(v) > 8]
    assert len(fake.ws_connections) == 2 and cookies
    # Everything the client side logged: fastlive, websockets' client, httpx.  Left out:
    # the fake's own server log, and httpcore's DEBUG trace, which prints whole response
    # headers (the sign server's X-Set-TT-Cookie) and cannot be turned off per client.
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith(("websockets.server", "httpcore"))
    )
    assert "room 7400000000000000777" in text and "ZeroDivisionError" in caplog.text
    assert "websockets.client" not in text  # its DEBUG log would print the Cookie header
    for secret in [key, session, *cookies]:
        assert secret not in text
    # an unauthenticated websocket does not carry the session cookie
    assert all("sessionid" not in conn.cookies for conn in fake.ws_connections)
    assert key not in repr(client.settings)


# -- back-pressure ----------------------------------------------------------------------------


async def test_a_slow_consumer_is_not_a_stall_and_loses_nothing(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 12), ends=True)
    client = make_client(fake, settings={"stall_timeout": 0.2})
    got: list = []
    reconnects: list = []
    client.on(ReconnectEvent)(reconnects.append)
    async for event in client.events(max_queue=2):
        if isinstance(event, CommentEvent):
            got.append(event.msg_id)
            await asyncio.sleep(0.03)  # 12 x 0.03 s > stall_timeout, queue of 2
    assert got == list(range(1, 13))
    assert reconnects == [] and len(fake.ws_connections) == 1
    await client.aclose()


async def test_leaving_a_full_events_queue_does_not_block_the_client(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 40))
    client = make_client(fake)
    stream = client.events(max_queue=1)
    async for event in stream:
        if isinstance(event, CommentEvent):
            await asyncio.sleep(0.05)  # let the reader block on the full queue
            break
    await asyncio.wait_for(stream.aclose(), 30)  # a guard against a hang
    assert not client.running
    await client.aclose()


# -- identity and proxies -------------------------------------------------------------------------


async def test_authenticated_websocket_carries_the_session(
    fake: FakeTikTok, caplog: pytest.LogCaptureFixture
):
    session = "SESSION-abcdef-123456"
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    client = make_client(fake, session_id=session, tt_target_idc="useast1a", authenticate_ws=True)
    got: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    with caplog.at_level(logging.DEBUG):
        await client.connect()
    assert got == [1, 2]  # the strict fake refuses a session-signed socket without the cookie
    [conn] = fake.ws_connections
    assert conn.cookies["sessionid"] == session
    assert session in fake.requests_to("/webcast/fetch")[0].headers["x-cookie-header"]
    client_side = [r for r in caplog.records if not r.name.startswith("websockets.server")]
    assert session not in "\n".join(r.getMessage() for r in client_side)
    await client.aclose()


async def test_the_websocket_goes_through_ws_proxy(fake: FakeTikTok):
    tunnels: list[str] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readline()  # CONNECT host:port HTTP/1.1
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        method, target = request.split()[:2]
        assert method == b"CONNECT"
        host, port = target.decode().rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        tunnels.append(target.decode())
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    proxy = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    client = make_client(fake, ws_proxy=f"http://127.0.0.1:{port}")
    got: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    try:
        await client.connect()
    finally:
        proxy.close()
        await client.aclose()
    assert got == [1, 2]
    assert tunnels == [f"127.0.0.1:{fake.port}"]


# -- hooks for the Monitor ----------------------------------------------------------------------


class RecordingLimiter:
    """A SignLimiter that only records what the client told it."""

    def __init__(self) -> None:
        self.acquired = 0
        self.limited: list[tuple[float, float | None]] = []

    async def acquire(self) -> None:
        self.acquired += 1

    def rate_limited(self, retry_after: float, reset_time: float | None) -> None:
        self.limited.append((retry_after, reset_time))


async def test_sign_limiter_is_asked_before_every_fetch_and_told_of_429s(fake: FakeTikTok):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 4),
        drop_after=2,
        ends=True,
        sign_rate_limit=1,
        retry_after=0.05,
    )
    limiter = RecordingLimiter()
    client = make_client(fake, sign_limiter=limiter)
    await client.connect()
    fetches = fake.requests_to("/webcast/fetch")
    assert len(fetches) == 3  # a 429, the signature, the reconnect's signature
    assert limiter.acquired == 3
    [(retry_after, reset_time)] = limiter.limited
    assert retry_after == pytest.approx(0.05) and reset_time is not None
    assert client.stats.rate_limited == 1 and client.stats.reconnects == 1
    await client.aclose()


async def test_a_shared_http_client_is_not_closed(fake: FakeTikTok):
    import httpx

    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    async with httpx.AsyncClient() as http:
        client = make_client(fake, http=http)
        await client.connect()
        await client.aclose()
        assert not http.is_closed
        assert (await http.get(fake.web_url + "/webcast/gift/list/")).status_code == 200


async def test_stats_and_states_of_a_signed_run(fake: FakeTikTok):
    fake.add_room(
        "alice",
        room_id=ROOM,
        frames=comments(1, 6),
        initial=[m("WebcastChatMessage", chat, 1, "c1")],
        drop_after=3,
        resend=2,
        ends=True,
    )
    client = make_client(fake)
    states: list = []
    client.add_state_listener(lambda c, old, new: states.append(new.value))
    await client.connect()
    assert states == ["connecting", "live", "backing_off", "connecting", "live", "ended"]
    stats = client.stats
    assert stats.events["CommentEvent"] == 6 and stats.events["ConnectEvent"] == 1
    # the backlog's c1 (in both signatures' first batches), then the 2 re-sent frames
    assert stats.duplicates == 4 == client.session.duplicates_dropped
    assert stats.reconnects == 1 and stats.frames >= 8 and stats.decode_ns > 0
    assert client.connect_mode == "signed" and stats.mode_switches == 0
    await client.aclose()


async def test_a_failing_state_listener_does_not_stop_the_client(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), ends=True)
    client = make_client(fake)
    got: list = []
    client.add_state_listener(lambda c, old, new: 1 / 0)
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    await client.connect()
    assert got == [1, 2] and client.state.value == "ended"
    await client.aclose()


async def test_a_start_error_leaves_the_room_failed(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, live=False)
    client = make_client(fake)
    states: list = []
    client.add_state_listener(lambda c, old, new: states.append(new.value))
    with pytest.raises(UserOfflineError):
        await client.start()
    assert states == ["connecting", "failed"]
    await client.aclose()


# -- raw frames --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["signed", "direct"])
async def test_frame_listeners_see_every_frame_in_and_out(fake: FakeTikTok, mode: str):
    from fastlive import decode, decode_fetch_result
    from fastlive.record.frames import FETCH, FRAME, SENT

    backlog = [m("WebcastChatMessage", chat, 1, "c1")]
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 4), initial=backlog, ends=True)
    client = make_client(fake, settings={"connect": mode})
    frames: list[tuple[int, bytes, int]] = []
    client.add_frame_listener(lambda kind, data, at: frames.append((kind, data, at)))
    delivered: list = []
    client.on(BaseEvent)(delivered.append)
    before = time.time_ns()
    await client.connect()
    await client.aclose()

    kinds = [kind for kind, _, _ in frames]
    stamps = [at for _, _, at in frames]
    assert stamps == sorted(stamps) and before <= stamps[0] <= stamps[-1] <= time.time_ns()
    # what the server sent: the signed fetch result first, then every websocket message
    if mode == "signed":
        assert kinds[0] == FETCH and kinds.count(FETCH) == 1
        assert [e.msg_id for e in decode_fetch_result(frames[0][1]).events] == [1]
    else:
        assert FETCH not in kinds
    received = [decode(data).events for kind, data, _ in frames if kind == FRAME]
    assert [e for batch in received for e in batch] == delivered  # c1 comes again: dropped
    assert delivered[-1].msg_id != 1 and len(delivered) == 5
    # what the client sent, byte for byte and in order, as the fake read it
    assert [data for kind, data, _ in frames if kind == SENT] == [f.raw for f in fake.ws_received]


async def test_a_failing_frame_listener_is_logged_once_and_removed(
    fake: FakeTikTok, caplog: pytest.LogCaptureFixture
):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 5), ends=True)
    client = make_client(fake)
    calls: list[int] = []

    def broken(kind: int, data: bytes, at: int) -> None:
        calls.append(kind)
        raise OSError("disk full")

    good: list[int] = []
    client.add_frame_listener(broken)
    client.add_frame_listener(lambda kind, data, at: good.append(kind))
    got: list = []
    client.on(CommentEvent)(lambda e: got.append(e.msg_id))
    await client.connect()
    assert got == [1, 2, 3, 4, 5] and len(calls) == 1 and len(good) > 10
    assert [r.getMessage() for r in caplog.records].count(
        f"frame listener {broken!r} raised: it is removed"
    ) == 1
    with pytest.raises(ValueError):
        client.remove_frame_listener(broken)
    with pytest.raises(TypeError):
        client.add_frame_listener("not callable")  # type: ignore[arg-type]
    await client.aclose()


async def test_a_cancel_that_comes_with_disconnect_is_not_lost(fake: FakeTikTok):
    """``start()`` waits out a sign-server 429; ``disconnect()`` sets the stop event and,
    in the same loop iteration, the caller cancels ``start()``.  ``asyncio.wait_for`` on
    the event (Python 3.11) would return normally and lose the cancel: start() would
    then sign again and connect."""
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 2), sign_rate_limit=1, retry_after=5)
    client = make_client(fake)
    starting = asyncio.ensure_future(client.start())
    await fake.wait_for(lambda: fake.requests_to("/webcast/fetch") and client.stats.rate_limited)
    await asyncio.sleep(0.05)  # start() now sleeps on the stop event
    stopping = asyncio.ensure_future(client.disconnect())  # sets the event at its first step
    asyncio.get_running_loop().call_soon(starting.cancel)  # ... and this runs right after it
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(starting, 30)  # a guard against a hang
    await stopping
    await asyncio.sleep(0.1)
    assert len(fake.requests_to("/webcast/fetch")) == 1 and not fake.ws_connections
    assert not client.running
    await client.aclose()
