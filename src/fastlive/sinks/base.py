"""The ``Sink`` protocol, and ``BufferedSink``: a slow or missing target never stalls the rooms.

A sink stores batches of ``(room_key, room_id, event)`` somewhere (a database, a
file, a queue).  :class:`BufferedSink` wraps any sink so that the rooms hand it
events without waiting (:meth:`BufferedSink.put` never blocks and does no I/O
in the common case):

- **Bounded buffer, batches.**  Events wait in memory (at most ``max_buffer``);
  one writer task sends them to the sink in batches of up to ``batch_size``,
  at least every ``flush_interval`` seconds.
- **Retry with backoff.**  A batch the sink fails to write is retried, first
  of all, after ``retry_initial`` seconds, doubling up to ``retry_max``.
- **Spill.**  With a ``spill_path``, a full buffer moves to that local file
  (length-prefixed msgpack records) instead of dropping: while the target is
  down, or slower than the rooms.  On recovery the file is written back first,
  in order, then the buffer.  Order is kept: the failed batch, then the file,
  then memory.  A spill left by an earlier run (the process ended while the
  target was down) is written back at :meth:`BufferedSink.open`.
- **Drops are counted.**  Without a spill file (or when it cannot be written),
  a full buffer drops its oldest events, counted in ``stats.dropped``.

None twice relies on the target: a batch may be written again after a failure
that happened after its commit, so the sinks' writes are idempotent (the
database sinks' ``UNIQUE (room_id, msg_id)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import msgspec

import fastlive.events as _events
from fastlive._aio import wait_event

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["BufferedSink", "Item", "Sink", "SinkStats"]

Item = tuple[str, int, Any]
"""One event as sinks get it: ``(room_key, room_id, event)``."""

logger = logging.getLogger("fastlive.sinks")

_LEN = struct.Struct(">I")


@runtime_checkable
class Sink(Protocol):
    """Where events go.  ``write`` gets batches in arrival order, one call at a time."""

    async def open(self) -> None:
        """Connect; create and migrate the target's own schema."""

    async def write(self, batch: list[Item]) -> None:
        """Store a batch of ``(room_key, room_id, event)``; raise if it was not stored."""

    async def aclose(self) -> None:
        """Flush what is pending and close."""


@dataclass
class SinkStats:
    """A :class:`BufferedSink`'s counters."""

    received: int = 0
    written: int = 0
    """Events the sink stored (a batch written twice counts twice)."""
    batches: int = 0
    failures: int = 0
    """Failed writes (each one retried)."""
    spilled: int = 0
    """Events moved to the spill file."""
    dropped: int = 0
    """Events lost: the buffer was full with no spill file, or one left at close."""
    max_buffered: int = 0
    """The most events held in memory at once."""


# -- the spill file -------------------------------------------------------------------------------


def _no_object(obj: Any) -> None:
    return None  # an ErrorEvent's exception: its text is in .error


_packer = msgspec.msgpack.Encoder(enc_hook=_no_object)
_header = msgspec.msgpack.Decoder(tuple[str, int, str, bytes])


@cache
def _event_class(name: str) -> type:
    cls = getattr(_events, name, None)
    if not isinstance(cls, type) or not issubclass(cls, msgspec.Struct):
        raise ValueError(f"not an event type of fastlive.events: {name}")  # noqa: TRY004
    return cls


@cache
def _decoder(cls: type) -> msgspec.msgpack.Decoder[Any]:
    return msgspec.msgpack.Decoder(cls)


class _Spill:
    """An append-only file of events with a read position; emptied once all is read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.size = path.stat().st_size if path.exists() else 0

    @property
    def pending(self) -> bool:
        return self.offset < self.size

    def append(self, items: Any) -> int:
        pack = _packer.encode
        chunks = []
        for room_key, room_id, event in items:
            record = pack((room_key, room_id, type(event).__name__, pack(event)))
            chunks.append(_LEN.pack(len(record)))
            chunks.append(record)
        data = b"".join(chunks)
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
        self.size += len(data)
        return len(chunks) // 2

    def read(self, n: int) -> tuple[list[Item], int]:
        """Up to ``n`` events from the read position, and the position after them."""
        out: list[Item] = []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(min(self.size - self.offset, max(n, 1) * 4096))
        pos = 0
        while len(out) < n and pos + 4 <= len(data):
            (length,) = _LEN.unpack_from(data, pos)
            if pos + 4 + length > len(data):
                if not out and self.offset + pos + 4 + length > self.size:
                    self.size = self.offset + pos  # a torn last record: dropped
                break
            room_key, room_id, name, packed = _header.decode(data[pos + 4 : pos + 4 + length])
            pos += 4 + length
            try:
                out.append((room_key, room_id, _decoder(_event_class(name)).decode(packed)))
            except (ValueError, msgspec.DecodeError):
                logger.warning("spill %s: skipped an unreadable %s record", self.path, name)
        return out, self.offset + pos

    def advance(self, offset: int) -> None:
        self.offset = offset
        if self.offset >= self.size:
            with open(self.path, "wb"):
                pass
            self.offset = self.size = 0

    def rewrite(self, head: list[Item], tail: Any) -> int:
        """Keep ``head``, then what is unread, then ``tail`` (at close: nothing read is lost)."""
        rest = []
        while self.pending:
            items, offset = self.read(10_000)
            rest.extend(items)
            self.offset = offset
        tmp = self.path.with_name(self.path.name + ".tmp")
        if tmp.exists():
            tmp.unlink()
        fresh = _Spill(tmp)
        n = fresh.append([*head, *rest, *tail])
        os.replace(tmp, self.path)
        self.offset, self.size = 0, fresh.size
        return n


# -- the buffered sink ----------------------------------------------------------------------------


class BufferedSink:
    """Give ``sink`` a bounded buffer, batching, retry with backoff and a spill file.

    Args:
        sink: the :class:`Sink` that stores the batches.
        max_buffer: events held in memory at most.
        batch_size: events per ``sink.write`` at most.
        flush_interval: seconds an event waits at most for its batch to fill.
        spill_path: the local file a full buffer moves to (None: drop the oldest, counted).
        retry_initial: seconds before the first retry of a failed write; doubles each time.
        retry_max: the longest wait between retries.
        close_timeout: seconds ``aclose()`` keeps trying to write what is pending before it
            leaves the rest in the spill file (or counts it dropped).
        name: how log lines name the target (never a password).
    """

    def __init__(
        self,
        sink: Sink,
        *,
        max_buffer: int = 50_000,
        batch_size: int = 2_000,
        flush_interval: float = 0.25,
        spill_path: str | Path | None = None,
        retry_initial: float = 0.25,
        retry_max: float = 10.0,
        close_timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        if max_buffer < 1 or batch_size < 1:
            raise ValueError("max_buffer and batch_size must be at least 1")
        if flush_interval <= 0 or retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError("flush_interval and the retry delays must be positive")
        self.sink = sink
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.close_timeout = close_timeout
        self.name = name or type(sink).__name__
        self.stats = SinkStats()
        self._spill = _Spill(Path(spill_path)) if spill_path is not None else None
        self._buffer: deque[Item] = deque()
        self._retry: list[Item] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ready = False  # the sink's open() succeeded
        self._down = False
        self._closing = False
        self._closed = False
        self._inflight = False
        self.last_error: BaseException | None = None

    def __repr__(self) -> str:
        return f"BufferedSink({self.name}, buffered={self.buffered}, down={self._down})"

    @property
    def buffered(self) -> int:
        """Events waiting in memory (the spill file not counted)."""
        return len(self._buffer) + len(self._retry or ())

    @property
    def spill_pending(self) -> bool:
        """Whether the spill file holds events not yet written back."""
        return self._spill is not None and self._spill.pending

    @property
    def down(self) -> bool:
        """The last write (or open) failed; events wait, spill or drop until one succeeds."""
        return self._down

    async def open(self) -> None:
        """Open the sink and start the writer; a failure is logged and retried, never raised."""
        if self._task is not None:
            return
        try:
            await self.sink.open()
            self._ready = True
        except Exception as exc:  # noqa: BLE001 (any failure of the target is retried)
            self._failed(exc, "open")
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"fastlive:sink:{self.name}"
        )

    def put(self, room_key: str, room_id: int, event: Any) -> None:
        """Queue one event (never blocks); a full buffer spills or drops its oldest."""
        if self._closed:
            self.stats.dropped += 1
            return
        buffer = self._buffer
        buffer.append((room_key, room_id, event))
        self.stats.received += 1
        n = len(buffer)
        self.stats.max_buffered = max(self.stats.max_buffered, n)
        if n >= self.batch_size:
            self._wake.set()
        if n > self.max_buffer:
            self._overflow()

    async def write(self, batch: list[Item]) -> None:
        """The :class:`Sink` face: queue the batch (``put`` each)."""
        for item in batch:
            self.put(*item)

    async def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written; False if ``timeout`` came first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.buffered or self.spill_pending or self._inflight:
            if deadline is not None and loop.time() >= deadline:
                return False
            self._wake.set()
            await asyncio.sleep(0.01)
        return True

    async def aclose(self) -> None:
        """Write what is pending (for up to ``close_timeout`` s), then close the sink.

        What could not be written stays in the spill file for the next run, or is counted
        dropped without one.
        """
        if self._closed:
            return
        self._closing = True
        self._wake.set()
        task = self._task
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=self.close_timeout)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._closed = True
        head, tail = list(self._retry or ()), list(self._buffer)
        if head or tail or self.spill_pending:
            self._keep(head, tail)
        self._retry = None
        self._buffer.clear()
        if self._ready:
            try:
                await self.sink.aclose()
            except Exception as exc:  # noqa: BLE001 (any failure of the target is retried)
                self._failed(exc, "close")

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals -----------------------------------------------------------------------------

    def _overflow(self) -> None:
        """The buffer is over ``max_buffer``: move it to the spill file, or drop the oldest."""
        buffer = self._buffer
        if self._spill is not None:
            try:
                self.stats.spilled += self._spill.append(buffer)
                buffer.clear()
                return
            except OSError as exc:
                logger.error("sink %s: cannot spill to %s: %s", self.name, self._spill.path, exc)
        while len(buffer) > self.max_buffer:
            buffer.popleft()
            self.stats.dropped += 1

    def _keep(self, head: list[Item], tail: list[Item]) -> None:
        """At close: the failed batch, the unread spill, then the buffer go to the spill file
        (in that order), or are counted dropped."""
        left = head + tail
        if self._spill is not None:
            try:
                n = self._spill.rewrite(head, tail)
                logger.warning(
                    "sink %s: %d events left in %s, written back at the next open",
                    self.name, n, self._spill.path,
                )  # fmt: skip
                self.stats.spilled += len(left)
                return
            except OSError as exc:
                logger.error("sink %s: cannot spill to %s: %s", self.name, self._spill.path, exc)
        if left:
            self.stats.dropped += len(left)
            logger.error("sink %s: %d events dropped at close", self.name, len(left))

    def _failed(self, exc: BaseException, what: str) -> None:
        self.stats.failures += 1
        self.last_error = exc
        if not self._down:
            logger.warning("sink %s: %s failed (%s: %s); retrying", self.name, what,
                           type(exc).__name__, exc)  # fmt: skip
        self._down = True

    def _take(self) -> tuple[list[Item], int | None]:
        """The next batch, in order: the failed one, the spill file, then memory."""
        if self._retry:
            return self._retry, None
        if self._spill is not None and self._spill.pending:
            return self._spill.read(self.batch_size)
        buffer = self._buffer
        n = min(self.batch_size, len(buffer))
        return [buffer.popleft() for _ in range(n)], None

    async def _run(self) -> None:
        delay = self.retry_initial
        while True:
            if not self._ready:
                try:
                    await self.sink.open()
                    self._ready = True
                except Exception as exc:  # noqa: BLE001 (any failure of the target is retried)
                    self._failed(exc, "open")
                    if self._closing:
                        return
                    await self._pause(delay)
                    delay = min(delay * 2, self.retry_max)
                    continue
            if (
                not self._retry
                and not self.spill_pending
                and len(self._buffer) < self.batch_size
                and not self._closing
            ):
                self._wake.clear()
                await wait_event(self._wake, self.flush_interval)
            batch, offset = self._take()
            if not batch:
                if offset is not None and self._spill is not None:
                    self._spill.advance(offset)  # unreadable records only
                    continue
                if self._closing:
                    return
                continue
            if offset is None:
                self._retry = batch  # until written: a cancel at close keeps it too
            self._inflight = True
            try:
                await self.sink.write(batch)
            except Exception as exc:  # noqa: BLE001 (any failure of the target is retried)
                self._inflight = False
                self._failed(exc, "write")
                await self._pause(delay)
                delay = min(delay * 2, self.retry_max)
                continue
            self._inflight = False
            if offset is not None and self._spill is not None:
                self._spill.advance(offset)
            else:
                self._retry = None
            if self._down:
                logger.warning("sink %s: writing again", self.name)
            self._down = False
            delay = self.retry_initial
            self.stats.written += len(batch)
            self.stats.batches += 1

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` s before the next try (at close too: it is bounded by ``aclose``)."""
        await asyncio.sleep(delay)
