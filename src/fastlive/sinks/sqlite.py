"""``SQLiteSink``: events into an SQLite file, the embedded default (``watch --db events.db``).

WAL mode (readers, such as ``fastlive report``, never block the writer), one
transaction per batch, on a thread of its own so the event loop never waits
for the disk.  The schema is created and migrated here (:data:`MIGRATIONS`,
stepped through ``schema_version``); the rows are :mod:`fastlive.sinks.rows`'.
Every insert is idempotent: ``INSERT OR IGNORE`` under ``UNIQUE (room_id, msg_id)``,
upserts for ``rooms`` and ``sessions``, so a retried batch, a reconnect's backlog
or a replay of the same recording stores nothing twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastlive.exceptions import SinkError
from fastlive.sinks.base import Item
from fastlive.sinks.rows import SPECIFIC_PAIRS, RowBatch, TableRows
from fastlive.streaks import DEFAULT_STREAK_TIMEOUT

__all__ = ["MIGRATIONS", "SQLiteSink"]

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: the five tables of schema v1
    """
    CREATE TABLE events (
        room_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, type TEXT NOT NULL,
        create_time INTEGER NOT NULL, user_id INTEGER, unique_id TEXT, data TEXT NOT NULL,
        UNIQUE (room_id, msg_id)
    );
    CREATE INDEX events_time ON events (room_id, create_time);
    CREATE TABLE rooms (
        room_id INTEGER PRIMARY KEY, unique_id TEXT, first_seen INTEGER, last_seen INTEGER
    );
    CREATE TABLE sessions (
        room_id INTEGER NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER,
        peak_viewers INTEGER NOT NULL DEFAULT 0,
        UNIQUE (room_id, started_at)
    );
    CREATE TABLE gifts (
        room_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, create_time INTEGER NOT NULL,
        user_id INTEGER, unique_id TEXT, gift_id INTEGER, gift_name TEXT,
        repeat_count INTEGER NOT NULL, diamonds INTEGER NOT NULL,
        UNIQUE (room_id, msg_id)
    );
    CREATE INDEX gifts_time ON gifts (room_id, create_time);
    CREATE TABLE comments (
        room_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, create_time INTEGER NOT NULL,
        user_id INTEGER, unique_id TEXT, nickname TEXT, comment TEXT,
        UNIQUE (room_id, msg_id)
    );
    CREATE INDEX comments_time ON comments (room_id, create_time);
    """,
)
"""``MIGRATIONS[n]`` steps the database from version ``n`` to ``n + 1``."""

_PAIRS = ", ".join(f"'{p}'" for p in sorted(SPECIFIC_PAIRS))
_INSERT_EVENTS = (
    "INSERT INTO events (room_id, msg_id, type, create_time, user_id, unique_id, data) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (room_id, msg_id) DO UPDATE SET "
    "type = excluded.type, data = excluded.data "
    f"WHERE events.type || ' ' || excluded.type IN ({_PAIRS})"
)
_INSERT_COMMENTS = "INSERT OR IGNORE INTO comments VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_GIFTS = "INSERT OR IGNORE INTO gifts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_UPSERT_ROOMS = (
    "INSERT INTO rooms VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET "
    "unique_id = COALESCE(NULLIF(excluded.unique_id, ''), rooms.unique_id), "
    "first_seen = MIN(rooms.first_seen, excluded.first_seen), "
    "last_seen = MAX(rooms.last_seen, excluded.last_seen)"
)
_UPSERT_SESSIONS = (
    "INSERT INTO sessions VALUES (?, ?, ?, ?) ON CONFLICT (room_id, started_at) DO UPDATE SET "
    "ended_at = COALESCE(excluded.ended_at, sessions.ended_at), "
    "peak_viewers = MAX(sessions.peak_viewers, excluded.peak_viewers)"
)


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Create or step the schema to the newest version; return the version found before."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    found = row[0] if row is not None else 0
    if row is None:
        conn.execute("INSERT INTO schema_version VALUES (0)")
    if found > len(MIGRATIONS):
        raise SinkError(
            f"{path} holds schema version {found}, newer than this fastlive's "
            f"{len(MIGRATIONS)}: upgrade fastlive, or use another file"
        )
    for version in range(found, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


class SQLiteSink:
    """Events into the SQLite file at ``path`` (made if absent); a :class:`~fastlive.sinks.Sink`.

    Args:
        path: the database file; its folder must exist.
        busy_timeout: seconds a write waits for another connection's lock before it fails
            (and :class:`~fastlive.sinks.BufferedSink` retries it).
        streak_timeout: seconds of a room's message time that close a silent gift streak.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 5.0,
        streak_timeout: float = DEFAULT_STREAK_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.rows = TableRows(streak_timeout)
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="fastlive-sqlite")
        self._pending: tuple[list[Item], RowBatch] | None = None

    def __repr__(self) -> str:
        return f"SQLiteSink({str(self.path)!r})"

    async def _call(self, f: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, f, *args)

    async def open(self) -> None:
        """Open the file, WAL mode on, schema created or migrated."""
        await self._call(self._open)

    def _open(self) -> None:
        if self._conn is not None:
            return
        if not self.path.parent.is_dir():
            raise SinkError(f"{self.path}: no such folder (make it first)")
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise SinkError(f"{self.path}: cannot open the database ({exc})") from exc
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            migrate(conn, str(self.path))
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SinkError(f"{self.path}: not a usable database ({exc})") from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def write(self, batch: list[Item]) -> None:
        """Store one batch in one transaction (on the sink's thread)."""
        await self._call(self._write, batch)

    def _write(self, batch: list[Item]) -> None:
        pending = self._pending
        if pending is not None and pending[0] is batch:  # the same batch, retried
            rows = pending[1]
        else:
            rows = self.rows.feed(batch)
            self._pending = (batch, rows)
        self._store(rows)
        self._pending = None

    def _store(self, rows: RowBatch) -> None:
        conn = self._conn
        if conn is None:
            self._open()
            conn = self._conn
            assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            if rows.events:
                conn.executemany(_INSERT_EVENTS, rows.events)
            if rows.comments:
                conn.executemany(_INSERT_COMMENTS, rows.comments)
            if rows.gifts:
                conn.executemany(_INSERT_GIFTS, rows.gifts)
            if rows.rooms:
                conn.executemany(_UPSERT_ROOMS, rows.rooms)
            if rows.sessions:
                conn.executemany(_UPSERT_SESSIONS, rows.sessions)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def aclose(self) -> None:
        """Store the open gift streaks (as timed out), then close the file."""
        try:
            await self._call(self._close)
        finally:
            self._thread.shutdown(wait=False)

    def _close(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            rows = self.rows.flush()
            if len(rows):
                self._store(rows)
        finally:
            self._conn = None
            conn.close()
