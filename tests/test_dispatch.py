"""Handlers in arrival order, from one bounded queue per client, against ``FakeTikTok``.

Nothing here is timed: the tests wait on the client's own counters (``queued_events``,
``stats.dropped``) and measure memory with ``tracemalloc``.
"""

from __future__ import annotations

import asyncio
import logging
import tracemalloc

import pytest

from fastlive.client import TikTokLiveClient
from fastlive.events import (
    BaseEvent,
    CommentEvent,
    ConnectEvent,
    DisconnectEvent,
    ErrorEvent,
)
from fastlive.testing import FakeTikTok, chat

ROOM = 7_400_000_000_000_000_555
FAST = {"connect": "signed", "heartbeat_interval": 1.0, "stall_timeout": 30.0}
TOTAL = 10_000
PER_FRAME = 100


def comments(first: int, n: int, per_frame: int = 1) -> list[list[tuple[str, bytes, int]]]:
    """``n`` comments, msg ids ``first``, ``first + 1``..., ``per_frame`` to a frame."""
    ids = range(first, first + n)
    messages = [("WebcastChatMessage", chat(f"c{i}", msg_id=i, room_id=ROOM), i) for i in ids]
    return [messages[i : i + per_frame] for i in range(0, n, per_frame)]


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


def make_client(fake: FakeTikTok, **kwargs) -> TikTokLiveClient:
    return TikTokLiveClient("alice", settings=fake.settings(**FAST), **kwargs)


async def until(condition) -> None:
    """Yield to the loop until ``condition()`` holds (the room moves meanwhile)."""
    while not condition():
        await asyncio.sleep(0)


def handler_tasks() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "fastlive:handlers"]


async def test_a_slow_async_handler_keeps_order_and_the_queue_bounded(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, TOTAL, PER_FRAME), ends=True)
    client = make_client(fake, max_queue=64)
    log: list[tuple[str, int]] = []
    most_queued = 0

    def first_sync(event: CommentEvent) -> None:
        log.append(("sync", event.msg_id))

    async def slow(event: CommentEvent) -> None:
        nonlocal most_queued
        if event.msg_id == 1:  # hold the queue until the room has filled it
            await until(lambda: client.queued_events == 64)
        most_queued = max(most_queued, client.queued_events)
        log.append(("async", event.msg_id))
        await asyncio.sleep(0)

    def then_sync(event: BaseEvent) -> None:
        log.append(("base", event.msg_id))

    client.on(CommentEvent)(first_sync)
    client.on(CommentEvent)(slow)
    client.on(BaseEvent)(then_sync)
    tracemalloc.start()
    try:
        await client.connect()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await client.aclose()

    # every handler saw every event, in arrival order, sync and async interleaved per event
    comment_ids = list(range(1, TOTAL + 1))
    expected = [(kind, i) for i in comment_ids for kind in ("sync", "async", "base")]
    ends = [entry for entry in log if entry[1] not in comment_ids]  # the fake's stream end
    assert [entry for entry in log if entry[1] in comment_ids] == expected
    assert [kind for kind, _ in ends] == ["base"]
    # the room waited for the handlers: never more than max_queue queued, nothing dropped
    assert most_queued == 64 and client.stats.dropped == 0
    # and memory stayed flat: queueing all 10,000 events would take about 45 MiB
    assert peak < 16 * 2**20
    assert handler_tasks() == []


async def test_drop_oldest_keeps_the_newest_and_counts_every_drop(
    fake: FakeTikTok, caplog: pytest.LogCaptureFixture
):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, TOTAL, PER_FRAME), ends=True)
    client = make_client(fake, max_queue=8, overflow="drop_oldest")
    got: list[int] = []

    async def slow(event: CommentEvent) -> None:
        if not got:  # the first call lets the room run ahead until it has dropped some
            await until(lambda: client.stats.dropped >= 500)
        assert client.queued_events <= 8
        got.append(event.msg_id)
        await asyncio.sleep(0)

    client.on(CommentEvent)(slow)
    with caplog.at_level(logging.WARNING, logger="fastlive.client"):
        await client.connect()
    await client.aclose()
    assert got == sorted(got) and got[-1] == TOTAL  # in order, the newest kept
    assert len(got) + client.stats.dropped == TOTAL  # every event ran or was counted
    assert client.stats.dropped >= 500
    assert client.stats.events["CommentEvent"] == TOTAL  # delivered to the client, all of them
    assert caplog.text.count("dropping the oldest events") == 1


async def test_order_holds_across_sync_and_async_handlers_and_errors(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 6, per_frame=3), ends=True)
    client = make_client(fake, max_queue=2)
    log: list[str] = []
    gate = asyncio.Event()

    async def on_connect(event: ConnectEvent) -> None:
        await gate.wait()  # everything after the connect queues behind this
        log.append("connect")

    def on_comment(event: CommentEvent) -> None:
        log.append(f"sync {event.msg_id}")
        if event.msg_id == 2:
            raise RuntimeError("boom")

    async def on_comment_async(event: CommentEvent) -> None:
        log.append(f"async {event.msg_id}")

    def on_error(event: ErrorEvent) -> None:
        log.append(f"error {type(event.exception).__name__}")

    client.on(ConnectEvent)(on_connect)
    client.on(CommentEvent)(on_comment)
    client.on(CommentEvent)(on_comment_async)
    client.on(ErrorEvent)(on_error)
    client.on(DisconnectEvent)(lambda e: log.append("disconnect"))
    task = await client.start()
    await until(lambda: client.queued_events == 2)  # the room now waits for the handlers
    assert log == []
    gate.set()
    await task
    await client.aclose()
    assert log == [
        "connect",
        "sync 1",
        "async 1",
        "sync 2",
        "error RuntimeError",
        "async 2",
        *(f"{kind} {i}" for i in range(3, 7) for kind in ("sync", "async")),
        "disconnect",
    ]


async def test_disconnect_waits_for_the_queued_handlers(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 50))
    client = make_client(fake, max_queue=4)
    gate = asyncio.Event()
    seen: list[int] = []
    disconnects: list[DisconnectEvent] = []

    async def held(event: CommentEvent) -> None:
        await gate.wait()
        seen.append(event.msg_id)

    client.on(CommentEvent)(held)
    client.on(DisconnectEvent)(disconnects.append)
    await client.start()
    await until(lambda: client.queued_events == 4)
    stopping = asyncio.ensure_future(client.disconnect())
    for _ in range(100):
        await asyncio.sleep(0)
    assert not stopping.done()  # it cannot end before the queued handlers have run
    gate.set()
    await stopping
    assert seen == list(range(1, len(seen) + 1)) and len(seen) >= 5  # queued ones ran, in order
    assert [d.reason for d in disconnects] == ["disconnect() called"]
    assert not client.running and handler_tasks() == []
    await client.aclose()


async def test_a_cancelled_run_drops_its_queued_handlers_cleanly(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 50))
    client = make_client(fake, max_queue=4)
    started: list[int] = []
    disconnects: list[DisconnectEvent] = []

    async def stuck(event: CommentEvent) -> None:
        started.append(event.msg_id)
        await asyncio.Event().wait()  # never returns

    client.on(CommentEvent)(stuck)
    client.on(DisconnectEvent)(disconnects.append)
    task = await client.start()
    await until(lambda: client.queued_events == 4)
    task.cancel()
    await asyncio.wait((task,))
    assert started == [1]  # the stuck call was cancelled, the queued ones never started
    assert [d.reason for d in disconnects] == ["cancelled"]
    assert client.queued_events == 0 and handler_tasks() == []
    await client.aclose()


async def test_overflow_and_max_queue_are_checked():
    with pytest.raises(ValueError, match="overflow"):
        TikTokLiveClient("alice", overflow="drop_newest")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_queue"):
        TikTokLiveClient("alice", max_queue=0)
    client = TikTokLiveClient("alice", overflow="drop_oldest")
    assert client.overflow == "drop_oldest" and client.queued_events == 0
    with pytest.raises(ValueError, match="overflow"):
        client.events(overflow="sideways")  # type: ignore[arg-type]
    await client.aclose()


async def test_an_events_stream_can_drop_the_oldest_too(fake: FakeTikTok):
    fake.add_room("alice", room_id=ROOM, frames=comments(1, 200, per_frame=20), ends=True)
    client = make_client(fake)
    stream = client.events(max_queue=4, overflow="drop_oldest")
    task = await client.start()
    first = await stream.__anext__()  # the stream observes the run (it did not start it)
    await task  # nobody reads meanwhile: the stream keeps the newest 4 items
    rest = [event async for event in stream]
    assert isinstance(first, (ConnectEvent, CommentEvent))
    assert type(rest[-1]) is DisconnectEvent and len(rest) == 3  # and the end marker
    # 204 items in all (connect, 200 comments, the stream end, disconnect, the end
    # marker); 5 were read
    assert stream.dropped == client.stats.dropped == 199
    await client.aclose()
