"""The event schema: the one JSON form of every event, versioned (``"v": 1``).

``fastlive watch --jsonl`` prints it, the database sinks store it (``events.data``)
and the dashboard relays it.  Every record is a JSON object with, first::

    {"v": 1, "type": "CommentEvent", "room": "@alice", "room_id": 7400..., "msg_id": 7450...,
     "create_time": 1767225600000, ...}

- ``v``: :data:`SCHEMA_VERSION`; a change of any record's fields or types means a new one.
- ``type``: the event's class name (``FollowEvent``, not ``SocialEvent``: the most specific).
- ``room``: the room's key as watched: ``"@handle"``, or the room id as text.
- ``room_id``: the room's numeric id (the event's own, else the room's).
- ``msg_id``: TikTok's message id, unique per room; ``0`` for the client's own events
  (``ConnectEvent``, ``DisconnectEvent``...), the streak's last message for ``GiftStreakEvent``.
- ``create_time``: milliseconds since the epoch: the server's time of the message; for a
  ``GiftStreakEvent`` its last message's; for the client's own events, when the record was made.

Then every field of the event's Struct except ``raw`` (the payload bytes) and
``ErrorEvent.exception`` (its ``error`` text stays), with nested users and gifts as
objects; decoded events also carry their ``method``.  :func:`json_schema` is the JSON
Schema of all of it, generated from the Structs (``fastlive schema`` prints it).
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any, Literal, Union

import msgspec

import fastlive.events as _events
from fastlive.events import BaseEvent, ClientEvent, GiftStreakEvent

__all__ = [
    "RECORD_TYPES",
    "SCHEMA_VERSION",
    "encode_record",
    "event_record",
    "json_schema",
    "record_types",
]

SCHEMA_VERSION = 1
"""The ``v`` of every record; bumped whenever a record's fields or their types change."""

_SKIPPED = frozenset({"raw", "exception", "room_id", "msg_id", "create_time"})


def _event_classes() -> list[type]:
    """Every concrete event class of ``fastlive.events``, in ``__all__`` order."""
    out = []
    for name in _events.__all__:
        cls = getattr(_events, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, (BaseEvent, ClientEvent))
            and cls not in (BaseEvent, ClientEvent)
        ):
            out.append(cls)
    return out


RECORD_TYPES: tuple[type, ...] = tuple(_event_classes())
"""The event classes the schema describes (decoded events and the client's own)."""


@cache
def _fields(cls: type) -> tuple[str, ...]:
    """The event's own fields as written to a record, in Struct order (``method`` first)."""
    names = [f for f in cls.__struct_fields__ if f not in _SKIPPED]  # type: ignore[attr-defined]
    if issubclass(cls, BaseEvent) and "method" not in names:
        names.insert(0, "method")
    return tuple(names)


def _record(room_key: str, room_id: int, event: Any, now: int | None) -> dict[str, Any]:
    cls = type(event)
    if isinstance(event, BaseEvent):
        msg_id, created = event.msg_id, event.create_time
    elif cls is GiftStreakEvent:
        msg_id, created = event.msg_id, event.last_time
    else:
        msg_id, created = 0, now if now is not None else int(time.time() * 1000)
    out: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "type": cls.__name__,
        "room": room_key,
        "room_id": getattr(event, "room_id", 0) or room_id or 0,
        "msg_id": msg_id,
        "create_time": created,
    }
    for name in _fields(cls):
        out[name] = getattr(event, name)
    return out


def event_record(room_key: str, room_id: int, event: Any, *, now: int | None = None) -> dict:
    """The record of ``event`` from room ``room_key`` as plain JSON data (dicts, lists, scalars).

    ``now`` (ms) is the ``create_time`` of the client's own events; the wall clock if None.
    """
    return msgspec.to_builtins(_record(room_key, room_id, event, now), enc_hook=repr)


_encoder = msgspec.json.Encoder(enc_hook=repr)


def encode_record(room_key: str, room_id: int, event: Any, *, now: int | None = None) -> bytes:
    """:func:`event_record` as JSON bytes (encoded straight from the Structs: no copy)."""
    return _encoder.encode(_record(room_key, room_id, event, now))


# -- the JSON Schema, generated from the Structs -------------------------------------------------


@cache
def record_types() -> tuple[type, ...]:
    """One msgspec Struct per record type (tagged by ``type``), made from the event Structs."""
    out = []
    for cls in RECORD_TYPES:
        own = {f.name: f for f in msgspec.structs.fields(cls)}
        fields: list[Any] = [
            ("v", Literal[1]),  # type: ignore[valid-type]
            ("room", str),
            ("room_id", int),
            ("msg_id", int),
            ("create_time", int),
        ]
        for name in _fields(cls):
            kind = own[name].type if name in own else str
            fields.append((name, kind))
        out.append(
            msgspec.defstruct(
                cls.__name__,
                fields,
                tag_field="type",
                tag=cls.__name__,
                forbid_unknown_fields=True,
                module=__name__,
            )
        )
    return tuple(out)


@cache
def _schema() -> dict[str, Any]:
    union = Union[record_types()]  # noqa: UP007 (a runtime union of generated types)
    schema = msgspec.json.schema(union)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"fastlive event record, v{SCHEMA_VERSION}",
        "description": (
            "One JSON object per event: v, type, room, room_id, msg_id and create_time (ms), "
            "then the event's fields."
        ),
        **schema,
    }


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every record: a ``oneOf`` tagged by ``type``."""
    return msgspec.json.decode(msgspec.json.encode(_schema()))
