"""Replay a recording through the same decode path as a live connection."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

from fastlive._decode import decode, decode_fetch_result
from fastlive.batch import Batch
from fastlive.exceptions import DecodeError
from fastlive.record.frames import FETCH, FRAME, Record, read_records

__all__ = ["iter_batches", "replay"]


def iter_batches(
    path: str | os.PathLike[str],
    *,
    errors: list[DecodeError] | None = None,
    truncated: list[int] | None = None,
) -> Iterator[tuple[Record, Batch]]:
    """Each recorded server frame (and initial fetch result) decoded, as fast as possible.

    A frame that does not decode is skipped and its error appended to ``errors``
    (when given) so the caller can report it; without ``errors`` it raises.
    """
    for record in read_records(path, kinds={FRAME, FETCH}, truncated=truncated):
        try:
            batch = (
                decode(record.data) if record.kind == FRAME else decode_fetch_result(record.data)
            )
        except DecodeError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        yield record, batch


async def replay(
    path: str | os.PathLike[str], *, speed: float = 1.0, errors: list[DecodeError] | None = None
) -> AsyncIterator[tuple[Record, Batch]]:
    """Like ``iter_batches``, paced as recorded (``speed`` 2.0 plays twice as fast)."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    start_wall: float | None = None
    start_rec = 0
    for record, batch in iter_batches(path, errors=errors):
        if start_wall is None:
            start_wall, start_rec = time.monotonic(), record.time_ns
        due = start_wall + (record.time_ns - start_rec) / 1e9 / speed
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield record, batch
