"""A fleet worker: holds a fair share of the wanted rooms as leases, watches them with a
Monitor, and publishes their events to ``FASTLIVE_EVENTS``.

Every ``lease_ttl / 3`` seconds a worker heartbeats in ``fastlive_members``, renews each of
its leases by a revision compare-and-swap, releases the rooms no longer wanted and, if it
holds more than its share (``ceil(wanted / live workers)``, at most ``capacity``), sheds the
rest; below its share it ``create``-s leases on free rooms.  A lease it cannot renew stops
its room at once.  A watchdog stops every room whose last good renewal is older than the
TTL, so a worker cut from NATS (or frozen) stops before anyone else may take its rooms
(self-fencing); the stream's de-duplication absorbs the short overlap of a move.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import socket
from dataclasses import dataclass, field
from typing import Any, Self

import msgspec

from fastlive._config import Settings
from fastlive.fleet.buckets import (
    DEFAULT_LEASE_TTL,
    LEASES,
    MEMBERS,
    NATS_ERRORS,
    WANTED,
    connect,
    kv_keys,
    open_bucket,
    wanted_rooms,
)
from fastlive.fleet.publisher import NatsSink

__all__ = ["DEFAULT_CAPACITY", "Worker", "WorkerStats"]

DEFAULT_CAPACITY = 300
MAX_BATCH = 512

logger = logging.getLogger("fastlive.fleet")


@dataclass
class WorkerStats:
    """Lease counters of one worker."""

    taken: int = 0
    renewed: int = 0
    released: int = 0
    lost: int = 0  # a renewal failed: the room stopped at once
    fenced: int = 0  # no good renewal within the TTL: the room stopped
    shed: int = 0  # released for a fair share


@dataclass
class _Lease:
    room: str
    revision: int
    renewed_at: float  # loop time the last good renewal was sent


@dataclass
class _Held:
    leases: dict[str, _Lease] = field(default_factory=dict)


class Worker:
    """One worker of the fleet (``fastlive worker``).

    Args:
        nats_url: the NATS server; or pass ``nc`` (a connection, not closed here).
        name: this worker's name in the members bucket (default ``host-pid``).
        capacity: the most rooms it holds.
        lease_ttl: seconds, for the leases bucket if this worker creates it (an existing
            bucket's TTL wins, so the fleet agrees).
        settings: the Monitor's settings (``Settings.from_env()`` if None).
        monitor_kwargs: extra ``Monitor`` arguments (``poll_interval``, ``sign_limiter``...).
    """

    def __init__(
        self,
        nats_url: str | None = None,
        *,
        nc: Any = None,
        name: str | None = None,
        capacity: int = DEFAULT_CAPACITY,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        settings: Settings | None = None,
        monitor_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if lease_ttl <= 0:
            raise ValueError("lease_ttl must be positive")
        self.nats_url = nats_url
        self._nc = nc
        self._owns_nc = nc is None
        raw = name or f"{socket.gethostname()}-{os.getpid()}"
        self.name = "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)
        self.capacity = capacity
        self.lease_ttl = lease_ttl
        self.settings = settings
        self._monitor_kwargs = dict(monitor_kwargs or {})
        self.stats = WorkerStats()
        self._held = _Held()
        self._tasks: list[asyncio.Task[Any]] = []
        self._lock = asyncio.Lock()
        self.monitor: Any = None
        self.sink: NatsSink | None = None

    def __repr__(self) -> str:
        return f"Worker({self.name!r}, rooms={len(self._held.leases)})"

    @property
    def rooms(self) -> list[str]:
        """The rooms this worker holds leases on now."""
        return sorted(lease.room for lease in self._held.leases.values())

    # -- life ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, open the buckets and the stream, start the Monitor and the lease loop."""
        from fastlive.monitor import Monitor
        from fastlive.monitor.limits import SignLimiter

        if self._nc is None:
            self._nc = await connect(self.nats_url)  # type: ignore[arg-type]
        js = self._nc.jetstream(timeout=max(0.5, min(5.0, self.lease_ttl / 3)))
        self._wanted = await open_bucket(js, WANTED)
        self._members = await open_bucket(js, MEMBERS, self.lease_ttl)
        self._leases = await open_bucket(js, LEASES, self.lease_ttl)
        status = await self._leases.status()
        if status.ttl:
            self.lease_ttl = float(status.ttl)
        self.sink = NatsSink(nc=self._nc)
        await self.sink.open()
        settings = self.settings if self.settings is not None else Settings.from_env()
        kwargs = dict(self._monitor_kwargs)
        kwargs.setdefault("sign_limiter", SignLimiter.from_settings(settings))
        self.monitor = Monitor(settings=settings, **kwargs)
        await self.monitor.start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._publish_loop(), name=f"fastlive:worker-publish:{self.name}"),
            loop.create_task(self._lease_loop(), name=f"fastlive:worker-leases:{self.name}"),
            loop.create_task(self._fence_loop(), name=f"fastlive:worker-fence:{self.name}"),
        ]

    async def aclose(self, *, release: bool = True) -> None:
        """Stop: release the leases (others take the rooms at once), leave the members."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for key in list(self._held.leases):
            await self._stop(key, release=release)
        if release and self._nc is not None and self._nc.is_connected:
            with contextlib.suppress(*NATS_ERRORS):
                await self._members.delete(self.name)
        if self.monitor is not None:
            await self.monitor.aclose()
        if self.sink is not None:
            await self.sink.aclose()
        if self._owns_nc and self._nc is not None:
            with contextlib.suppress(*NATS_ERRORS):
                await self._nc.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- leases -------------------------------------------------------------------

    def _value(self, key: str) -> bytes:
        lease = self._held.leases.get(key)
        room = self.monitor.rooms.get(lease.room) if lease else None
        return msgspec.json.encode(
            {
                "owner": self.name,
                "room": lease.room if lease else key,
                "state": room.state.value if room else None,
                "mode": room.mode if room else None,
                "events": room.stats.events_total if room else 0,
            }
        )

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except NATS_ERRORS as exc:
                logger.warning("worker %s: lease round failed: %s", self.name, exc)
            await asyncio.sleep(self.lease_ttl / 3)

    async def tick(self) -> None:
        """One round: heartbeat, renew, release the unwanted, shed or take to the fair share."""
        async with self._lock:
            await self._round()

    async def _round(self) -> None:
        loop = asyncio.get_running_loop()
        member = msgspec.json.encode({"capacity": self.capacity, "rooms": len(self._held.leases)})
        await self._members.put(self.name, member)
        wanted = await wanted_rooms(self._wanted)
        for key in list(self._held.leases):
            if key not in wanted:
                await self._stop(key, release=True)
                continue
            sent = loop.time()
            try:
                revision = await self._leases.update(
                    key, self._value(key), last=self._held.leases[key].revision
                )
            except NATS_ERRORS as exc:
                logger.warning(
                    "worker %s: lost the lease of %s (%s): stopped",
                    self.name,
                    self._held.leases[key].room,
                    type(exc).__name__,
                )
                self.stats.lost += 1
                await self._stop(key, release=False)
                continue
            lease = self._held.leases[key]
            lease.revision, lease.renewed_at = revision, sent
            self.stats.renewed += 1
        live = max(1, len(await kv_keys(self._members)))
        share = min(self.capacity, math.ceil(len(wanted) / live))
        while len(self._held.leases) > share:  # shed the newest to a fair share
            key = next(reversed(self._held.leases))
            self.stats.shed += 1
            await self._stop(key, release=True)
        if len(self._held.leases) >= share:
            return
        taken = set(await kv_keys(self._leases))
        free = [k for k in wanted if k not in taken and k not in self._held.leases]
        free.sort(key=lambda k: hashlib.blake2b(f"{self.name}/{k}".encode()).digest())
        for key in free:
            if len(self._held.leases) >= share:
                break
            sent = loop.time()
            try:
                revision = await self._leases.create(
                    key, msgspec.json.encode({"owner": self.name, "room": wanted[key]})
                )
            except NATS_ERRORS as exc:  # someone was quicker, or NATS is away
                logger.debug("worker %s: %s not taken: %s", self.name, key, type(exc).__name__)
                continue
            self._held.leases[key] = _Lease(wanted[key], revision, sent)
            self.stats.taken += 1
            self.monitor.add(wanted[key])
            logger.info("worker %s: took %s", self.name, wanted[key])

    async def _stop(self, key: str, *, release: bool) -> None:
        """Stop watching the room of ``key`` at once; delete its lease if ``release``."""
        lease = self._held.leases.pop(key, None)
        if lease is None:
            return
        with contextlib.suppress(KeyError):
            await self.monitor.remove(lease.room)
        if release:
            self.stats.released += 1
            with contextlib.suppress(*NATS_ERRORS):
                await self._leases.delete(key, last=lease.revision)

    async def _fence_loop(self) -> None:
        """Stop every room whose last good renewal is older than the TTL (self-fencing)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.lease_ttl / 20)
            now = loop.time()
            for key, lease in list(self._held.leases.items()):
                if now - lease.renewed_at >= self.lease_ttl:
                    logger.warning(
                        "worker %s: no renewal of %s within the TTL: stopped", self.name, lease.room
                    )
                    self.stats.fenced += 1
                    await self._stop(key, release=False)

    # -- events -------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        """The Monitor's events, in batches of what is waiting, onto the stream."""
        stream = self.monitor.events()
        sink = self.sink
        assert sink is not None
        async for room, event in stream:
            batch = [(room.key, room.room_id or 0, event)]
            for _ in range(min(stream.pending, MAX_BATCH)):
                room, event = await stream.__anext__()
                batch.append((room.key, room.room_id or 0, event))
            await sink.write(batch)
