"""The Monitor end to end against ``FakeTikTok``: many rooms going live and ending at
different times, signer 429s, dropped sockets, slow consumers, streaks, recording.

Every check is on what the consumer received compared with what the fake sent:
each message exactly once, or counted as dropped under ``drop_oldest``.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

import fastlive
from fastlive import BaseEvent, CommentEvent, GiftStreakEvent, Monitor
from fastlive.cli.stats import stats_table
from fastlive.monitor.limits import SignLimiter
from fastlive.record.frames import FETCH, FRAME, META, SENT, read_records
from fastlive.stats import RoomState
from fastlive.testing import FakeTikTok, chat, gift, make_user

BASE_ROOM = 7_400_000_000_000_100_000
USER = make_user(7_300_000_000_000_000_001, "Alice A", "alice.a", fan_club_name="")
FAST = {
    "connect": "signed",
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "reconnect_attempts": 5,
    "stall_timeout": 2.0,
}


def traffic(room_id: int, frames: int, per_frame: int = 3, start: int = 0) -> list[list]:
    """Comments with msg ids unique across rooms: room_id * 1000 + n."""
    out, n = [], start
    for _ in range(frames):
        batch = []
        for _ in range(per_frame):
            n += 1
            msg_id = (room_id - BASE_ROOM) * 100_000 + n
            batch.append(
                ("WebcastChatMessage", chat(f"m{n}", USER, msg_id=msg_id, room_id=room_id), msg_id)
            )
        out.append(batch)
    return out


def sent_ids(frames: list[list]) -> set[int]:
    return {m[2] for batch in frames for m in batch}


def monitor_for(fake: FakeTikTok, rooms=(), **kwargs) -> Monitor:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("sign_limiter", SignLimiter(rate=200, burst=20))
    return Monitor(rooms, settings=fake.settings(**FAST), **kwargs)


async def collect(monitor: Monitor, until, timeout: float = 10.0, **events_kwargs):
    """Consume ``monitor.events()`` until ``until(received)`` holds."""
    received: list = []
    stream = monitor.events(**events_kwargs)

    async def run() -> None:
        async for room, event in stream:
            received.append((room, event))
            if until(received):
                return

    await asyncio.wait_for(run(), timeout)
    return received, stream


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


async def test_rooms_going_live_and_ending_at_different_times(fake):
    frames = {}
    for i in range(6):
        rid = BASE_ROOM + i
        frames[rid] = traffic(rid, 4)
        fake.add_room(
            f"host{i}", room_id=rid, frames=frames[rid], ends=True, live=i < 3, interval=0.01 * i
        )
    states: list[tuple[str, str, str]] = []
    monitor = monitor_for(fake, [f"@host{i}" for i in range(6)])
    monitor.add_state_listener(lambda r, old, new: states.append((r.key, old.value, new.value)))
    expected = set().union(*(sent_ids(f) for f in frames.values()))

    async def later() -> None:  # the other three go live one after the other
        for i in range(3, 6):
            await asyncio.sleep(0.15)
            fake.room(f"host{i}").live = True

    async with monitor:
        asyncio.ensure_future(later())
        received, _ = await collect(
            monitor, lambda got: sum(type(e).__name__ == "LiveEndEvent" for _, e in got) == 6
        )
        await fake.wait_for(
            lambda: all(r.state is RoomState.WAITING for r in monitor.rooms.values())
        )
        ids = [e.msg_id for _, e in received if isinstance(e, CommentEvent)]
        assert len(ids) == len(set(ids)) and set(ids) == expected  # each exactly once
        for room, event in received:
            if isinstance(event, BaseEvent):
                assert event.room_id == room.room_id
        for i in range(6):
            path = [s[1:] for s in states if s[0] == f"@host{i}"]
            assert path[:5] == [
                ("idle", "waiting"),
                ("waiting", "connecting"),
                ("connecting", "live"),
                ("live", "ended"),
                ("ended", "waiting"),
            ]
        stats = monitor.stats
        assert stats.events["CommentEvent"] == len(expected)
        assert stats.events["LiveEndEvent"] == 6 and stats.dropped == 0
        assert stats.frames >= 6 * 4 and stats.bytes > 0
        assert stats.last_event_time is not None
        table = stats_table(monitor)
        assert "@host5" in table and table.splitlines()[-1].startswith("total")
        # a room that ended is watched again: it goes live a second time
        room0 = fake.room("host0")
        more = traffic(BASE_ROOM, 2, start=100)
        room0.ends = False
        room0.push(*more)
        room0.live = True
        room0.end()
        again, _ = await collect(
            monitor, lambda got: any(type(e).__name__ == "LiveEndEvent" for _, e in got)
        )
        assert {e.msg_id for _, e in again if isinstance(e, CommentEvent)} == sent_ids(more)
        assert monitor.room("@host0").sessions == 2


async def test_signer_429s_and_dropped_sockets_lose_and_repeat_nothing(fake):
    frames = {}
    for i in range(4):
        rid = BASE_ROOM + i
        frames[rid] = traffic(rid, 8)
        fake.add_room(
            f"host{i}",
            room_id=rid,
            frames=frames[rid],
            ends=True,
            sign_rate_limit=1 if i % 2 == 0 else 0,
            retry_after=0.2,
            drop_after=3,
            drop_times=2,
            resend=2,
        )
    limiter = SignLimiter(rate=100, burst=10)
    monitor = monitor_for(fake, [BASE_ROOM + i for i in range(4)], sign_limiter=limiter)
    expected = set().union(*(sent_ids(f) for f in frames.values()))
    async with monitor:
        received, _ = await collect(
            monitor, lambda got: sum(type(e).__name__ == "LiveEndEvent" for _, e in got) == 4
        )
    ids = [e.msg_id for _, e in received if isinstance(e, CommentEvent)]
    assert Counter(ids).most_common(1)[0][1] == 1 and set(ids) == expected
    stats = monitor.stats
    assert stats.reconnects >= 8  # two drops per room
    assert len(fake.requests_to("/webcast/fetch")) >= 4 + 8 + 2
    assert stats.rate_limited + limiter.stats.rate_limited >= 2  # the 429s were seen


async def test_slow_consumer_drop_oldest_counts_every_drop(fake):
    rid = BASE_ROOM
    frames = traffic(rid, 40, per_frame=5)
    fake.add_room("busy", room_id=rid, frames=frames, ends=True)
    monitor = monitor_for(fake, ["@busy"], overflow="drop_oldest", max_queue=10)
    delivered = Counter()
    monitor.add_listener(object, lambda room, event: delivered.update([type(event).__name__]))
    got: list = []
    async with monitor:
        stream = monitor.events()
        async for room, event in stream:
            got.append(event)
            await asyncio.sleep(0.002)  # slower than the room
            if monitor.room("@busy").state is RoomState.WAITING and stream.pending == 0:
                break
    total = sum(delivered.values())
    assert stream.dropped > 0
    assert len(got) + stream.dropped == total  # never silent
    assert monitor.stats.dropped == stream.dropped
    ids = [e.msg_id for e in got if isinstance(e, CommentEvent)]
    assert len(ids) == len(set(ids)) and set(ids) <= sent_ids(frames)


async def test_slow_consumer_block_loses_nothing(fake):
    rid = BASE_ROOM
    frames = traffic(rid, 20, per_frame=5)
    fake.add_room("busy", room_id=rid, frames=frames, ends=True)
    monitor = monitor_for(fake, ["@busy"], max_queue=5)
    async with monitor:
        got = []
        async for _, event in monitor.events():
            got.append(event)
            await asyncio.sleep(0.001)
            if type(event).__name__ == "LiveEndEvent":
                break
    assert {e.msg_id for e in got if isinstance(e, CommentEvent)} == sent_ids(frames)
    assert monitor.stats.dropped == 0


async def test_add_and_remove_at_runtime_and_failures(fake):
    fake.add_room("first", room_id=BASE_ROOM, frames=traffic(BASE_ROOM, 200), interval=0.02)
    fake.add_room("second", room_id=BASE_ROOM + 1, frames=traffic(BASE_ROOM + 1, 2))
    monitor = monitor_for(fake)
    per_room: list = []
    async with monitor:
        first = monitor.add("first")
        first.on(CommentEvent, lambda room, event: per_room.append(room.key))
        assert monitor.add("@First") is first  # same room, same entry
        await fake.wait_for(lambda: first.state is RoomState.LIVE)
        second = monitor.add(BASE_ROOM + 1)  # by room id
        await fake.wait_for(lambda: second.state is RoomState.LIVE)
        ghost = monitor.add("@nobody.here")
        await fake.wait_for(lambda: ghost.state is RoomState.FAILED)
        assert type(ghost.error).__name__ == "UserNotFoundError"
        await fake.wait_for(lambda: len(per_room) >= 3)
        await monitor.remove("@first")
        assert "@first" not in monitor.rooms and first.state is RoomState.ENDED
        assert first.client is None
        n = len(per_room)
        await asyncio.sleep(0.1)
        assert len(per_room) == n and set(per_room) == {"@first"}  # room callbacks only
        assert monitor.stats.events["CommentEvent"] >= n  # removed rooms still count
        with pytest.raises(KeyError):
            monitor.room("@first")


async def test_gift_streaks_through_the_monitor(fake):
    rid = BASE_ROOM

    def g(count: int, end: int, msg_id: int, group: int):
        payload = gift(
            5487,
            "Finger Heart",
            5,
            1,
            USER,
            repeat_count=count,
            repeat_end=end,
            group_id=group,
            msg_id=msg_id,
            room_id=rid,
        )
        return ("WebcastGiftMessage", payload, msg_id)

    frames = [
        [g(1, 0, 1, 10)],
        [g(2, 0, 2, 10)],
        [g(3, 1, 3, 10)],
        [g(1, 0, 4, 11)],
        [g(4, 0, 5, 11)],
    ]  # the second streak never ends
    fake.add_room("giver", room_id=rid, frames=frames)
    monitor = monitor_for(fake, ["@giver"], gift_streaks=True, streak_timeout=0.2)
    async with monitor:
        received, _ = await collect(
            monitor,
            lambda got: sum(isinstance(e, GiftStreakEvent) for _, e in got) == 2,
        )
    streaks = [e for _, e in received if isinstance(e, GiftStreakEvent)]
    assert [(s.count, s.diamonds, s.timed_out) for s in streaks] == [(3, 15, False), (4, 20, True)]
    assert sum(type(e).__name__ == "GiftEvent" for _, e in received) == 5


async def test_recording_and_replaying_through_the_fake(fake, tmp_path):
    rid = BASE_ROOM
    frames = traffic(rid, 5)
    fake.add_room("rec", room_id=rid, frames=frames, ends=True)
    monitor = monitor_for(fake, ["@rec"], record_dir=tmp_path)
    async with monitor:
        delivered, _ = await collect(
            monitor, lambda got: type(got[-1][1]).__name__ == "LiveEndEvent"
        )
    records = list(read_records(tmp_path / "rec.flrec"))
    assert records[0].kind == META and records[1].kind == FETCH  # signed: the fetch result
    meta = records[0].meta()
    assert meta["room_id"] == rid and meta["unique_id"] == "rec" and meta["mode"] == "signed"
    assert meta["fastlive"] == fastlive.__version__ and meta["session"] == 1
    assert [r.kind for r in records].count(META) == 1 and SENT in {r.kind for r in records}
    recorded = [r.data for r in records if r.kind == FRAME]
    assert len(recorded) >= 6  # the traffic and the stream end (server hb frames too)
    events = [e for data in recorded for e in fastlive.decode(data).events]
    assert events == [e for _, e in delivered if isinstance(e, BaseEvent)]
    # the recording drives a fresh room on another fake: same events again
    async with FakeTikTok() as other:
        other.add_room("replayed", room_id=rid, frames=recorded)
        monitor2 = Monitor(["@replayed"], settings=other.settings(**FAST), poll_interval=0.05)
        async with monitor2:
            received, _ = await collect(
                monitor2, lambda got: type(got[-1][1]).__name__ == "LiveEndEvent"
            )
    assert {e.msg_id for _, e in received if isinstance(e, CommentEvent)} == sent_ids(frames)


async def test_two_monitors_share_nothing(fake):
    a, b = monitor_for(fake), monitor_for(fake)
    assert a.http is not b.http and a.sign_limiter is not b.sign_limiter
    await a.aclose()
    await b.aclose()
    with pytest.raises(ValueError):
        Monitor(overflow="drop_newest")  # type: ignore[arg-type]


def test_the_rooms_benchmark_runs(tmp_path):
    """``benchmarks/bench_rooms.py`` in miniature (the 300-room run is outside CI)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_rooms.py"
    out = tmp_path / "rooms.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--quick",
            "--rooms",
            "5",
            "--only",
            "fastlive",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(out.read_text())["results"]
    assert result["events"] == result["expected"] > 0
    assert "| fastlive | 5 |" in done.stdout
