"""The Monitor's callbacks against ``FakeTikTok``: async ones keep their order and their memory.

``monitor.on`` callbacks are awaited in arrival order from one task, ``room.on``
callbacks from one task per room, each through a queue bounded at ``max_queue``:
a slow callback makes the rooms wait (``overflow="block"``: nothing lost) or drops
the oldest calls (``"drop_oldest"``: each drop counted).  Checked over 10,000
comments across ten rooms, by what the callbacks saw against what the fake sent;
memory by tracemalloc.  No test here bounds how long anything takes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import tracemalloc
import warnings
from collections import Counter, defaultdict

import pytest

from fastlive import CommentEvent, Monitor
from fastlive.monitor.limits import SignLimiter
from fastlive.stats import RoomState
from fastlive.testing import FakeTikTok, chat, make_user

BASE = 7_400_000_000_000_300_000
USER = make_user(7_300_000_000_000_000_003, "Cai C", "cai.c", fan_club_name="")
ROOMS = 10
FRAMES = 100
PER_FRAME = 10  # 10 rooms x 100 frames x 10 comments = 10,000 events
FAST = {"connect": "signed", "backoff_initial": 0.05, "backoff_max": 0.2, "stall_timeout": 30.0}
HANG_GUARD = 120.0
"""Seconds after which a test that waits is a hang, not a slow run."""
PEAK_BUDGET = 12 * 2**20
"""Bytes the event flow may hold at its peak: ten rooms' connections and a queue of 64
calls take about 4 MiB here; queueing all 10,000 calls instead takes about 39 MiB."""


def msg_id(room: int, n: int) -> int:
    return (room + 1) * 1_000_000 + n


def add_rooms(fake: FakeTikTok, rooms: int = ROOMS, frames: int = FRAMES) -> dict[str, list[int]]:
    """Rooms ``@cb0``... with ``frames x PER_FRAME`` comments each; their msg ids in order."""
    sent: dict[str, list[int]] = {}
    for r in range(rooms):
        rid = BASE + r
        batches, ids = [], []
        for f in range(frames):
            batch = []
            for k in range(PER_FRAME):
                mid = msg_id(r, f * PER_FRAME + k)
                ids.append(mid)
                batch.append(
                    ("WebcastChatMessage", chat(f"c{mid}", USER, msg_id=mid, room_id=rid), mid)
                )
            batches.append(batch)
        fake.add_room(f"cb{r}", room_id=rid, frames=batches, ends=True)
        sent[f"@cb{r}"] = ids
    return sent


def monitor_for(fake: FakeTikTok, rooms, **kwargs) -> Monitor:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("sign_limiter", SignLimiter(rate=500, burst=50))
    return Monitor(rooms, settings=fake.settings(**FAST), **kwargs)


class Ended:
    """A sync callback (it runs on arrival) that counts the rooms whose stream ended."""

    def __init__(self, rooms: int) -> None:
        self.rooms = rooms
        self.keys: set[str] = set()
        self.all = asyncio.Event()

    def __call__(self, room, event) -> None:
        if type(event).__name__ == "LiveEndEvent":
            self.keys.add(room.key)
            if len(self.keys) == self.rooms:
                self.all.set()


class Peak:
    """tracemalloc's peak inside ``with peak:``, above what was allocated when it began."""

    above = 0

    def __enter__(self) -> None:
        self.start = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()

    def __exit__(self, *exc: object) -> None:
        self.above = tracemalloc.get_traced_memory()[1] - self.start


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


@pytest.fixture
def traced():
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


async def test_a_slow_async_callback_keeps_arrival_order_and_flat_memory(fake, traced):
    sent = add_rooms(fake)
    total = sum(map(len, sent.values()))
    monitor = monitor_for(fake, list(sent), max_queue=64)
    arrived: list[tuple[str, int]] = []
    handled: list[tuple[str, int]] = []
    active, most_active, fullest = [0], [0], [0]
    ended = Ended(ROOMS)

    @monitor.on(CommentEvent)
    def on_arrival(room, event) -> None:  # sync: runs as the event arrives
        arrived.append((room.key, event.msg_id))
        fullest[0] = max(fullest[0], monitor.callback_queue.pending)

    @monitor.on(CommentEvent)
    async def slow(room, event) -> None:
        active[0] += 1
        most_active[0] = max(most_active[0], active[0])
        await asyncio.sleep(0)  # the sleep: every other task runs before the next call
        await asyncio.sleep(0)
        handled.append((room.key, event.msg_id))
        active[0] -= 1

    monitor.on(object, ended)
    memory = Peak()
    with memory:
        async with monitor:
            await asyncio.wait_for(ended.all.wait(), HANG_GUARD)
            await asyncio.wait_for(monitor.callback_queue.join(), HANG_GUARD)
            queue = monitor.callback_queue
            assert queue.dropped == 0 and queue.done == total and queue.pending == 0
    per_room = defaultdict(list)
    for key, mid in handled:
        per_room[key].append(mid)
    assert per_room == sent  # every comment once, in each room's order
    assert sorted(handled) == sorted(arrived)  # and nothing else
    assert most_active[0] == 1  # one task: a call never runs beside another
    assert fullest[0] == 64  # the rooms were faster: they waited on a full queue...
    assert memory.above < PEAK_BUDGET, memory.above  # ...so memory stayed flat
    assert monitor.stats.dropped == 0


async def test_drop_oldest_counts_every_dropped_call_and_keeps_the_rest_in_order(fake, traced):
    sent = add_rooms(fake)
    total = sum(map(len, sent.values()))
    monitor = monitor_for(fake, list(sent), max_queue=16, overflow="drop_oldest")
    arrived: Counter[str] = Counter()
    handled: list[tuple[str, int]] = []
    ended = Ended(ROOMS)

    @monitor.on(CommentEvent)
    def on_arrival(room, event) -> None:
        arrived[room.key] += 1

    @monitor.on(CommentEvent)
    async def slow(room, event) -> None:
        await asyncio.sleep(0.0005)  # far slower than ten rooms at full speed
        handled.append((room.key, event.msg_id))

    monitor.on(object, ended)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a dropped call is closed, not leaked
        memory = Peak()
        with memory:
            async with monitor:
                await asyncio.wait_for(ended.all.wait(), HANG_GUARD)
                await asyncio.wait_for(monitor.callback_queue.join(), HANG_GUARD)
                queue = monitor.callback_queue
                per_room_drops = {key: room.stats.dropped for key, room in monitor.rooms.items()}
        gc.collect()
    assert sum(arrived.values()) == total
    assert queue.dropped > 0 and len(handled) + queue.dropped == total  # never silent
    assert queue.done == len(handled)
    assert sum(per_room_drops.values()) == queue.dropped == monitor.stats.dropped
    per_room = defaultdict(list)
    for key, mid in handled:
        per_room[key].append(mid)
    for key in sent:
        ids = per_room[key]
        assert ids == sorted(set(ids)) and set(ids) <= set(sent[key])  # order kept, none twice
        assert len(ids) + per_room_drops[key] == arrived[key]  # each room's drops, exactly
    assert memory.above < PEAK_BUDGET, memory.above


async def test_a_slow_room_callback_slows_only_its_own_room(fake):
    sent = add_rooms(fake, rooms=2, frames=20)
    monitor = monitor_for(fake, list(sent), max_queue=4)
    gate = asyncio.Event()
    slow_seen: list[int] = []
    other_seen: list[int] = []
    slow_room = monitor.room("@cb0")

    @slow_room.on(CommentEvent)
    async def held(room, event) -> None:
        await gate.wait()  # stuck until the other room is done
        slow_seen.append(event.msg_id)

    @monitor.on(CommentEvent)
    def everyone(room, event) -> None:
        if room.key == "@cb1":
            other_seen.append(event.msg_id)

    async with monitor:
        other = monitor.room("@cb1")
        await fake.wait_for(lambda: other.sessions and other.state is RoomState.WAITING, HANG_GUARD)
        assert other_seen == sent["@cb1"]  # the other room ran to its end meanwhile
        assert slow_room.callback_queue.pending == 4 and slow_room.state is RoomState.LIVE
        assert monitor.callback_queue.pending == 0  # sync callbacks never queue
        gate.set()
        await fake.wait_for(lambda: len(slow_seen) == len(sent["@cb0"]), HANG_GUARD)
    assert slow_seen == sent["@cb0"]  # held back, then all of it, in order


async def test_failing_callbacks_are_logged_and_close_awaits_what_is_queued(fake, caplog):
    sent = add_rooms(fake, rooms=1, frames=5)
    monitor = monitor_for(fake, list(sent))
    seen: list[int] = []
    release = asyncio.Event()

    @monitor.on(CommentEvent)
    async def flaky(room, event) -> None:
        await release.wait()
        if event.msg_id % 2:
            raise RuntimeError("odd one")
        seen.append(event.msg_id)

    caplog.set_level(logging.ERROR, logger="fastlive.monitor")
    async with monitor:
        await fake.wait_for(lambda: monitor.callback_queue.pending >= 10, HANG_GUARD)
        release.set()  # from here, aclose (leaving the block) awaits every queued call
    expected = [m for m in sent["@cb0"] if m % 2 == 0]
    assert seen == expected
    failures = [r for r in caplog.records if "raised on CommentEvent of @cb0" in r.getMessage()]
    assert len(failures) == len(sent["@cb0"]) - len(expected)  # each one logged, none fatal
    assert monitor.callback_queue.done == len(sent["@cb0"])


async def test_closing_from_inside_a_callback_does_not_wait_for_itself(fake):
    sent = add_rooms(fake, rooms=1, frames=3)
    monitor = monitor_for(fake, list(sent))
    closed = asyncio.Event()

    @monitor.on(CommentEvent)
    async def stop(room, event) -> None:
        await monitor.aclose()
        closed.set()

    await monitor.start()
    await asyncio.wait_for(closed.wait(), HANG_GUARD)
    await asyncio.wait_for(monitor.callback_queue.join(), HANG_GUARD)  # the rest ran too
    assert not monitor.running and monitor.callback_queue.done >= 1


async def test_dropped_calls_are_closed_unrun(fake):
    monitor = monitor_for(fake, ["@nobody"], max_queue=2, overflow="drop_oldest")
    room = monitor.room("@nobody")
    ran: list[int] = []

    async def call(room, n) -> None:
        ran.append(n)

    queue = monitor.callback_queue
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for n in range(5):  # nothing runs in between: the task is not scheduled yet
            await queue.put(room, call, n, call(room, n))
        await queue.join()
        gc.collect()
    assert ran == [3, 4] and queue.dropped == 3 and room.stats.dropped == 3
    await monitor.aclose()
    with pytest.raises(ValueError):
        Monitor(max_queue=0, settings=fake.settings())
