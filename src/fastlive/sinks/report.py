"""The figures of ``fastlive report``, read from a fastlive database (SQLite or PostgreSQL).

Per room: top gifters by diamonds, diamonds per hour, comments per minute, peak
viewers and new followers, over the whole database or a window (``since`` ..
``until``).  The queries are written once, as a sans-I/O generator that yields
``(sql, params)`` and is sent the rows back, and two small drivers run it: the
stdlib ``sqlite3`` for a file, asyncpg for a ``postgresql://`` URL.

    for r in room_reports("events.db", since=timedelta(hours=2)):
        print(r.room, r.diamonds, r.comments_per_minute)

How the figures are defined (all times in milliseconds, as stored):

* **The window** is ``[since, until]`` on each row's ``create_time``; no
  ``since`` means from the first row, no ``until`` means up to now.
* **Live time** (``live_seconds``) is the time the room was live inside the
  window: the sum over its ``sessions`` rows of ``min(end, until) - max(started_at,
  since)``, where ``end`` is ``ended_at``, or for a session still open, the room's
  ``rooms.last_seen``.  A room without ``sessions`` rows (a database written by
  other code) is counted live from its first to its last stored event in the window.
* **Diamonds** are the sum of ``gifts.diamonds`` (finished streaks), and
  ``diamonds_per_hour`` is that over the live time; **comments per minute** is the
  number of ``comments`` rows over the live time.  Both are None when the live time
  is zero.
* **Peak viewers** is the largest ``RoomUserSeqEvent`` ``total`` stored in the
  window, or a larger ``sessions.peak_viewers`` of a session started in it.
* **New followers** is the number of ``FollowEvent`` rows in ``events``.

A handle live several times has several room ids: its rows are summed under one
report (``room_ids`` lists them).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from fastlive.exceptions import ReportError
from fastlive.sinks import is_postgres

__all__ = [
    "DEFAULT_TOP_GIFTERS",
    "TABLES_VERSION",
    "Gifter",
    "RoomReport",
    "aroom_reports",
    "room_reports",
]

DEFAULT_TOP_GIFTERS = 10
"""Gifters listed per room unless ``top=`` says otherwise."""

TABLES_VERSION = 1
"""The ``schema_version`` of the tables this report reads; a later one is refused."""
TABLES = ("schema_version", "rooms", "sessions", "events", "gifts", "comments")
"""The tables a report reads; a database without them is not a fastlive database."""

_HINT = "write one with `fastlive watch @room --db PATH` first"


class Gifter(msgspec.Struct, frozen=True, kw_only=True):
    """One viewer's finished gift streaks in one room."""

    user_id: int
    unique_id: str
    diamonds: int
    """Sum of the streaks' diamonds."""
    gifts: int
    """Gifts sent: the sum of the streaks' counts."""
    streaks: int
    """Finished streaks (``gifts`` rows)."""


class RoomReport(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one room over the window (see the module docstring for definitions)."""

    room: str
    """``@handle``, or the room id as text when the handle is not known."""
    room_ids: list[int]
    since: int | None
    """Start of the window (ms), None for the whole database."""
    until: int
    """End of the window (ms)."""
    sessions: int
    live_seconds: float
    diamonds: int
    diamonds_per_hour: float | None
    streaks: int
    comments: int
    comments_per_minute: float | None
    peak_viewers: int
    new_followers: int
    top_gifters: list[Gifter]


# ---------------------------------------------------------------- the queries (sans-I/O)

Query = tuple[str, list[Any]]
Rows = Sequence[Sequence[Any]]

_PEAK_JSON = {
    "sqlite": "CAST(json_extract(data, '$.total') AS BIGINT)",
    "postgres": "(data->>'total')::bigint",
}


def _u64(value: Any) -> int:
    """An id as TikTok gives it: PostgreSQL's BIGINT stores ids past 2**63 as negatives."""
    value = int(value or 0)
    return value + (1 << 64) if value < 0 else value


def _key(room_id: int, unique_id: str | None) -> str:
    handle = (unique_id or "").lstrip("@")
    return f"@{handle}" if handle else str(_u64(room_id))


def _wanted(rooms: Iterable[str | int], known: dict[str, list[int]]) -> list[str]:
    """The report keys asked for (``@alice``, ``alice`` or a room id), in the order given."""
    by_fold = {key.casefold(): key for key in known}
    by_id = {_u64(room_id): key for key, ids in known.items() for room_id in ids}
    keys: list[str] = []
    missing: list[str] = []
    for room in rooms:
        text = str(room).strip()
        key = by_id.get(int(text)) if text.isdigit() else None
        key = key or by_fold.get("@" + text.lstrip("@").casefold())
        if key is None:
            missing.append(text if text.isdigit() else "@" + text.lstrip("@"))
        elif key not in keys:
            keys.append(key)
    if missing:
        have = ", ".join(sorted(known)[:10]) or "no rooms at all"
        more = f" and {len(known) - 10} more" if len(known) > 10 else ""
        raise ReportError(
            f"{', '.join(missing)}: not in the database (it has {have}{more}); "
            "check the handle, or watch the room into it first"
        )
    return keys


def _where(ids: list[int] | None, since: int | None, until: int | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if ids is not None:
        clauses.append(f"room_id IN ({', '.join('?' * len(ids))})")
        params.extend(ids)
    if since is not None:
        clauses.append("create_time >= ?")
        params.append(since)
    if until is not None:
        clauses.append("create_time <= ?")
        params.append(until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _reports(
    dialect: str,
    rooms: Iterable[str | int] | None,
    since: int | None,
    until: int | None,
    now: int,
    top: int,
) -> Generator[Query, Rows, list[RoomReport]]:
    """Yield each query and take its rows back; return the reports."""
    rows = yield ("SELECT MAX(version) FROM schema_version", [])
    version = rows[0][0] if rows else None
    if not version:  # no row, or 0: the tables are being created
        raise ReportError(f"the database has no fastlive tables yet: {_HINT}")
    if int(version) > TABLES_VERSION:
        raise ReportError(
            f"the database has fastlive's tables at version {version}, newer than this "
            f"fastlive reads ({TABLES_VERSION}): upgrade fastlive to read it"
        )
    end = now if until is None else until

    known: dict[str, list[int]] = {}
    last_seen: dict[int, int] = {}
    for room_id, unique_id, seen in (
        yield ("SELECT room_id, unique_id, last_seen FROM rooms ORDER BY room_id", [])
    ):
        known.setdefault(_key(room_id, unique_id), []).append(int(room_id))
        last_seen[int(room_id)] = int(seen or 0)
    keys = list(known) if rooms is None else _wanted(rooms, known)
    key_of = {room_id: key for key in keys for room_id in known[key]}
    ids = None if rooms is None else list(key_of)
    where, params = _where(ids, since, until)

    acc = {key: _Acc() for key in keys}

    def each(rows: Rows):  # rows whose first column is a room id of a wanted room
        for row in rows:
            key = key_of.get(int(row[0]))
            if key is not None:
                yield acc[key], row

    swhere, sparams = _where(ids, None, None)
    sql = f"SELECT room_id, started_at, ended_at, peak_viewers FROM sessions{swhere}"
    for a, (room_id, started, ended, peak) in each((yield (sql, sparams))):
        started = int(started)
        stop = int(ended) if ended is not None else last_seen.get(int(room_id), started)
        if started > end or (since is not None and stop < since):
            continue  # not live in the window
        a.sessions += 1
        a.live_ms += max(0, min(stop, end) - (started if since is None else max(started, since)))
        if since is None or started >= since:
            a.peak = max(a.peak, int(peak or 0))

    sql = (
        "SELECT room_id, user_id, MAX(unique_id), CAST(SUM(diamonds) AS BIGINT),"
        f" CAST(SUM(repeat_count) AS BIGINT), COUNT(*) FROM gifts{where} GROUP BY room_id, user_id"
    )
    for a, (_, user, handle, diamonds, count, n) in each((yield (sql, params))):
        a.add_gifter(_u64(user), handle or "", int(diamonds or 0), int(count or 0), int(n))
    sql = f"SELECT room_id, COUNT(*) FROM comments{where} GROUP BY room_id"
    for a, (_, n) in each((yield (sql, params))):
        a.comments += int(n)
    tail = " AND " if where else " WHERE "
    sql = (
        f"SELECT room_id, type, COUNT(*), MAX({_PEAK_JSON[dialect]}) FROM events{where}{tail}"
        "type IN ('FollowEvent', 'RoomUserSeqEvent') GROUP BY room_id, type"
    )
    for a, (_, kind, n, peak) in each((yield (sql, params))):
        if kind == "FollowEvent":
            a.followers += int(n)
        else:
            a.peak = max(a.peak, int(peak or 0))

    # rooms without a session in the window: live from their first to their last row
    bare = [room_id for room_id, key in key_of.items() if not acc[key].sessions]
    if bare:
        bwhere, bparams = _where(bare, since, until)
        union = " UNION ALL ".join(
            f"SELECT room_id, create_time FROM {table}{bwhere}"
            for table in ("events", "comments", "gifts")
        )
        sql = f"SELECT room_id, MIN(create_time), MAX(create_time) FROM ({union}) AS t"
        for a, (_, first, last) in each((yield (sql + " GROUP BY room_id", bparams * 3))):
            a.span(first, last)

    reports = [acc[key].report(key, known[key], since, end, top) for key in keys]
    if rooms is None:
        if since is not None or until is not None:
            reports = [r for r in reports if r.sessions or r.streaks or r.comments
                       or r.new_followers or r.peak_viewers]  # fmt: skip
        reports.sort(key=lambda r: (-r.diamonds, r.room))
    return reports


class _Acc:
    """What the queries found for one report key, summed over its room ids."""

    def __init__(self) -> None:
        self.gifters: dict[int, list[Any]] = {}
        self.comments = 0
        self.followers = 0
        self.peak = 0
        self.sessions = 0
        self.live_ms = 0
        self.first: int | None = None
        self.last: int | None = None

    def add_gifter(self, user_id: int, unique_id: str, diamonds: int, count: int, streaks: int):
        g = self.gifters.setdefault(user_id, [unique_id, 0, 0, 0])
        g[0] = max(g[0], unique_id)
        g[1] += diamonds
        g[2] += count
        g[3] += streaks

    def span(self, first: Any, last: Any) -> None:
        if first is not None:
            self.first = int(first) if self.first is None else min(self.first, int(first))
        if last is not None:
            self.last = int(last) if self.last is None else max(self.last, int(last))

    def report(self, key: str, ids: list[int], since: int | None, until: int, top: int):
        live_ms = self.live_ms
        if not self.sessions and self.first is not None and self.last is not None:
            live_ms = self.last - self.first
        diamonds = sum(g[1] for g in self.gifters.values())
        ranked = sorted(self.gifters.items(), key=lambda kv: (-kv[1][1], kv[0]))[:top]
        hours = live_ms / 3_600_000
        return RoomReport(
            room=key,
            room_ids=sorted(_u64(i) for i in ids),
            since=since,
            until=until,
            sessions=self.sessions,
            live_seconds=live_ms / 1000,
            diamonds=diamonds,
            diamonds_per_hour=diamonds / hours if hours else None,
            streaks=sum(g[3] for g in self.gifters.values()),
            comments=self.comments,
            comments_per_minute=self.comments / (hours * 60) if hours else None,
            peak_viewers=self.peak,
            new_followers=self.followers,
            top_gifters=[
                Gifter(user_id=uid, unique_id=g[0], diamonds=g[1], gifts=g[2], streaks=g[3])
                for uid, g in ranked
            ],
        )


# ---------------------------------------------------------------- the drivers

TimeLike = datetime | timedelta | None


def _ms(value: TimeLike, now: int) -> int | None:
    """Milliseconds since the epoch: a datetime (naive means local time), or ``now - delta``."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return now - int(value.total_seconds() * 1000)
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    raise TypeError(f"since/until must be a datetime or a timedelta, not {type(value).__name__}")


def room_reports(
    db: str | os.PathLike[str],
    rooms: Iterable[str | int] | None = None,
    since: TimeLike = None,
    *,
    until: TimeLike = None,
    top: int = DEFAULT_TOP_GIFTERS,
) -> list[RoomReport]:
    """The reports of ``rooms`` (``@handles`` or room ids; None: every room) in ``db``.

    Args:
        db: a SQLite file written by ``fastlive watch --db``, or a ``postgresql://`` URL.
        rooms: which rooms, in the order wanted; None reports every room with data in
            the window, the most diamonds first.
        since: start of the window: a datetime, or a timedelta back from now.
        until: end of the window (default now).
        top: gifters listed per room.

    Raises:
        ReportError: the database is missing, unreachable, not a fastlive database,
            or a room asked for is not in it.
    """
    if is_postgres(db):  # asyncpg needs a loop: run one, in a thread if this one has a loop
        coro = aroom_reports(db, rooms, since, until=until, top=top)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        return _in_thread(coro)
    now = int(time.time() * 1000)
    return _sqlite(Path(db), _reports("sqlite", rooms, _ms(since, now), _ms(until, now), now, top))


async def aroom_reports(
    db: str | os.PathLike[str],
    rooms: Iterable[str | int] | None = None,
    since: TimeLike = None,
    *,
    until: TimeLike = None,
    top: int = DEFAULT_TOP_GIFTERS,
) -> list[RoomReport]:
    """:func:`room_reports` for async code (SQLite is read in a worker thread)."""
    now = int(time.time() * 1000)
    s, u = _ms(since, now), _ms(until, now)
    if not is_postgres(db):
        return await asyncio.to_thread(_sqlite, Path(db), _reports("sqlite", rooms, s, u, now, top))
    return await _postgres(str(db), _reports("postgres", rooms, s, u, now, top))


def _in_thread(coro: Any) -> list[RoomReport]:
    result: list[Any] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result.append(exc)

    thread = threading.Thread(target=target, name="fastlive-report")
    thread.start()
    thread.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _sqlite(path: Path, gen: Generator[Query, Rows, list[RoomReport]]) -> list[RoomReport]:
    """Run the queries on a SQLite file, read-only; never creates one."""
    if not path.is_file():
        raise ReportError(f"{path}: no such database: {_HINT}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ReportError(f"{path}: cannot open the database ({exc})") from None
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in TABLES if t not in names]
        if missing:
            raise ReportError(
                f"{path}: not a fastlive database (no {', '.join(missing)} table): {_HINT}"
            )
        query = next(gen)
        while True:
            sql, params = query
            query = gen.send(conn.execute(sql, params).fetchall())
    except StopIteration as stop:
        return stop.value
    except sqlite3.DatabaseError as exc:  # "file is not a database", corrupt pages...
        raise ReportError(f"{path}: not a fastlive database ({exc}): {_HINT}") from None
    finally:
        conn.close()


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2...`` (the queries have no ``?`` in text)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


async def _postgres(url: str, gen: Generator[Query, Rows, list[RoomReport]]) -> list[RoomReport]:
    """Run the queries on PostgreSQL through asyncpg."""
    try:
        import asyncpg
    except ImportError:
        raise ReportError("reading PostgreSQL needs asyncpg: pip install asyncpg") from None
    from fastlive.sinks.postgres import redact_dsn

    where = redact_dsn(url)
    try:
        conn = await asyncpg.connect(url)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = type(exc).__name__ if isinstance(exc, asyncpg.PostgresError) else exc
        raise ReportError(
            f"{where}: cannot connect to PostgreSQL ({reason}): check the URL and that the "
            "server is running"
        ) from None
    try:
        regs = await conn.fetch(
            "SELECT t, to_regclass(t) IS NOT NULL FROM unnest($1::text[]) t", list(TABLES)
        )
        missing = [t for t, present in regs if not present]
        if missing:
            raise ReportError(
                f"{where}: not a fastlive database (no {', '.join(missing)} table): {_HINT}"
            )
        query = next(gen)
        while True:
            sql, params = query
            query = gen.send(await conn.fetch(_numbered(sql), *params))
    except StopIteration as stop:
        return stop.value
    except asyncpg.PostgresError as exc:
        raise ReportError(f"{where}: the report query failed ({exc})") from None
    finally:
        await conn.close()
