"""PostgresSink: events into PostgreSQL through asyncpg, in batches, idempotent on replay.

One ``write()`` is one transaction: the batch's rows go to ``events``, ``comments``, ``gifts``,
``rooms`` and ``sessions`` with one pipelined ``executemany`` per table, every insert
``ON CONFLICT``-guarded, so writing a batch again (a retry after an outage, a replay of a
recording) stores nothing twice.  The sink creates and migrates its own tables
(``schema_version`` holds the step reached).  A connection that dies raises
:class:`~fastlive.exceptions.SinkUnavailableError` and is dropped; the next ``write()``
connects again, so a :class:`~fastlive.sinks.base.BufferedSink` around it can retry with
backoff and spill meanwhile.  The DSN's password never appears in an error or a ``repr``.

    sink = PostgresSink("postgresql://fastlive@127.0.0.1/events")
    await sink.open()
    await sink.write([("@alice", 7_400_000_000_000_100_000, comment_event)])
    await sink.aclose()

Why ``executemany`` and not ``COPY`` into temporary tables, then ``INSERT ... SELECT ... ON
CONFLICT``: measured on this project's 2-core machine with the factory's traffic, both write
25,000-30,000 events/s; executemany costs the writer 5.3 µs per event in batches of 250 and
3.6 µs in batches of 2,000, COPY 5.4 and 4.4 (the rows carry JSON text, which COPY's binary
format encodes again), and COPY needs per-connection temporary tables and in-batch dedupe
(``DISTINCT ON``) that a reconnect would have to rebuild.  Figures: benchmarks/bench_sinks.py
``--target postgres``.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from fastlive.exceptions import SinkError, SinkUnavailableError
from fastlive.sinks.base import Item
from fastlive.sinks.rows import SPECIFIC_PAIRS, RowBatch, TableRows
from fastlive.streaks import DEFAULT_STREAK_TIMEOUT

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["PostgresSink", "redact_dsn"]

_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_dsn(dsn: str) -> str:
    """The DSN with its password (in the userinfo or a ``password=`` parameter) as ``***``.

    A libpq ``key=value`` string (``host=db password=...``) has its ``password`` masked too.
    """
    if "://" not in dsn:
        return _KV_PASSWORD.sub(r"\1***", dsn)
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparsable DSN>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hosts = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hosts}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


# -- the schema: one list of statements per migration step ---------------------------------

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 0 -> 1: the five tables of schema v1, as SQLiteSink has them (BIGINT, JSONB)
        """CREATE TABLE IF NOT EXISTS events (
            room_id BIGINT NOT NULL, msg_id BIGINT NOT NULL, type TEXT NOT NULL,
            create_time BIGINT NOT NULL, user_id BIGINT, unique_id TEXT, data JSONB NOT NULL,
            UNIQUE (room_id, msg_id))""",
        "CREATE INDEX IF NOT EXISTS events_time ON events (room_id, create_time)",
        "CREATE INDEX IF NOT EXISTS events_type ON events (type, create_time)",
        """CREATE TABLE IF NOT EXISTS rooms (
            room_id BIGINT PRIMARY KEY, unique_id TEXT, first_seen BIGINT, last_seen BIGINT)""",
        """CREATE TABLE IF NOT EXISTS sessions (
            room_id BIGINT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT,
            peak_viewers BIGINT NOT NULL DEFAULT 0, UNIQUE (room_id, started_at))""",
        """CREATE TABLE IF NOT EXISTS gifts (
            room_id BIGINT NOT NULL, msg_id BIGINT NOT NULL, create_time BIGINT NOT NULL,
            user_id BIGINT, unique_id TEXT, gift_id BIGINT, gift_name TEXT,
            repeat_count BIGINT NOT NULL, diamonds BIGINT NOT NULL, UNIQUE (room_id, msg_id))""",
        "CREATE INDEX IF NOT EXISTS gifts_time ON gifts (room_id, create_time)",
        """CREATE TABLE IF NOT EXISTS comments (
            room_id BIGINT NOT NULL, msg_id BIGINT NOT NULL, create_time BIGINT NOT NULL,
            user_id BIGINT, unique_id TEXT, nickname TEXT, comment TEXT,
            UNIQUE (room_id, msg_id))""",
        "CREATE INDEX IF NOT EXISTS comments_time ON comments (room_id, create_time)",
    ),
)
"""``MIGRATIONS[n]`` steps the database from version ``n`` to ``n + 1``."""
DB_VERSION = len(MIGRATIONS)
_LOCK_KEY = 0x66_6C_6C_76  # "fllv": one advisory lock serialises concurrent migrations


_PAIRS = ", ".join(f"'{p}'" for p in sorted(SPECIFIC_PAIRS))


_INSERT_EVENT = f"""INSERT INTO events AS e
    (room_id, msg_id, type, create_time, user_id, unique_id, data)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (room_id, msg_id) DO UPDATE SET type = EXCLUDED.type, data = EXCLUDED.data
    WHERE e.type || ' ' || EXCLUDED.type IN ({_PAIRS})"""
"""A message stored under a base type (``SocialEvent``) is re-labelled by its subclass
(``FollowEvent``) when that comes with the same id; anything else already stored stays."""
_INSERT_COMMENT = """INSERT INTO comments
    (room_id, msg_id, create_time, user_id, unique_id, nickname, comment)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"""
_INSERT_GIFT = """INSERT INTO gifts (room_id, msg_id, create_time, user_id, unique_id, gift_id,
    gift_name, repeat_count, diamonds) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT DO NOTHING"""
_UPSERT_ROOM = """INSERT INTO rooms AS r (room_id, unique_id, first_seen, last_seen)
    VALUES ($1, $2, $3, $4) ON CONFLICT (room_id) DO UPDATE SET
    unique_id = COALESCE(NULLIF(EXCLUDED.unique_id, ''), r.unique_id),
    first_seen = LEAST(r.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(r.last_seen, EXCLUDED.last_seen)"""
_UPSERT_SESSION = """INSERT INTO sessions AS s (room_id, started_at, ended_at, peak_viewers)
    VALUES ($1, $2, $3, $4) ON CONFLICT (room_id, started_at) DO UPDATE SET
    ended_at = COALESCE(EXCLUDED.ended_at, s.ended_at),
    peak_viewers = GREATEST(s.peak_viewers, EXCLUDED.peak_viewers)"""


# -- the sink ------------------------------------------------------------------------------


class PostgresSink:
    """Writes batches of ``(room_key, room_id, event)`` into PostgreSQL (see the module doc).

    Args:
        dsn: ``postgresql://user:password@host:port/database`` (libpq's URL form).
        connect_timeout: Seconds to wait for a connection before the write fails.
        command_timeout: Seconds one statement may take before the write fails (and the
            connection is dropped): a stuck database never holds a batch for ever.
    """

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 10.0,
        command_timeout: float = 30.0,
        streak_timeout: float = DEFAULT_STREAK_TIMEOUT,
    ) -> None:
        self._dsn = dsn
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.rows = TableRows(streak_timeout)
        """The batches' rows: the same as SQLiteSink's (:mod:`fastlive.sinks.rows`)."""
        self._conn: Any = None
        self._migrated = False
        self._pending: tuple[list[Item], RowBatch] | None = None

    @property
    def dsn(self) -> str:
        """The DSN with its password redacted."""
        return redact_dsn(self._dsn)

    def __repr__(self) -> str:
        return f"PostgresSink({self.dsn!r})"

    async def open(self) -> None:
        """Connect, then create or migrate the tables (raises SinkUnavailableError when down)."""
        await self._connection()

    async def write(self, batch: list[Item]) -> None:
        """Store one batch in one transaction; on a lost connection, raise and reconnect next time.

        A batch retried after a failure (the same list again, as BufferedSink does) is
        stored from the rows made the first time: the streaks and sessions advance once.

        Raises:
            SinkUnavailableError: the database cannot be reached or went away (retry later).
            SinkError: the database refused the batch for another reason.
        """
        pending = self._pending
        if pending is not None and pending[0] is batch:
            rows = pending[1]
        else:
            rows = self.rows.feed(batch)
            self._pending = (batch, rows)
        await self._store(rows)
        self._pending = None

    async def aclose(self) -> None:
        """Store the open gift streaks (as timed out), then close the connection."""
        try:
            rows = self.rows.flush()
            if len(rows) and self._migrated:
                await self._store(rows)
        finally:
            conn, self._conn = self._conn, None
            if conn is not None:
                try:
                    await asyncio.wait_for(conn.close(), self.connect_timeout)
                except Exception:  # noqa: BLE001 - a close that fails still has to end it
                    conn.terminate()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals ---------------------------------------------------------------------

    async def _connection(self) -> Any:
        conn = self._conn
        if conn is not None and not conn.is_closed():
            return conn
        self._conn = None
        try:
            import asyncpg
        except ImportError:
            raise SinkError("PostgreSQL needs asyncpg: pip install 'fastlive[postgres]'") from None
        try:
            conn = await asyncpg.connect(
                self._dsn, timeout=self.connect_timeout, command_timeout=self.command_timeout
            )
        except BaseException as exc:  # noqa: BLE001 - mapped (or re-raised) by _failed
            raise await self._failed(exc, "connecting") from None
        try:
            await conn.set_type_codec(
                "jsonb", schema="pg_catalog", format="binary",
                encoder=_jsonb_encode, decoder=_jsonb_decode,
            )  # fmt: skip
            if not self._migrated:
                await self._migrate(conn)
        except BaseException as exc:  # noqa: BLE001 - mapped (or re-raised) by _failed
            error = await self._failed(exc, "preparing the tables", conn)
            conn.terminate()
            raise error from None
        self._conn = conn
        return conn

    async def _store(self, rows: RowBatch) -> None:
        if not len(rows) and not rows.comments:
            return
        conn = await self._connection()
        try:
            async with conn.transaction():
                if rows.events:
                    await conn.executemany(_INSERT_EVENT, rows.events)
                if rows.comments:
                    await conn.executemany(_INSERT_COMMENT, rows.comments)
                if rows.gifts:
                    await conn.executemany(_INSERT_GIFT, rows.gifts)
                if rows.rooms:
                    await conn.executemany(_UPSERT_ROOM, rows.rooms)
                if rows.sessions:
                    await conn.executemany(_UPSERT_SESSION, rows.sessions)
        except BaseException as exc:  # noqa: BLE001 - mapped (or re-raised) by _failed
            raise await self._failed(exc, "writing a batch", conn) from None

    async def _migrate(self, conn: Any) -> None:
        """Create or step the tables up to DB_VERSION (only read when they are current)."""
        version = None
        if await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
            version = await conn.fetchval("SELECT max(version) FROM schema_version")
        if version != DB_VERSION:  # a writer allowed only to insert gets this far, no further
            await self._step_up(conn)
        self._migrated = True

    async def _step_up(self, conn: Any) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            version = await conn.fetchval("SELECT max(version) FROM schema_version")
            if version is None:
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                version = 0
            if version > DB_VERSION:
                raise SinkError(
                    f"the database {self.dsn} has fastlive's tables at version {version}, "
                    f"newer than this fastlive writes ({DB_VERSION}): upgrade fastlive"
                )
            for step in range(version, DB_VERSION):
                for statement in MIGRATIONS[step]:
                    await conn.execute(statement)
                await conn.execute("UPDATE schema_version SET version = $1", step + 1)

    async def _failed(self, exc: BaseException, doing: str, conn: Any = None) -> BaseException:
        """The error to raise for ``exc``: connection trouble drops the connection."""
        if isinstance(exc, (SinkError, asyncio.CancelledError, KeyboardInterrupt, SystemExit)):
            if not isinstance(exc, SinkError):
                await self._drop()
            return exc
        import asyncpg

        reason = self._scrub(f"{type(exc).__name__}: {exc}")
        lost = isinstance(
            exc,
            (
                OSError,
                asyncio.TimeoutError,
                asyncpg.PostgresConnectionError,
                asyncpg.InterfaceError,
                asyncpg.exceptions.OperatorInterventionError,
                asyncpg.exceptions.InsufficientResourcesError,
            ),
        )
        if lost or (conn is not None and conn.is_closed()):
            await self._drop()
            return SinkUnavailableError(
                f"PostgreSQL at {self.dsn} is unavailable while {doing} ({reason}); "
                "the write is retried on the next call: check that the server is up"
            )
        return SinkError(f"PostgreSQL at {self.dsn} refused {doing}: {reason}")

    def _scrub(self, text: str) -> str:
        """``text`` with the DSN and its password taken out, should a driver message echo them."""
        text = text.replace(self._dsn, self.dsn)
        secrets = {m.group(2).strip("'") for m in _KV_PASSWORD.finditer(self._dsn)}
        if "://" in self._dsn:
            parts = urlsplit(self._dsn)
            secrets.add(parts.password or "")
            secrets.add(unquote(parts.password or ""))
            secrets.update(v for k, v in parse_qsl(parts.query) if k.lower() == "password")
        for secret in sorted(secrets - {""}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()


def _jsonb_encode(data: bytes | str) -> bytes:
    """JSONB's binary form: a version byte, then the JSON text (the record bytes as they are)."""
    return b"\x01" + (data if isinstance(data, bytes) else data.encode())


def _jsonb_decode(data: bytes) -> bytes:
    return data[1:]
