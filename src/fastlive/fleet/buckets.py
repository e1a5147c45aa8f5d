"""The fleet's key-value buckets on NATS JetStream: who is alive, who holds which room, which
rooms are wanted; and the library face of ``fastlive rooms add|remove|list``.

Three buckets, all with bucket TTLs only (no per-key TTL markers: they need server 2.11 and
nats-py 2.16 mishandles them), so everything here works on server 2.9 and newer:

- ``fastlive_wanted``: the rooms the fleet should watch; no TTL.
- ``fastlive_members``: one key per live worker, put again at every heartbeat; a short TTL
  makes a dead worker vanish.
- ``fastlive_leases``: one key per room being watched, ``create``-d by its owner and renewed
  by a revision compare-and-swap; the TTL frees the room of a worker that died.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

import msgspec
import nats
import nats.errors
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError, NotFoundError

from fastlive.exceptions import FleetError

__all__ = [
    "DEFAULT_LEASE_TTL",
    "LEASES",
    "MEMBERS",
    "NATS_ERRORS",
    "WANTED",
    "RoomEntry",
    "add_rooms",
    "connect",
    "kv_keys",
    "list_rooms",
    "open_bucket",
    "remove_rooms",
    "room_kv_key",
]

WANTED = "fastlive_wanted"
MEMBERS = "fastlive_members"
LEASES = "fastlive_leases"
DEFAULT_LEASE_TTL = 10.0
"""Seconds a lease lives without renewal (renewed every third of it)."""

FIRST_CONNECT_TIMEOUT = 5.0
"""Seconds to reach NATS at start; after that, reconnects go on for ever."""
NATS_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)
"""What a NATS call raises when the server is away, slow or says no."""

_HANDLE = re.compile(r"^@?([A-Za-z0-9_.]{1,64})$")


def room_kv_key(room: str | int) -> str:
    """The bucket key of a room: ``u_<handle>`` (``.`` as ``=``) or ``id_<room id>``."""
    text = str(room).strip()
    if text.isdigit():
        return f"id_{text}"
    m = _HANDLE.match(text)
    if m is None:
        raise ValueError(f"{room!r} is not a TikTok handle or a room id")
    return "u_" + m.group(1).lower().replace(".", "=")


def room_name(room: str | int) -> str:
    """The room as the Monitor keys it: ``@handle`` or the room id as text."""
    text = str(room).strip()
    return text if text.isdigit() else "@" + text.lstrip("@").lower()


async def connect(url: str, **kwargs: Any) -> Any:
    """A NATS connection to ``url`` that reconnects for ever (the password stays out of errors)."""
    kwargs.setdefault("max_reconnect_attempts", -1)
    kwargs.setdefault("reconnect_time_wait", 0.5)
    kwargs.setdefault("connect_timeout", 5)
    kwargs.setdefault("allow_reconnect", True)
    try:
        # nats-py retries a first connect for ever too: bound it
        return await asyncio.wait_for(nats.connect(url, **kwargs), FIRST_CONNECT_TIMEOUT)
    except (*NATS_ERRORS, ValueError) as exc:
        raise FleetError(
            f"cannot reach NATS at {_safe_url(url)}: {type(exc).__name__}; "
            "is nats-server -js running there?"
        ) from None


def _safe_url(url: str) -> str:
    """``url`` without a user or password."""
    return re.sub(r"//[^@/]*@", "//", url)


async def open_bucket(js: Any, bucket: str, ttl: float | None = None) -> Any:
    """The key-value bucket ``bucket``, created with ``ttl`` (seconds) if absent.

    An existing bucket keeps its TTL: every worker then follows the same one.
    """
    try:
        return await js.key_value(bucket)
    except (BucketNotFoundError, NotFoundError):
        pass
    try:
        return await js.create_key_value(KeyValueConfig(bucket=bucket, ttl=ttl, history=1))
    except nats.js.errors.BadRequestError:  # a concurrent create won the race
        return await js.key_value(bucket)


async def kv_keys(kv: Any) -> list[str]:
    """The bucket's live keys (``[]`` for none; nats-py raises for an empty bucket)."""
    try:
        return await kv.keys()
    except NoKeysError:
        return []


@dataclass(frozen=True)
class RoomEntry:
    """One wanted room as ``fastlive rooms list`` shows it."""

    room: str
    owner: str | None = None
    state: str | None = None
    mode: str | None = None
    events: int = 0


async def add_rooms(js: Any, rooms: list[str | int]) -> list[str]:
    """Add rooms to the wanted set; the fleet's workers take them within one renewal."""
    kv = await open_bucket(js, WANTED)
    out = []
    for room in rooms:
        name = room_name(room)
        await kv.put(room_kv_key(room), msgspec.json.encode({"room": name}))
        out.append(name)
    return out


async def remove_rooms(js: Any, rooms: list[str | int]) -> list[str]:
    """Remove rooms from the wanted set; their owners stop and release them."""
    kv = await open_bucket(js, WANTED)
    out = []
    for room in rooms:
        await kv.delete(room_kv_key(room))
        out.append(room_name(room))
    return out


async def wanted_rooms(kv: Any) -> dict[str, str]:
    """The wanted set: bucket key -> room name."""
    out = {}
    for key in await kv_keys(kv):
        entry = await _get(kv, key)
        if entry is not None:
            out[key] = entry.get("room", key)
    return out


async def _get(kv: Any, key: str) -> dict[str, Any] | None:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:  # KeyDeletedError included
        return None
    if not entry.value:
        return None
    return msgspec.json.decode(entry.value)


async def list_rooms(js: Any, lease_ttl: float = DEFAULT_LEASE_TTL) -> list[RoomEntry]:
    """Every wanted room with its owner, state, mode and event count (from its lease)."""
    wanted = await open_bucket(js, WANTED)
    leases = await open_bucket(js, LEASES, lease_ttl)
    out = []
    for key, room in sorted((await wanted_rooms(wanted)).items(), key=lambda kv: kv[1]):
        lease = await _get(leases, key) or {}
        out.append(
            RoomEntry(
                room,
                lease.get("owner"),
                lease.get("state"),
                lease.get("mode"),
                int(lease.get("events", 0)),
            )
        )
    return out
