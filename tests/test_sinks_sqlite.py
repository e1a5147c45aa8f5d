"""SQLite, the default sink, in a temporary file: what the fake sent is stored once, the gift rows
are the streaks, a second run or a replay adds nothing, and a database that is locked away
spills to the local file and is written back in order when it returns: none lost, none twice."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from pathlib import Path

import pytest

from fastlive._decode import decode_message
from fastlive.events import BaseEvent, GiftStreakEvent, SocialEvent
from fastlive.exceptions import SinkError
from fastlive.monitor import Monitor
from fastlive.monitor.limits import SignLimiter
from fastlive.sinks import BufferedSink, SQLiteSink, open_sink
from fastlive.sinks.sqlite import MIGRATIONS
from fastlive.stats import RoomState
from fastlive.testing import (
    FakeTikTok,
    chat,
    gift,
    make_user,
    random_traffic,
    room_user_seq,
    social_follow,
    social_share,
)

BASE_ROOM = 7_400_000_000_000_300_000
ALICE = make_user(7_300_000_000_000_000_001, "Alice A", "alice.a", fan_club_name="")
BOB = make_user(7_300_000_000_000_000_002, "Bob B", "bob.b", fan_club_name="")
T0 = 1_767_225_600_000
FAST = {
    "connect": "signed",
    "backoff_initial": 0.05,
    "backoff_max": 0.2,
    "reconnect_attempts": 5,
    "stall_timeout": 2.0,
}
TABLES = ("events", "comments", "gifts", "rooms", "sessions")


def script(room_id: int) -> list[list]:
    """Comments, a follow, a share, viewer counts, a 3-message streak, a gift that does not
    streak and a streak that never ends (closed when the room ends): six frames."""
    base = (room_id - BASE_ROOM) * 1_000_000
    n = [0]

    def m(method: str, build, *args, **kwargs) -> tuple:
        n[0] += 1
        msg_id = base + n[0]
        ids = {"msg_id": msg_id, "room_id": room_id, "create_time": T0 + n[0] * 1000}
        return (method, build(*args, **kwargs, **ids), msg_id)

    def streak(user, count: int, end: bool, group: int) -> tuple:
        return m("WebcastGiftMessage", gift, 5655, "Rose", 5, 1, user, repeat_count=count,
                 repeat_end=int(end), group_id=group)  # fmt: skip

    return [
        [m("WebcastChatMessage", chat, f"hello {i}", ALICE) for i in range(3)],
        [m("WebcastSocialMessage", social_follow, BOB), m("WebcastSocialMessage", social_share)],
        [m("WebcastRoomUserSeqMessage", room_user_seq, 120), streak(ALICE, 1, False, 1)],
        [streak(ALICE, 2, False, 1), streak(ALICE, 3, True, 1), streak(BOB, 1, False, 2)],
        [m("WebcastGiftMessage", gift, 6064, "GG", 1, 0, BOB, repeat_count=1, repeat_end=0)],
        [m("WebcastRoomUserSeqMessage", room_user_seq, 340), streak(BOB, 2, False, 2),
         m("WebcastChatMessage", chat, "bye", BOB)],
    ]  # fmt: skip


def dump(path: Path) -> dict[str, list]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def same_rows(again: dict[str, list], first: dict[str, list]) -> None:
    """Nothing added: the same rows, but for the fake's stream-end message, which carries the
    wall clock (so ``rooms.last_seen`` and ``sessions.ended_at`` may move to the later end)."""
    for table in ("events", "comments", "gifts"):
        assert again[table] == first[table], table
    assert [r[:3] for r in again["rooms"]] == [r[:3] for r in first["rooms"]]
    strip = [(r[0], r[1], r[3]) for r in again["sessions"]]
    assert strip == [(r[0], r[1], r[3]) for r in first["sessions"]]


def monitor_for(fake: FakeTikTok, rooms, **kwargs) -> Monitor:
    return Monitor(
        rooms,
        settings=fake.settings(**FAST),
        poll_interval=0.05,
        sign_limiter=SignLimiter(rate=200, burst=20),
        **kwargs,
    )


async def watch_once(fake: FakeTikTok, rooms: list[str], sinks: list, **kwargs) -> list:
    """Run a Monitor with ``sinks`` until every room has ended once; what events() got."""
    monitor = monitor_for(fake, rooms, sinks=sinks, **kwargs)
    ended: set[str] = set()
    done = asyncio.Event()

    def on_state(room, old, new) -> None:
        if old is RoomState.LIVE and new is RoomState.ENDED:
            ended.add(room.key)
            if len(ended) == len(rooms):
                done.set()

    monitor.add_state_listener(on_state)
    received: list = []

    async def consume() -> None:
        async for room, event in monitor.events():
            received.append((room.key, event))

    async with monitor:
        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(done.wait(), 30)
    await asyncio.wait_for(task, 10)
    return received


@pytest.fixture
async def fake():
    async with FakeTikTok() as server:
        yield server


def add_rooms(fake: FakeTikTok, n: int, **options) -> dict[int, list]:
    sent = {}
    for i in range(n):
        rid = BASE_ROOM + i
        sent[rid] = script(rid)
        fake.add_room(f"db{i}", room_id=rid, frames=sent[rid], ends=True, **options)
    return sent


async def test_every_scripted_event_once_and_the_gifts_are_the_streaks(fake, tmp_path):
    sent = add_rooms(fake, 3, drop_after=3, resend=2)  # a reconnect re-sends two frames
    db = tmp_path / "events.db"
    received = await watch_once(
        fake, ["@db0", "@db1", str(BASE_ROOM + 2)], [open_sink(db)], gift_streaks=True
    )
    tables = dump(db)
    want = {(rid, msg[2]) for rid, frames in sent.items() for batch in frames for msg in batch}
    live_end = {(e.room_id, e.msg_id) for _, e in received if type(e).__name__ == "LiveEndEvent"}
    stored = [(r[0], r[1]) for r in tables["events"]]
    assert len(stored) == len(set(stored)) and set(stored) == want | live_end
    types = {(r[0], r[1]): r[2] for r in tables["events"]}
    assert sum(t == "FollowEvent" for t in types.values()) == 3
    assert sum(t == "ShareEvent" for t in types.values()) == 3
    # the data column is the schema's record
    record = json.loads(tables["events"][0][6])
    assert record["v"] == 1 and (record["room_id"], record["msg_id"]) == tables["events"][0][:2]
    # the gift rows are exactly the Monitor's streaks
    streaks = {
        (e.room_id, e.msg_id, e.user.unique_id, e.gift_id, e.count, e.diamonds)
        for _, e in received
        if isinstance(e, GiftStreakEvent)
    }
    gifts = {(r[0], r[1], r[4], r[5], r[7], r[8]) for r in tables["gifts"]}
    assert gifts == streaks and len(tables["gifts"]) == 9  # 3 per room
    per_room = sorted((r[4], r[6], r[7], r[8]) for r in tables["gifts"] if r[0] == BASE_ROOM)
    assert per_room == [("alice.a", "Rose", 3, 15), ("bob.b", "GG", 1, 1), ("bob.b", "Rose", 2, 10)]
    assert len(tables["comments"]) == 3 * 4
    assert {r[6] for r in tables["comments"]} == {"hello 0", "hello 1", "hello 2", "bye"}
    rooms = {r[0]: r[1] for r in tables["rooms"]}
    assert rooms == {BASE_ROOM: "db0", BASE_ROOM + 1: "db1", BASE_ROOM + 2: ""}
    sessions = tables["sessions"]
    assert [(s[0], s[3]) for s in sessions] == [(rid, 340) for rid in sorted(sent)]
    assert all(s[1] == T0 + 1000 and s[2] is not None and s[2] >= s[1] for s in sessions)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]


async def test_a_second_run_over_the_same_traffic_adds_nothing(fake, tmp_path):
    add_rooms(fake, 2)
    db = tmp_path / "events.db"
    await watch_once(fake, ["@db0", "@db1"], [open_sink(db)])  # streaks: tracked by the sink
    first = dump(db)
    assert len(first["gifts"]) == 6 and first["events"]
    async with FakeTikTok() as again:  # the same script, served afresh
        add_rooms(again, 2)
        await watch_once(again, ["@db0", "@db1"], [open_sink(db)], gift_streaks=True)
    same_rows(dump(db), first)


def events_of(seed: int, frames: int, room_id: int = BASE_ROOM) -> list:
    return [
        ("@r", room_id, decode_message(method, payload))
        for batch in random_traffic(seed, frames, room_id=room_id)
        for method, payload, _ in batch
    ]


async def test_a_locked_database_spills_and_is_written_back_in_order(tmp_path):
    db, spill = tmp_path / "events.db", tmp_path / "spill" / "events.spill"
    spill.parent.mkdir()
    sink = BufferedSink(
        SQLiteSink(db, busy_timeout=0.05),
        max_buffer=100,
        batch_size=50,
        flush_interval=0.01,
        spill_path=spill,
        retry_initial=0.02,
        retry_max=0.05,
    )
    await sink.open()
    items = events_of(5, 80)
    ids = [e.msg_id for _, _, e in items]
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        for item in items[: len(items) // 2]:
            sink.put(*item)
            await asyncio.sleep(0)
        for _ in range(500):
            if sink.down and sink.spill_pending:
                break
            await asyncio.sleep(0.01)
        assert sink.down and sink.spill_pending and sink.stats.failures
        assert sink.buffered <= sink.max_buffer + sink.batch_size  # bounded while down
    finally:
        lock.execute("COMMIT")
        lock.close()
    for item in items[len(items) // 2 :]:
        sink.put(*item)
    assert await sink.flush(timeout=30)
    await sink.aclose()
    assert not sink.down and sink.stats.dropped == 0 and sink.stats.spilled > 0
    with sqlite3.connect(db) as conn:
        stored = [r[0] for r in conn.execute("SELECT msg_id FROM events ORDER BY rowid")]
    assert stored == ids  # in order, none lost, none twice
    assert spill.stat().st_size == 0


async def test_a_spill_left_at_close_is_written_at_the_next_open(tmp_path):
    db = tmp_path / "events.db"
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    items = events_of(6, 20)
    sink = open_sink(db, retry_initial=0.02, retry_max=0.05, close_timeout=0.3)
    sink.sink.busy_timeout = 0.02
    await sink.open()
    for item in items:
        sink.put(*item)
    await sink.aclose()  # still locked: kept in events.db.spill
    lock.execute("COMMIT")
    lock.close()
    spill = tmp_path / "events.db.spill"
    assert spill.stat().st_size > 0 and sink.stats.dropped == 0
    again = open_sink(db)
    await again.open()
    assert await again.flush(timeout=30)
    await again.aclose()
    with sqlite3.connect(db) as conn:
        stored = [r[0] for r in conn.execute("SELECT msg_id FROM events ORDER BY rowid")]
    assert stored == [e.msg_id for _, _, e in items] and spill.stat().st_size == 0


class Broken:
    """A sink whose target is always down."""

    async def open(self) -> None:
        pass

    async def write(self, batch) -> None:
        raise ConnectionError("down")

    async def aclose(self) -> None:
        pass


async def test_without_a_spill_file_drops_are_counted():
    sink = BufferedSink(Broken(), max_buffer=10, batch_size=5, retry_initial=0.01, retry_max=0.01,
                        close_timeout=0.1)  # fmt: skip
    await sink.open()
    for item in events_of(7, 5)[:40]:
        sink.put(*item)
    assert sink.buffered <= 10
    await sink.aclose()
    assert sink.stats.received == 40 and sink.stats.dropped == 40 and sink.stats.written == 0


async def test_an_event_under_two_types_is_stored_once_as_the_specific_one(tmp_path):
    follow = decode_message("WebcastSocialMessage", social_follow(msg_id=11, room_id=BASE_ROOM))
    social = SocialEvent(follow.msg_id, follow.room_id, follow.create_time, follow.raw)
    for order in ((social, follow), (follow, social)):
        db = tmp_path / f"{type(order[0]).__name__}.db"
        sink = SQLiteSink(db)
        await sink.open()
        for event in order:
            await sink.write([("@a", BASE_ROOM, event)])
        await sink.aclose()
        assert [r[2] for r in dump(db)["events"]] == ["FollowEvent"]


async def test_the_schema_is_migrated_and_a_newer_one_refused(tmp_path):
    db = tmp_path / "events.db"
    sink = SQLiteSink(db)
    await sink.open()
    await sink.aclose()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (len(MIGRATIONS),)
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(SinkError, match="newer than this fastlive"):
        await SQLiteSink(db).open()
    with pytest.raises(SinkError, match="no such folder"):
        open_sink(tmp_path / "missing" / "events.db")
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SinkError, match="not a usable database"):
        await SQLiteSink(tmp_path / "junk.db").open()


async def test_a_locked_database_never_stalls_the_rooms(fake, tmp_path):
    sent = add_rooms(fake, 2)
    db = tmp_path / "events.db"
    sink = open_sink(db, retry_initial=0.02, retry_max=0.1, max_buffer=5, close_timeout=0.5)
    sink.sink.busy_timeout = 0.02
    await sink.open()  # the schema exists; then another process locks the file
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        received = await watch_once(fake, ["@db0", "@db1"], [sink])
        # every event reached the consumer while the database was locked
        got = {(e.room_id, e.msg_id) for _, e in received if isinstance(e, BaseEvent)}
        want = {(rid, m[2]) for rid, frames in sent.items() for batch in frames for m in batch}
        assert want <= got
        assert sink.stats.failures and sink.stats.dropped == 0
    finally:
        lock.execute("COMMIT")
        lock.close()
    spill = tmp_path / "events.db.spill"
    assert spill.stat().st_size > 0  # left there by the Monitor's close, for the next run
    again = open_sink(db)
    await again.open()
    assert await again.flush(timeout=30)
    await again.aclose()
    stored = [(r[0], r[1]) for r in dump(db)["events"]]
    assert len(stored) == len(set(stored)) and set(stored) == got


class Recorder:
    """A user's own sink: what it was given, batch by batch."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.opened = self.closed = False

    async def open(self) -> None:
        self.opened = True

    async def write(self, batch) -> None:
        self.batches.append(list(batch))

    async def aclose(self) -> None:
        self.closed = True


async def test_a_sink_of_ones_own_gets_every_event_in_order(fake):
    add_rooms(fake, 1)
    mine = Recorder()
    received = await watch_once(fake, ["@db0"], [mine])
    assert mine.opened and mine.closed
    given = [(key, event) for batch in mine.batches for key, _, event in batch]
    assert given == received


async def test_watch_db_end_to_end(fake, tmp_path):
    from test_cli import arun, run

    sent = add_rooms(fake, 2)
    db, rec = tmp_path / "events.db", tmp_path / "rec"
    args = ("watch", "@db0", "@db1", "--db", str(db), "--jsonl", "--once", "--record", str(rec),
            "--poll-interval", "0.05", "--duration", "30")  # fmt: skip
    code, out, err = await arun(fake, *args)
    assert code == 0, err
    printed = {
        (r["room_id"], r["msg_id"]): r
        for r in map(json.loads, out.splitlines())
        if r["msg_id"] and r["type"] != "GiftStreakEvent"
    }
    tables = dump(db)
    stored = {(r[0], r[1]): json.loads(r[6]) for r in tables["events"]}
    assert stored == printed  # the column holds exactly what --jsonl prints
    want = {(rid, m[2]) for rid, frames in sent.items() for batch in frames for m in batch}
    assert want <= set(stored) and len(tables["gifts"]) == 6
    assert f"{db}: " in err and " dropped" in err
    for room in ("db0", "db1"):  # the recordings, replayed into the same database: nothing new
        done = await asyncio.to_thread(run, "replay", str(rec / f"{room}.flrec"), "--db", str(db))
        assert done.returncode == 0, done.stderr
        assert f"from @{room} into {db}" in done.stderr
        fresh = tmp_path / "fresh.db"
        done = await asyncio.to_thread(
            run, "replay", str(rec / f"{room}.flrec"), "--db", str(fresh)
        )
        assert done.returncode == 0, done.stderr
    same_rows(dump(db), tables)
    same_rows(dump(fresh), tables)  # a recording replayed gives the rows its watch stored
    async with FakeTikTok() as again:  # the same rooms, afresh: nothing new
        add_rooms(again, 2)
        code, out, err = await arun(again, *args)
    assert code == 0, err
    same_rows(dump(db), tables)


async def test_a_torn_spill_keeps_every_whole_record(tmp_path):
    db, spill = tmp_path / "events.db", tmp_path / "events.db.spill"
    items = events_of(8, 4)
    down = BufferedSink(Broken(), spill_path=spill, close_timeout=0.05, retry_initial=0.01)
    await down.open()
    for item in items:
        down.put(*item)
    await down.aclose()  # all of it in the spill file
    os.truncate(spill, spill.stat().st_size - 7)  # the process died mid-write: a torn record
    sink = open_sink(db)
    await sink.open()
    assert await sink.flush(timeout=30)
    await sink.aclose()
    stored = [r[1] for r in dump(db)["events"]]
    assert sorted(stored) == sorted(e.msg_id for _, _, e in items[:-1])
