"""Where the events go: the ``Sink`` protocol, ``BufferedSink``, SQLite and PostgreSQL.

    sink = open_sink("events.db")           # or "postgresql://user@host/db"
    async with Monitor(["@alice"], sinks=[sink]) as monitor:
        ...

:func:`open_sink` picks the sink by its target and wraps it in a
:class:`BufferedSink` (bounded buffer, batches, retry with backoff, a spill file
while the database is down).  Any object with ``open``, ``write`` and ``aclose``
(:class:`Sink`) can be given to the Monitor; it is wrapped the same way.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastlive.exceptions import SinkError
from fastlive.sinks.base import BufferedSink, Item, Sink, SinkStats
from fastlive.sinks.sqlite import SQLiteSink

__all__ = ["BufferedSink", "Item", "SQLiteSink", "Sink", "SinkStats", "is_postgres", "open_sink"]


def is_postgres(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL database (``postgresql://``, ``postgres://``)."""
    return str(target).startswith(("postgresql://", "postgres://"))


def open_sink(
    target: str | Path, *, spill_path: str | Path | None = None, **options: Any
) -> BufferedSink:
    """A :class:`BufferedSink` over the database ``target`` names (opened by the Monitor).

    ``postgresql://...`` or ``postgres://...`` is PostgreSQL; anything else is the path of
    an SQLite file.  The spill file defaults to ``<file>.spill`` beside an SQLite database
    and to ``fastlive-postgres-<hash of the DSN>.spill`` in the current folder for
    PostgreSQL; one process writes to one database at a time through it.  ``options`` go
    to :class:`BufferedSink` (``max_buffer``, ``batch_size``...).

    Raises:
        SinkError: the SQLite file's folder does not exist.
    """
    if is_postgres(target):
        from fastlive.sinks.postgres import PostgresSink

        pg = PostgresSink(str(target))
        digest = hashlib.sha256(pg.dsn.encode()).hexdigest()[:12]  # one file per database
        default = Path(f"fastlive-postgres-{digest}.spill")
        spill = Path(spill_path) if spill_path is not None else default
        return BufferedSink(pg, spill_path=spill, name=pg.dsn, **options)
    path = Path(target)
    if not path.parent.is_dir():
        raise SinkError(f"{path}: no such folder (make it first, or give another --db path)")
    spill = Path(spill_path) if spill_path is not None else path.with_name(path.name + ".spill")
    return BufferedSink(SQLiteSink(path), spill_path=spill, name=str(path), **options)
