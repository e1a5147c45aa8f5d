"""PostgresSink against a real PostgreSQL: a throwaway cluster started here (``tests/pg.py``).

What the tables must hold after a scripted show (chat, likes, joins, follows, shares, viewer
counts, gift streaks, the stream's end): every message once, under its most specific type,
with the schema's record as ``data``; one gift row per streak with its diamonds; replaying
the same events adds nothing; and a server stopped mid-run (``pg_ctl stop -m fast``) then
started again loses nothing and stores nothing twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

import fastlive
from fastlive.events import BaseEvent, FollowEvent, GiftEvent, SocialEvent
from fastlive.exceptions import SinkError, SinkUnavailableError
from fastlive.schema import event_record
from fastlive.sinks import BufferedSink
from fastlive.sinks.postgres import PostgresSink, redact_dsn
from fastlive.streaks import StreakTracker
from fastlive.testing import (
    DEFAULT_TIME_MS,
    control,
    fetch_result,
    gift,
    make_user,
    push_frame,
    random_traffic,
    room_user_seq,
    social_follow,
)
from pg import PgCluster, cluster

ROOM_ID = 7_400_000_000_000_200_000
GIVER = make_user(7_300_000_000_000_000_042, "Gina Giver", "gina.giver")
_names = itertools.count()


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCluster]:
    yield from cluster()


@pytest.fixture
def dsn(pg: PgCluster) -> str:
    """A fresh, empty database of the module's cluster."""
    name = f"t{next(_names)}"
    pg.psql(f"CREATE DATABASE {name}")
    return pg.dsn(name)


def show(room_id: int = ROOM_ID, seed: int = 3, n_frames: int = 30) -> list[list[tuple]]:
    """A room's whole stream: random traffic with gift streaks woven in, then its end.

    Two streaks end with ``repeat_end``; one never ends (it is closed as timed out); then a
    viewer count, and the stream ends with a ``LiveEndEvent``.
    """
    frames = [list(batch) for batch in random_traffic(seed, n_frames, room_id)]
    msg_id = 7_450_000_000_900_000_000 + seed * 1_000
    rng = random.Random(seed)
    timed = [[(*m, _time(m[0], m[1])) for m in batch] for batch in frames]

    def streak(gift_id: int, name: str, diamonds: int, count: int, end: bool, group: int) -> None:
        """A streak's messages over three frames from a random one, each timed after its
        frame's traffic (a streak lasts seconds: the rows close one silent for 10 s)."""
        nonlocal msg_id
        start = rng.randrange(len(timed) - 3)
        for n in range(1, count + 1):
            msg_id += 1
            batch = timed[start + (n - 1) * 3 // count]
            t = max(m[3] for m in batch) + n
            payload = gift(gift_id, name, diamonds, 1, GIVER, repeat_count=n,
                           repeat_end=int(end and n == count), group_id=group, msg_id=msg_id,
                           room_id=room_id, create_time=t)  # fmt: skip
            batch.append(("WebcastGiftMessage", payload, msg_id, t))

    streak(5655, "Rose", 1, 7, True, 100)
    streak(5487, "Finger Heart", 5, 3, True, 101)
    streak(6064, "GG", 1, 4, False, 102)  # never ends: closed with the stream
    for batch in timed:  # time order, as TikTok sends them
        batch.sort(key=lambda m: m[3])
    frames = [[m[:3] for m in batch] for batch in timed]
    t = DEFAULT_TIME_MS + 10**7
    frames.append([(
        "WebcastRoomUserSeqMessage",
        room_user_seq(9_999, 70_000, msg_id=msg_id + 1, room_id=room_id, create_time=t + 1),
        msg_id + 1,
    )])  # fmt: skip
    frames.append([
        ("WebcastControlMessage", control(3, msg_id=msg_id + 2, room_id=room_id,
                                          create_time=t + 2), msg_id + 2)
    ])  # fmt: skip
    return frames


def _time(method: str, payload: bytes) -> int:
    """create_time of a factory message (read by the library's own decoder)."""
    return fastlive.decode_message(method, payload).create_time


def decoded(frames: list[list[tuple]]) -> list[BaseEvent]:
    """The events the decoder makes of the frames, in order."""
    return [
        e for f in frames for e in fastlive.decode(push_frame(fetch_result(f), log_id=1)).events
    ]


def with_streaks(room_key: str, events: list[Any]) -> list[list[tuple[str, int, Any]]]:
    """The events as a Monitor with ``gift_streaks`` delivers them, one batch per 25: each
    streak's GiftStreakEvent after its last message, the unfinished ones at the end.  The
    sink tracks streaks itself: these are the oracle, and must not be stored twice."""
    tracker = StreakTracker(timeout=10.0)
    out: list[tuple[str, int, Any]] = []
    for e in events:
        out.append((room_key, e.room_id, e))
        if type(e) is GiftEvent:
            final = tracker.feed(e, now=0.0)
            if final is not None:
                out.append((room_key, final.room_id, final))
    out.extend((room_key, f.room_id, f) for f in tracker.flush())
    return [out[i : i + 25] for i in range(0, len(out), 25)]


def streaks_of(batches: list[list[tuple]]) -> set[tuple[int, int, int]]:
    return {
        (e.msg_id, e.count, e.diamonds)
        for batch in batches
        for _, _, e in batch
        if type(e).__name__ == "GiftStreakEvent"
    }


async def fetch(dsn: str, sql: str) -> list[tuple]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def counts(dsn: str) -> dict[str, int]:
    tables = ("events", "comments", "gifts", "rooms", "sessions")
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    return dict(await fetch(dsn, sql))


async def assert_show_stored(dsn: str, events: list[BaseEvent], batches: list) -> None:
    """Every message once with its record as data; gifts equal to the streaks; one session."""
    rows = await fetch(dsn, "SELECT room_id, msg_id, type, data::text FROM events")
    stored = {(r[0], r[1]): (r[2], json.loads(r[3])) for r in rows}
    assert len(stored) == len(rows) == len({(e.room_id, e.msg_id) for e in events})
    for e in events:
        kind, data = stored[e.room_id, e.msg_id]
        assert kind == type(e).__name__
        assert data == event_record("@show", e.room_id, e)
    gifts = await fetch(dsn, "SELECT msg_id, repeat_count, diamonds FROM gifts")
    expected = streaks_of(batches)
    assert len(expected) >= 3 and {(7, 7), (3, 15), (4, 4)} <= {(c, d) for _, c, d in expected}
    assert sorted(gifts) == sorted(expected)
    n_comments = sum(type(e).__name__ == "CommentEvent" for e in events)
    assert (await counts(dsn))["comments"] == n_comments
    sessions = await fetch(dsn, "SELECT room_id, started_at, ended_at, peak_viewers FROM sessions")
    times = [e.create_time for e in events]
    assert sessions == [(ROOM_ID, times[0], times[-1], 9_999)]
    room = await fetch(dsn, "SELECT room_id, unique_id, first_seen, last_seen FROM rooms")
    assert room[0][:3] == (ROOM_ID, "show", min(times)) and room[0][3] >= max(times)
    assert len(room) == 1  # last_seen: the client's own events count at the wall clock


async def test_a_show_is_stored_once_and_a_replay_adds_nothing(dsn):
    events = decoded(show())
    batches = with_streaks("@show", events)
    async with PostgresSink(dsn) as sink:
        for batch in batches:
            await sink.write(batch)
    await assert_show_stored(dsn, events, batches)
    before = await counts(dsn)
    async with PostgresSink(dsn) as again:  # a new process replaying the same recording
        for batch in batches:
            await again.write(batch)
        await again.write([item for batch in batches for item in batch])  # and in one batch
    assert await counts(dsn) == before
    await assert_show_stored(dsn, events, batches)


async def test_the_tables_and_their_version(dsn):
    async with PostgresSink(dsn):
        pass
    assert await fetch(dsn, "SELECT version FROM schema_version") == [(1,)]
    columns = await fetch(
        dsn,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    by_table: dict[str, list[str]] = {}
    for table, column, kind in columns:
        by_table.setdefault(table, []).append(column)
        if column.endswith("id") and column != "unique_id":
            assert kind == "bigint", (table, column)
        if column == "data":
            assert kind == "jsonb"
    assert by_table == {
        "comments": ["room_id", "msg_id", "create_time", "user_id", "unique_id", "nickname",
                     "comment"],
        "events": ["room_id", "msg_id", "type", "create_time", "user_id", "unique_id", "data"],
        "gifts": ["room_id", "msg_id", "create_time", "user_id", "unique_id", "gift_id",
                  "gift_name", "repeat_count", "diamonds"],
        "rooms": ["room_id", "unique_id", "first_seen", "last_seen"],
        "schema_version": ["version"],
        "sessions": ["room_id", "started_at", "ended_at", "peak_viewers"],
    }  # fmt: skip
    async with PostgresSink(dsn):  # opening again migrates nothing
        pass
    assert await fetch(dsn, "SELECT version FROM schema_version") == [(1,)]
    import asyncpg

    conn = await asyncpg.connect(dsn)
    await conn.execute("UPDATE schema_version SET version = 99")
    await conn.close()
    with pytest.raises(SinkError, match="version 99.*upgrade fastlive"):
        await PostgresSink(dsn).open()


async def test_a_follow_is_stored_once_under_its_own_type(dsn):
    """The same message as SocialEvent and FollowEvent: one row, labelled FollowEvent."""
    payload = social_follow(GIVER, msg_id=11, room_id=ROOM_ID, create_time=DEFAULT_TIME_MS)
    (follow,) = decoded([[("WebcastSocialMessage", payload, 11)]])
    assert type(follow) is FollowEvent
    fields = {f: getattr(follow, f) for f in follow.__struct_fields__}
    social = SocialEvent(**fields)
    other = FollowEvent(**{**fields, "msg_id": 12})
    async with PostgresSink(dsn) as sink:
        await sink.write([("@show", ROOM_ID, social)])
        await sink.write([("@show", ROOM_ID, follow), ("@show", ROOM_ID, social)])
        await sink.write([("@show", ROOM_ID, other), ("@show", ROOM_ID, SocialEvent(**{
            **fields, "msg_id": 12})), ("@show", ROOM_ID, other)])  # fmt: skip
    rows = await fetch(dsn, "SELECT msg_id, type, data->>'type' FROM events ORDER BY msg_id")
    assert rows == [(11, "FollowEvent", "FollowEvent"), (12, "FollowEvent", "FollowEvent")]


async def test_the_server_stopped_mid_run_loses_nothing_and_stores_nothing_twice(pg, dsn, tmp_path):
    """Through BufferedSink, as ``open_sink`` gives it: while the server is down the writes
    fail, the buffer spills to the local file; once it is back the sink connects again by
    itself and the spill is written back: every message once, the same rows as without."""
    events = decoded(show(seed=5))
    items = [item for batch in with_streaks("@show", events) for item in batch]
    half = len(items) // 2
    sink = BufferedSink(
        PostgresSink(dsn, connect_timeout=2.0),
        max_buffer=40,
        batch_size=25,
        flush_interval=0.01,
        spill_path=tmp_path / "pg.spill",
        retry_initial=0.02,
        retry_max=0.1,
    )
    await sink.open()
    for item in items[:half]:
        sink.put(*item)
    assert await sink.flush(timeout=60)
    pg.stop()
    try:
        for item in items[half:-10]:
            sink.put(*item)
            await asyncio.sleep(0)
        for _ in range(1_000):  # hang guard only
            if sink.down and sink.spill_pending:
                break
            await asyncio.sleep(0.01)
        assert sink.down and sink.spill_pending and sink.stats.failures
        assert isinstance(sink.last_error, SinkUnavailableError)
        assert sink.buffered <= sink.max_buffer + sink.batch_size  # bounded while down
    finally:
        pg.start()
    for item in items[-10:]:
        sink.put(*item)
    assert await sink.flush(timeout=60)
    await sink.aclose()
    assert not sink.down and sink.stats.dropped == 0 and sink.stats.spilled > 0
    assert not (tmp_path / "pg.spill").stat().st_size
    await assert_show_stored(dsn, events, with_streaks("@show", events))


async def test_a_lost_connection_is_made_again_on_the_next_write(pg, dsn):
    """Without a wrapper: the write while down raises SinkUnavailableError; the same batch
    written again once the server is back lands, from a new connection, exactly once."""
    events = decoded(show(seed=7))
    batches = with_streaks("@show", events)
    sink = PostgresSink(dsn, connect_timeout=2.0)
    await sink.open()
    await sink.write(batches[0])
    pg.stop()
    try:
        with pytest.raises(SinkUnavailableError, match="unavailable while writing"):
            await sink.write(batches[1])
        with pytest.raises(SinkUnavailableError, match="unavailable while connecting"):
            await sink.write(batches[1])
    finally:
        pg.start()
    for batch in batches[1:]:
        await sink.write(batch)
    await sink.aclose()
    await assert_show_stored(dsn, events, batches)


async def test_the_password_never_shows(pg):
    secret = "hunter2-" + "x" * 8
    dsn = f"postgresql://fastlive:{secret}@127.0.0.1:1/nowhere?password={secret}&sslmode=disable"
    sink = PostgresSink(dsn, connect_timeout=2.0)
    assert secret not in repr(sink) and secret not in sink.dsn
    with pytest.raises(SinkUnavailableError) as caught:
        await sink.write([("@show", ROOM_ID, decoded(show(n_frames=5))[0])])
    assert secret not in str(caught.value) and "127.0.0.1:1" in str(caught.value)
    assert (
        caught.value.__cause__ is None
        and caught.value.__context__ is None
        or secret not in (str(caught.value.__context__))
    )
    assert redact_dsn("postgresql://u:p%40ss@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_dsn("postgres://h/db?password=p&x=1") == "postgres://h/db?password=%2A%2A%2A&x=1"
    assert redact_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_dsn("host=h password=s3cr3t dbname=d") == "host=h password=*** dbname=d"
    assert redact_dsn("host=h PASSWORD = 'a b' x=1") == "host=h PASSWORD = *** x=1"


async def test_a_refused_batch_is_a_sink_error_not_an_outage(dsn):
    async with PostgresSink(dsn):
        import asyncpg

        conn = await asyncpg.connect(dsn)
        await conn.execute("REVOKE INSERT ON events FROM PUBLIC")
        await conn.execute("CREATE ROLE writer LOGIN")
        await conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO writer")
        await conn.close()
    limited = PostgresSink(dsn.replace("postgres@", "writer@"))
    with pytest.raises(SinkError) as caught:
        await limited.write([("@show", ROOM_ID, e) for e in decoded(show(n_frames=5))])
    assert not isinstance(caught.value, SinkUnavailableError)
    assert "permission denied" in str(caught.value)
    await limited.aclose()


async def test_the_same_rows_and_report_as_sqlite(dsn, tmp_path):
    """One show into SQLite and into PostgreSQL: the same rows in every table (apart from
    the wall-clock ``rooms.last_seen``), and ``fastlive report`` gives the same figures."""
    import sqlite3

    from fastlive.sinks import SQLiteSink
    from fastlive.sinks.report import aroom_reports

    batches = with_streaks("@show", decoded(show(seed=9)))
    db = tmp_path / "events.db"
    for sink in (PostgresSink(dsn), SQLiteSink(db)):
        await sink.open()
        for batch in batches:
            await sink.write(batch)
        await sink.aclose()
    with sqlite3.connect(db) as conn:
        for table in ("events", "comments", "gifts", "rooms", "sessions"):
            lite = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            pg_rows = await fetch(
                dsn,
                f"SELECT * {', data::text' if table == 'events' else ''} FROM {table} "
                "ORDER BY 1, 2",
            )
            if table == "events":  # JSON text vs JSONB: compare the values
                lite = [(*r[:6], json.loads(r[6])) for r in lite]
                pg_rows = [(*r[:6], json.loads(r[7])) for r in pg_rows]
            if table == "rooms":
                lite, pg_rows = [r[:3] for r in lite], [r[:3] for r in pg_rows]
            assert pg_rows == lite, table
    from_pg = await aroom_reports(dsn)
    from_lite = await aroom_reports(db)
    assert from_pg[0].diamonds > 0 and from_pg[0].comments > 0
    fields = ("room", "room_ids", "sessions", "diamonds", "streaks", "comments", "peak_viewers",
              "new_followers", "top_gifters")  # fmt: skip
    assert [[getattr(r, f) for f in fields] for r in from_pg] == [
        [getattr(r, f) for f in fields] for r in from_lite
    ]


async def test_open_sink_picks_postgres_by_url(dsn, tmp_path):
    from fastlive.sinks import open_sink

    secret_dsn = dsn.replace("postgres@", "postgres:not-the-password@")  # trust: any works
    sink = open_sink(secret_dsn, spill_path=tmp_path / "s.spill", flush_interval=0.01)
    assert isinstance(sink, BufferedSink) and isinstance(sink.sink, PostgresSink)
    assert "not-the-password" not in repr(sink) and "***" in sink.name
    batches = with_streaks("@show", decoded(show(seed=11, n_frames=5)))
    async with sink:
        for batch in batches:
            await sink.write(batch)
        assert await sink.flush(timeout=60)
    assert (await counts(dsn))["events"] == sum(
        isinstance(e, BaseEvent) for batch in batches for _, _, e in batch
    )


def test_the_benchmark_runs_into_postgres(dsn):
    """``benchmarks/bench_sinks.py --target postgres`` (briefly, into the test's database)."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sinks.py"
    done = subprocess.run(
        [sys.executable, str(script), "--target", "postgres", "--dsn", dsn, "--rates", "2000",
         "--seconds", "0.5"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    row = done.stdout.strip().splitlines()[-1].split("|")
    sent, stored = int(row[2].replace(",", "")), int(row[-2])
    assert row[1].strip() == "2,000" and sent == stored > 0  # every event sent is a row


async def test_watching_rooms_through_an_outage(pg, dsn, tmp_path):
    """The whole path: FakeTikTok, the Monitor with ``sinks=[open_sink(dsn)]``, a reconnect
    that re-sends two frames, and the server stopped mid-run then started again: every
    message the fake sent is stored once, the gifts are the Monitor's own streaks."""
    from fastlive.monitor import Monitor
    from fastlive.monitor.limits import SignLimiter
    from fastlive.sinks import open_sink
    from fastlive.stats import RoomState
    from fastlive.testing import FakeTikTok

    frames = show(seed=13)
    sink = open_sink(dsn, spill_path=tmp_path / "pg.spill", flush_interval=0.01,
                     retry_initial=0.02, retry_max=0.1, max_buffer=20, batch_size=10)  # fmt: skip
    received: list = []
    ended = asyncio.Event()
    async with FakeTikTok() as fake:
        fake.add_room("show", room_id=ROOM_ID, frames=frames, interval=0.05, drop_after=12,
                      resend=2)  # fmt: skip
        monitor = Monitor(
            ["@show"],
            settings=fake.settings(connect="signed", backoff_initial=0.05, backoff_max=0.2,
                                   reconnect_attempts=5, stall_timeout=2.0),
            poll_interval=0.05,
            sign_limiter=SignLimiter(rate=200, burst=20),
            sinks=[sink],
            gift_streaks=True,
        )  # fmt: skip
        monitor.add_state_listener(lambda room, old, new: new is RoomState.ENDED and ended.set())
        outage = asyncio.Event()

        async def consume() -> None:
            async for _, event in monitor.events():
                received.append(event)
                if len(received) == 60:
                    outage.set()

        async with monitor:
            task = asyncio.ensure_future(consume())
            await asyncio.wait_for(outage.wait(), 30)
            await asyncio.to_thread(pg.stop)
            try:
                for _ in range(1_000):  # hang guard only
                    if sink.down:
                        break
                    await asyncio.sleep(0.01)
                assert sink.down
            finally:
                await asyncio.to_thread(pg.start)
            await asyncio.wait_for(ended.wait(), 60)
            assert await sink.flush(timeout=60)
        await asyncio.wait_for(task, 10)
    assert sink.stats.failures and sink.stats.spilled and sink.stats.dropped == 0
    sent = {(ROOM_ID, m[2]) for batch in frames for m in batch}
    rows = await fetch(dsn, "SELECT room_id, msg_id FROM events")
    assert len(rows) == len(set(rows)) and set(rows) == sent
    streaks = {(e.msg_id, e.count, e.diamonds) for e in received
               if type(e).__name__ == "GiftStreakEvent"}  # fmt: skip
    gifts = await fetch(dsn, "SELECT msg_id, repeat_count, diamonds FROM gifts")
    assert sorted(gifts) == sorted(streaks) and {(7, 7), (3, 15)} <= {g[1:] for g in gifts}


async def test_the_command_line_watches_into_postgres_and_reports(dsn, tmp_path):
    """``fastlive watch @show --db postgresql://...`` then ``fastlive report --db`` on it; the
    DSN's password shows in neither command's output."""
    import os
    import subprocess
    import sys

    from fastlive.testing import FakeTikTok

    secret = "s3cret-" + "y" * 6
    url = dsn.replace("postgres@", f"postgres:{secret}@")  # trust auth: any password passes
    frames = show(seed=17, n_frames=10)

    async def fastlive_cli(fake: FakeTikTok, *args: str) -> tuple[int, str]:
        env = {**os.environ, "FASTLIVE_WEB_URL": fake.web_url, "SIGN_API_URL": fake.sign_api_url,
               "FASTLIVE_WEBCAST_URL": fake.webcast_url, "FASTLIVE_CONNECT": "signed"}  # fmt: skip
        env.pop("SIGN_API_KEY", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "fastlive", *args, env=env, cwd=tmp_path,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        return proc.returncode or 0, out.decode()

    async with FakeTikTok() as fake:
        fake.add_room("show", room_id=ROOM_ID, frames=frames)
        code, out = await fastlive_cli(fake, "watch", "@show", "--db", url, "--once",
                                       "--poll-interval", "0.05", "--duration", "60")  # fmt: skip
        assert code == 0, out
        code, report = await fastlive_cli(fake, "report", "--db", url, "--json")
    assert code == 0, report
    assert secret not in out and secret not in report
    rows = await fetch(dsn, "SELECT room_id, msg_id FROM events")
    assert sorted(rows) == sorted({(ROOM_ID, m[2]) for batch in frames for m in batch})
    (figures,) = [json.loads(line) for line in report.splitlines() if line.strip()]
    assert figures["room"] == "@show" and figures["diamonds"] > 0 and figures["comments"] > 0
