"""Events onto the durable JetStream stream ``FASTLIVE_EVENTS``, each once.

Subjects are ``fastlive.events.<room_id>.<type>`` (consumers pick rooms and types by
wildcard); the payload is the schema record (``fastlive.schema``, what ``watch --jsonl``
prints); the header ``Nats-Msg-Id: <room_id>:<msg_id>`` lets the server drop a message it
already holds, so two workers briefly watching the same room, or a batch resent after a lost
ack, store it once.  The client's own events (connect, disconnect, streaks...) have no
TikTok msg id: they get one unique to this publisher.

Publishing is asynchronous: a batch goes out at once, then its acks are awaited; what was
not acknowledged (a server restart, a lost connection) is resent under the same id until
it is.  Fire-and-forget would lose events across a server restart.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from dataclasses import dataclass
from typing import Any

from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from fastlive.events import BaseEvent
from fastlive.fleet.buckets import NATS_ERRORS, connect
from fastlive.schema import encode_record

__all__ = [
    "DEFAULT_DUPLICATE_WINDOW",
    "STREAM",
    "SUBJECTS",
    "NatsSink",
    "PublishStats",
    "ensure_stream",
    "subject_of",
]

STREAM = "FASTLIVE_EVENTS"
SUBJECTS = "fastlive.events.>"
DEFAULT_DUPLICATE_WINDOW = 600.0
"""Seconds the server remembers msg ids: well past a lease TTL plus the longest reconnect."""
DEFAULT_ACK_TIMEOUT = 5.0
RESEND_MAX_DELAY = 2.0

logger = logging.getLogger("fastlive.fleet")
_instance = itertools.count()


@dataclass
class PublishStats:
    """What a publisher did: messages acknowledged, duplicates the server dropped, resends."""

    acked: int = 0
    duplicates: int = 0
    resends: int = 0
    batches: int = 0


def subject_of(room_id: int, type_name: str) -> str:
    return f"fastlive.events.{room_id}.{type_name}"


async def ensure_stream(js: Any, duplicate_window: float = DEFAULT_DUPLICATE_WINDOW) -> None:
    """Create ``FASTLIVE_EVENTS`` if it is absent (file storage: it survives a restart)."""
    try:
        await js.stream_info(STREAM)
        return
    except NotFoundError:
        pass
    config = StreamConfig(
        name=STREAM,
        subjects=[SUBJECTS],
        storage=StorageType.FILE,
        duplicate_window=duplicate_window,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:  # a concurrent create won the race
        await js.stream_info(STREAM)


class NatsSink:
    """A Sink (``open``/``write``/``aclose``) that publishes to ``FASTLIVE_EVENTS``.

    Args:
        url: the NATS server (``nats://host:4222``); or pass ``nc``, a connection (not closed).
        duplicate_window: seconds, for the stream if this sink creates it.
        ack_timeout: seconds to wait for one batch's acks before resending the rest.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        nc: Any = None,
        duplicate_window: float = DEFAULT_DUPLICATE_WINDOW,
        ack_timeout: float = DEFAULT_ACK_TIMEOUT,
    ) -> None:
        if url is None and nc is None:
            raise ValueError("NatsSink needs a url or a connection (nc)")
        self.url = url
        self._nc = nc
        self._owns_nc = nc is None
        self._js: Any = None
        self.duplicate_window = duplicate_window
        self.ack_timeout = ack_timeout
        self.stats = PublishStats()
        # ids for the client's own events: unique per process and sink
        self._prefix = f"c{os.getpid():x}.{next(_instance)}"
        self._seq = itertools.count(1)
        self._closed = False

    def __repr__(self) -> str:
        return f"NatsSink(acked={self.stats.acked}, resends={self.stats.resends})"

    async def open(self) -> None:
        """Connect (if given a URL) and make sure the stream exists."""
        if self._nc is None:
            self._nc = await connect(self.url)  # type: ignore[arg-type]
        self._js = self._nc.jetstream()
        await ensure_stream(self._js, self.duplicate_window)

    def message(self, room_key: str, room_id: int, event: Any) -> tuple[str, bytes, str]:
        """``(subject, payload, Nats-Msg-Id)`` of one event."""
        room_id = getattr(event, "room_id", 0) or room_id or 0
        name = type(event).__name__
        if isinstance(event, BaseEvent) and event.msg_id:
            msg_id = f"{room_id}:{event.msg_id}"
        else:
            msg_id = f"{room_id}:{self._prefix}.{next(self._seq)}"
        return subject_of(room_id, name), encode_record(room_key, room_id, event), msg_id

    async def write(self, batch: list[tuple[str, int, Any]]) -> None:
        """Publish a batch and return once the server acknowledged all of it.

        Unacknowledged messages are resent under the same id (the server drops any it
        already holds) with a growing pause, until acknowledged or the sink is closed.
        """
        if self._js is None:
            raise RuntimeError("NatsSink.write before open()")
        pending = [self.message(*item) for item in batch]
        self.stats.batches += 1
        delay = 0.05
        while pending:
            pending = await self._send(pending)
            if not pending or self._closed:
                return
            self.stats.resends += len(pending)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESEND_MAX_DELAY)

    async def _send(self, messages: list[tuple[str, bytes, str]]) -> list[tuple[str, bytes, str]]:
        """Send all, await the acks; return the messages not acknowledged."""
        futures: list[Any] = []
        for subject, payload, msg_id in messages:
            try:
                fut = await self._js.publish_async(
                    subject, payload, headers={"Nats-Msg-Id": msg_id}, wait_stall=self.ack_timeout
                )
            except NATS_ERRORS as exc:
                logger.debug("publish failed: %s", type(exc).__name__)
                fut = None
            futures.append(fut)
        waiting = [f for f in futures if f is not None]
        if waiting:
            await asyncio.wait(waiting, timeout=self.ack_timeout)
        failed = []
        for message, fut in zip(messages, futures, strict=True):
            if fut is None or not fut.done():
                if fut is not None:
                    fut.cancel()
                failed.append(message)
                continue
            if fut.cancelled() or fut.exception() is not None:
                failed.append(message)
                continue
            ack = fut.result()
            self.stats.acked += 1
            if ack.duplicate:
                self.stats.duplicates += 1
        return failed

    async def aclose(self) -> None:
        """Stop resending; close the connection if this sink made it."""
        self._closed = True
        if self._owns_nc and self._nc is not None:
            await self._nc.close()
