"""Record the raw websocket frames of a room, and read them back.

The format is append-only and survives a crash mid-write: a reader stops at
the first record that is incomplete or whose checksum fails, and everything
before it is intact.

    file    := MAGIC record*
    MAGIC   := b"FLREC1\\n"                       (7 bytes)
    record  := header body
    header  := struct "<QBII": time_ns u64, kind u8, length u32, crc32 u32   (17 bytes)
    body    := length bytes; crc32 is zlib.crc32(body)

``time_ns`` is wall-clock time (``time.time_ns()``) when the record was taken,
so recordings of several rooms (and a video beside them) share one clock.
Kinds: ``FRAME`` a websocket binary message from the server, ``FETCH`` the
sign server's initial fetch result, ``SENT`` a frame the client sent, ``META``
a JSON object (room id, handle, fastlive version, connection mode: the first record).
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
from typing_extensions import Self

from fastlive.exceptions import RecordingError
from fastlive.session import FETCH, FRAME, META, SENT

__all__ = ["FETCH", "FRAME", "META", "SENT", "Record", "Recorder", "RecordingError", "read_records"]

MAGIC = b"FLREC1\n"
_HEADER = struct.Struct("<QBII")
_KINDS = {FRAME, FETCH, SENT, META}
MAX_RECORD = 64 * 1024 * 1024


class Record(msgspec.Struct, frozen=True, gc=False):
    """One record: when, what kind, and the bytes."""

    time_ns: int
    kind: int
    data: bytes

    def meta(self) -> dict[str, Any]:
        """The JSON of a ``META`` record."""
        return json.loads(self.data)


class Recorder:
    """Appends records to a file; each record is flushed as a whole.

    Use as a context manager, or call ``close()``.  ``fsync=True`` also asks
    the OS to put each record on disk (slower; for when power loss matters).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        meta: dict[str, Any] | None = None,
        fsync: bool = False,
    ) -> None:
        self.path = Path(path)
        self._fsync = fsync
        new = not self.path.exists() or self.path.stat().st_size == 0
        if not new:
            _cut_torn_tail(self.path)
        try:
            self._file: BinaryIO = open(self.path, "ab")  # noqa: SIM115 (closed in close())
        except OSError as exc:
            raise RecordingError(f"cannot open {self.path} for recording: {exc.strerror}") from None
        if new:
            self._file.write(MAGIC)
        elif not _has_magic(self.path):
            self._file.close()
            raise RecordingError(f"{self.path} exists and is not a fastlive recording")
        self.records = 0
        self.bytes = 0
        if meta is not None:
            self.write(META, json.dumps(meta, sort_keys=True).encode())

    def write(self, kind: int, data: bytes, time_ns: int | None = None) -> None:
        """Append one record (``time_ns`` defaults to now)."""
        if kind not in _KINDS:
            raise ValueError(f"unknown record kind {kind}")
        if len(data) > MAX_RECORD:
            raise RecordingError(f"record of {len(data)} bytes is larger than {MAX_RECORD}")
        when = time.time_ns() if time_ns is None else time_ns
        header = _HEADER.pack(when, kind, len(data), zlib.crc32(data))
        try:
            self._file.write(header + data)
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            raise RecordingError(
                f"writing {self.path} failed ({exc.strerror}); what was written before is kept"
            ) from None
        self.records += 1
        self.bytes += len(header) + len(data)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cut_torn_tail(path: Path) -> None:
    """Drop an incomplete last record (a crash mid-write) so appending can go on."""
    if not _has_magic(path):
        return
    end: list[int] = []
    for _ in read_records(path, truncated=end):
        pass
    if end and end[0] < path.stat().st_size:
        os.truncate(path, end[0])


def _has_magic(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def read_records(
    path: str | os.PathLike[str],
    *,
    kinds: set[int] | None = None,
    truncated: list[int] | None = None,
) -> Iterator[Record]:
    """Yield the records of a recording, in order, stopping at a torn tail.

    When the file ends in an incomplete or corrupt record (a crash mid-write),
    reading stops there; if ``truncated`` is a list, the byte offset of that
    tail is appended to it so callers can say what was lost.

    Raises:
        RecordingError: the file is not a fastlive recording.
    """
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        if f.read(len(MAGIC)) != MAGIC:
            raise RecordingError(f"{path} is not a fastlive recording (no {MAGIC!r} header)")
        offset = len(MAGIC)
        while True:
            header = f.read(_HEADER.size)
            if not header:
                return
            if len(header) < _HEADER.size:
                break
            time_ns, kind, length, crc = _HEADER.unpack(header)
            if kind not in _KINDS or length > MAX_RECORD:
                break
            data = f.read(length)
            if len(data) < length or zlib.crc32(data) != crc:
                break
            offset += _HEADER.size + length
            if kinds is None or kind in kinds:
                yield Record(time_ns, kind, data)
        if truncated is not None:
            truncated.append(offset)
