"""``fastlive report`` and :mod:`fastlive.sinks.report`: figures from a real database.

The database is built here, row by row, with the tables of the shared design
(schema_version, rooms, sessions, events, gifts, comments), so every figure is
known exactly; the end-to-end tests then check the same figures on what the
SQLite sink writes from the fake TikTok.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from fastlive.cli.main import main
from fastlive.cli.report import format_reports, parse_when
from fastlive.exceptions import ReportError
from fastlive.sinks.report import aroom_reports, room_reports

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MIN = 60_000
HOUR = 60 * MIN

SQLITE_DDL = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE rooms (room_id INTEGER PRIMARY KEY, unique_id TEXT, first_seen INTEGER,
                    last_seen INTEGER);
CREATE TABLE sessions (room_id INTEGER NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER,
                       peak_viewers INTEGER NOT NULL DEFAULT 0);
CREATE TABLE events (room_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, type TEXT NOT NULL,
                     create_time INTEGER NOT NULL, user_id INTEGER, unique_id TEXT, data TEXT,
                     UNIQUE (room_id, msg_id));
CREATE TABLE gifts (room_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, create_time INTEGER,
                    user_id INTEGER, unique_id TEXT, gift_id INTEGER, gift_name TEXT,
                    repeat_count INTEGER, diamonds INTEGER, UNIQUE (room_id, msg_id));
CREATE TABLE comments (room_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, create_time INTEGER,
                       user_id INTEGER, unique_id TEXT, nickname TEXT, comment TEXT,
                       UNIQUE (room_id, msg_id));
"""

ALICE, ALICE_AGAIN, DAVE = 7001, 7003, 7002


class Rows:
    """The rows of a small database, in the shared design's tables, with its known figures."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple]] = {
            "schema_version": [(1,)],
            "rooms": [],
            "sessions": [],
            "events": [],
            "gifts": [],
            "comments": [],
        }
        self._msg = 1000

    def msg_id(self) -> int:
        self._msg += 1
        return self._msg

    def room(self, room_id: int, unique_id: str, first: int, last: int) -> None:
        self.rows["rooms"].append((room_id, unique_id, first, last))

    def session(self, room_id: int, start: int, end: int | None, peak: int) -> None:
        self.rows["sessions"].append((room_id, start, end, peak))

    def event(self, room_id: int, type_: str, t: int, user: tuple[int, str] = (0, ""), **data):
        msg_id = self.msg_id()
        record = {"v": 1, "type": type_, "room_id": room_id, "msg_id": msg_id, "create_time": t}
        record.update(data)
        self.rows["events"].append(
            (room_id, msg_id, type_, t, user[0], user[1], json.dumps(record))
        )

    def gift(self, room_id: int, t: int, user: tuple[int, str], count: int, diamond_count: int):
        """A finished streak: ``count`` gifts worth ``diamond_count`` each."""
        self.rows["gifts"].append(
            (
                room_id,
                self.msg_id(),
                t,
                user[0],
                user[1],
                5655,
                "Rose",
                count,
                diamond_count * count,
            )
        )

    def comment(self, room_id: int, t: int, user: tuple[int, str], text: str = "hi") -> None:
        self.rows["comments"].append(
            (room_id, self.msg_id(), t, user[0], user[1], user[1].title(), text)
        )

    def write_sqlite(self, path) -> None:
        with sqlite3.connect(path) as conn:
            conn.executescript(SQLITE_DDL)
            for table, rows in self.rows.items():
                for row in rows:
                    conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
        conn.close()


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BOB, CAROL, ERIN = (11, "bob"), (12, "carol"), (13, "erin")


@pytest.fixture
def rows() -> Rows:
    """@alice live 2 h (T0..T0+2h) and again later under a new room id; @dave still live."""
    r = Rows()
    r.room(ALICE, "alice", T0, T0 + 2 * HOUR)
    r.room(DAVE, "dave", T0, T0 + 30 * MIN)
    r.room(ALICE_AGAIN, "alice", T0 + 5 * HOUR, T0 + 6 * HOUR)
    r.session(ALICE, T0, T0 + 2 * HOUR, 150)
    r.session(ALICE_AGAIN, T0 + 5 * HOUR, T0 + 6 * HOUR, 40)
    r.session(DAVE, T0, None, 0)  # still open: counts up to rooms.last_seen
    # @alice: bob 3 streaks (1 x 1 + 10 x 5 + 2 x 100 diamonds), carol 1 x 199, two comments a
    # minute for the two hours, 3 follows, one share, viewers 90 then 200 (above the session's 150)
    r.gift(ALICE, T0 + 1 * MIN, BOB, 1, 1)
    r.gift(ALICE, T0 + 70 * MIN, BOB, 10, 5)
    r.gift(ALICE, T0 + 90 * MIN, CAROL, 1, 199)
    r.gift(ALICE, T0 + 100 * MIN, BOB, 2, 100)
    for minute in range(120):
        r.comment(ALICE, T0 + minute * MIN, CAROL)
        r.comment(ALICE, T0 + minute * MIN + 30_000, ERIN)
    for minute in (5, 65, 95):
        r.event(ALICE, "FollowEvent", T0 + minute * MIN, ERIN, action=1)
    r.event(ALICE, "ShareEvent", T0 + 10 * MIN, BOB, action=3)
    r.event(ALICE, "RoomUserSeqEvent", T0 + 20 * MIN, total=90)
    r.event(ALICE, "RoomUserSeqEvent", T0 + 80 * MIN, total=200)
    # @alice again, 5 h later: one gift from erin (3 x 20), 6 comments
    r.gift(ALICE_AGAIN, T0 + 5 * HOUR + MIN, ERIN, 3, 20)
    for minute in range(6):
        r.comment(ALICE_AGAIN, T0 + 5 * HOUR + minute * MIN, BOB)
    # @dave: 15 comments in its 30 minutes so far, no gifts
    for minute in range(15):
        r.comment(DAVE, T0 + 2 * minute * MIN, BOB)
    return r


@pytest.fixture
def db(tmp_path, rows) -> str:
    path = str(tmp_path / "events.db")
    rows.write_sqlite(path)
    return path


def by_room(reports):
    return {r.room: r for r in reports}


def check_whole(reports) -> None:
    """The figures of the ``rows`` fixture over the whole database."""
    assert [r.room for r in reports] == ["@alice", "@dave"]  # most diamonds first
    alice, dave = reports
    assert alice.room_ids == [ALICE, ALICE_AGAIN]
    assert alice.sessions == 2
    assert alice.live_seconds == 3 * 3600
    assert alice.diamonds == 1 + 50 + 199 + 200 + 60
    assert alice.streaks == 5
    assert alice.diamonds_per_hour == pytest.approx(510 / 3)
    assert alice.comments == 246
    assert alice.comments_per_minute == pytest.approx(246 / 180)
    assert alice.peak_viewers == 200
    assert alice.new_followers == 3
    assert [(g.unique_id, g.diamonds, g.gifts, g.streaks) for g in alice.top_gifters] == [
        ("bob", 251, 13, 3),
        ("carol", 199, 1, 1),
        ("erin", 60, 3, 1),
    ]
    assert dave.live_seconds == 30 * 60
    assert (dave.diamonds, dave.diamonds_per_hour, dave.top_gifters) == (0, 0.0, [])
    assert dave.comments == 15
    assert dave.comments_per_minute == pytest.approx(0.5)
    assert (dave.peak_viewers, dave.new_followers) == (0, 0)


def test_whole_database(db):
    check_whole(room_reports(db))


async def test_async_and_inside_a_running_loop(db):
    check_whole(await aroom_reports(db))
    check_whole(room_reports(db))  # the sync form works in a loop's thread too


def test_a_window(db):
    # 01:00..02:00: @alice's first session, its second hour only
    reports = room_reports(
        db,
        since=datetime.fromtimestamp((T0 + HOUR) / 1000, timezone.utc),
        until=datetime.fromtimestamp((T0 + 2 * HOUR) / 1000, timezone.utc),
    )
    assert [r.room for r in reports] == ["@alice"]  # @dave has nothing after 00:30
    (alice,) = reports
    assert (alice.since, alice.until) == (T0 + HOUR, T0 + 2 * HOUR)
    assert alice.sessions == 1 and alice.live_seconds == 3600
    assert alice.diamonds == 50 + 199 + 200 and alice.diamonds_per_hour == 449
    assert alice.comments == 120 and alice.comments_per_minute == 2
    assert alice.new_followers == 2
    assert alice.peak_viewers == 200  # seen at 01:20; the session's 150 began before the window
    assert [g.unique_id for g in alice.top_gifters] == ["bob", "carol"]


def test_since_as_a_duration_back_from_now(db):
    # everything in the fixture is in the past: a 1 h window from now holds nothing
    assert room_reports(db, since=timedelta(hours=1)) == []
    # asked for by name, a room is reported even when empty
    (dave,) = room_reports(db, ["@dave"], since=timedelta(hours=1))
    assert (dave.comments, dave.sessions, dave.comments_per_minute) == (0, 0, None)


def test_rooms_by_handle_or_id_in_the_order_asked(db):
    reports = room_reports(db, ["dave", str(ALICE_AGAIN)], top=1)
    assert [r.room for r in reports] == ["@dave", "@alice"]
    assert [g.unique_id for g in reports[1].top_gifters] == ["bob"]
    assert [r.room for r in room_reports(db, ["@ALICE", ALICE])] == ["@alice"]


def test_unknown_room_says_which_rooms_exist(db):
    with pytest.raises(ReportError, match=r"@zoe: not in the database \(it has @alice, @dave\)"):
        room_reports(db, ["@alice", "@zoe"])


def test_room_without_sessions_counts_from_first_to_last_event(tmp_path):
    r = Rows()
    r.room(9001, "", T0, T0 + 10 * MIN)  # no handle known: the id names it
    r.comment(9001, T0, BOB)
    r.comment(9001, T0 + 10 * MIN, BOB)
    r.gift(9001, T0 + 4 * MIN, CAROL, 2, 3)
    path = str(tmp_path / "other.db")
    r.write_sqlite(path)
    (report,) = room_reports(path)
    assert report.room == "9001" and report.live_seconds == 600
    assert report.comments_per_minute == pytest.approx(0.2)
    assert report.diamonds_per_hour == pytest.approx(36)


def test_missing_database_is_an_error_and_is_not_created(tmp_path):
    path = tmp_path / "nope.db"
    with pytest.raises(ReportError, match="no such database: write one with `fastlive watch"):
        room_reports(path)
    assert not path.exists()


def test_not_a_fastlive_database(tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ReportError, match="not a fastlive database .no schema_version, rooms"):
        room_reports(empty)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all " * 100)
    with pytest.raises(ReportError, match="not a fastlive database"):
        room_reports(junk)


def test_tables_not_created_yet(tmp_path, rows):
    rows.rows["schema_version"] = [(0,)]  # a sink's first migration has not finished
    path = str(tmp_path / "new.db")
    rows.write_sqlite(path)
    with pytest.raises(ReportError, match="no fastlive tables yet: write one with"):
        room_reports(path)


def test_newer_schema_is_refused(tmp_path, rows):
    rows.rows["schema_version"] = [(99,)]
    path = str(tmp_path / "new.db")
    rows.write_sqlite(path)
    with pytest.raises(ReportError, match="tables at version 99, newer than this fastlive reads"):
        room_reports(path)


# ---------------------------------------------------------------- the command


def test_cli_json_is_the_same_figures(db, capsys):
    assert main(["report", "--db", db, "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["room"] for o in objs] == ["@alice", "@dave"]
    alice = objs[0]
    assert alice["diamonds"] == 510 and alice["new_followers"] == 3
    assert alice["peak_viewers"] == 200 and alice["comments"] == 246
    assert alice["top_gifters"][0] == {
        "user_id": 11,
        "unique_id": "bob",
        "diamonds": 251,
        "gifts": 13,
        "streaks": 3,
    }


def test_cli_since_and_until_as_iso_dates(db, capsys):
    args = [
        "report",
        "--db",
        db,
        "@alice",
        "--json",
        "--top",
        "1",
        "--since",
        "2026-01-01T01:00:00Z",
        "--until",
        "2026-01-01T02:00:00+00:00",
    ]
    assert main(args) == 0
    (alice,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert alice["diamonds"] == 449 and alice["comments_per_minute"] == 2.0
    assert [g["unique_id"] for g in alice["top_gifters"]] == ["bob"]


def test_cli_table(db, capsys):
    assert main(["report", "--db", db]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "room", "live", "diamonds", "diamonds/h", "comments", "comments/min", "peak", "viewers",
        "new", "followers",
    ]  # fmt: skip
    assert out.splitlines()[1].split() == [
        "@alice",
        "3h00m",
        "510",
        "170.0",
        "246",
        "1.4",
        "200",
        "3",
    ]
    assert out.splitlines()[2].split() == ["@dave", "30m", "0", "0.0", "15", "0.5", "0", "0"]
    assert "@alice: top gifters" in out and "@dave: top gifters" not in out
    assert "1. @bob" in out and "251 diamonds" in out and "13 gifts" in out


def test_cli_table_names_the_window(db, capsys):
    since, until = "2026-01-01T01:00:00+00:00", "2026-01-01T02:00:00+00:00"
    assert main(["report", "--db", db, "--since", since, "--until", until]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    start = datetime.fromisoformat(since).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    end = datetime.fromisoformat(until).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    assert first == f"from {start} to {end}"


def test_format_of_nothing():
    assert format_reports([]) == "no rooms with data in that window"


def test_cli_missing_database_exits_2_without_a_traceback(tmp_path, capsys):
    assert main(["report", "--db", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fastlive: ") and "no such database" in err
    assert "Traceback" not in err


def test_cli_unknown_room_exits_2(db, capsys):
    assert main(["report", "--db", db, "@zoe"]) == 2
    assert "@zoe: not in the database" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("30m", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("1.5d", timedelta(hours=36)),
        ("2026-12-02", datetime(2026, 12, 2)),
        ("2026-12-02T18:30Z", datetime(2026, 12, 2, 18, 30, tzinfo=timezone.utc)),
    ],
)
def test_parse_when(text, expected):
    assert parse_when(text) == expected


def test_bad_since_is_a_usage_error(db, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--db", db, "--since", "yesterday"])
    assert exc.value.code == 2
    assert "neither a duration nor a date" in capsys.readouterr().err


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="module")
def pg():
    from pg import cluster

    yield from cluster()


async def write_postgres(dsn: str, rows: Rows) -> None:
    """The tables as PostgresSink creates them, then the rows (JSONB data, BIGINT ids)."""
    import asyncpg

    from fastlive.sinks.postgres import PostgresSink

    sink = PostgresSink(dsn)
    await sink.open()
    await sink.aclose()
    conn = await asyncpg.connect(dsn)
    try:
        for table, table_rows in rows.rows.items():
            if table == "schema_version":
                await conn.execute("UPDATE schema_version SET version = $1", table_rows[0][0])
                continue
            for row in table_rows:
                marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
                await conn.execute(f"INSERT INTO {table} VALUES ({marks})", *row)
    finally:
        await conn.close()


async def test_postgres_same_figures(pg, rows):
    big = (1 << 64) - 5  # an id past 2**63: stored as a negative BIGINT
    rows.room(big - (1 << 64), "", T0, T0 + MIN)
    rows.comment(big - (1 << 64), T0, BOB)
    pg.psql("CREATE DATABASE report_same")
    dsn = pg.dsn("report_same")
    await write_postgres(dsn, rows)
    reports = await aroom_reports(dsn)
    check_whole([r for r in reports if r.room != str(big)])
    (huge,) = room_reports(dsn, [str(big)])  # the sync form, from inside a loop
    assert (huge.room, huge.room_ids, huge.comments) == (str(big), [big], 1)
    (alice,) = await aroom_reports(
        dsn,
        ["@alice"],
        since=datetime.fromtimestamp((T0 + HOUR) / 1000, timezone.utc),
        until=datetime.fromtimestamp((T0 + 2 * HOUR) / 1000, timezone.utc),
    )
    assert (alice.diamonds, alice.comments, alice.new_followers, alice.peak_viewers) == (
        449, 120, 2, 200
    )  # fmt: skip


def test_postgres_cli_json(pg, rows, capsys):
    pg.psql("CREATE DATABASE report_cli")
    dsn = pg.dsn("report_cli")
    asyncio.run(write_postgres(dsn, rows))
    assert main(["report", "--db", dsn, "--json", "@dave"]) == 0
    (dave,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (dave["comments"], dave["comments_per_minute"], dave["live_seconds"]) == (15, 0.5, 1800)


def test_postgres_errors_hide_the_password(pg, capsys):
    pg.psql("CREATE DATABASE report_empty")
    with pytest.raises(ReportError, match="not a fastlive database .no schema_version"):
        room_reports(pg.dsn("report_empty"))
    down = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/x"
    assert main(["report", "--db", down]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to PostgreSQL" in err and "postgres:***@127.0.0.1" in err
    assert "s3cret" not in err and "Traceback" not in err
