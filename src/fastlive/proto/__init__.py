"""Full protobuf decoding of webcast messages: the slow path behind ``BaseEvent.proto()``.

The classes in ``webcast_pb2`` are generated from ``proto/webcast.proto`` (``python
proto/generate.py``), which is built from the v3 schema dump (``python proto/build_schema.py``).
The compiled decoder never uses them; they serve ``event.proto()``, the lazy attributes of
events, the test factory and tests. The runtime loads on first use (``fields`` needs none of it).
"""

from __future__ import annotations

import importlib
import struct
from typing import TYPE_CHECKING, Any

from fastlive.exceptions import DecodeError

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from fastlive.proto import webcast_pb2

__all__ = ["ENVELOPE_TYPES", "LEGACY_METHODS", "message_class", "parse", "webcast_pb2"]

ENVELOPE_TYPES = (
    "WebcastPushFrame",
    "PushHeader",
    "ProtoMessageFetchResult",
    "BaseProtoMessage",
    "HeartBeatMessage",
    "WebcastImEnterRoomMessage",
)
"""Frame and batch types, accepted by ``message_class`` and ``parse`` like method names."""

LEGACY_METHODS = {
    "RoomMessage": "WebcastRoomMessage",
    "LinkMicMethod": "WebcastLinkMicMethod",
}
"""Method names without the ``Webcast`` prefix, seen in 2023 captures, and their schema."""


_CLASSES: dict[str, type[Message]] = {}
_PARSE_ERRORS: tuple[type[BaseException], ...] = ()


def _load() -> dict[str, type[Message]]:
    """Import the generated module and index its method classes (once)."""
    global _PARSE_ERRORS
    if _CLASSES:
        return _CLASSES
    from google.protobuf.message import Error as _ProtobufError

    webcast_pb2 = importlib.import_module("fastlive.proto.webcast_pb2")
    _PARSE_ERRORS = (
        _ProtobufError,  # upb and the C++ runtime raise message.DecodeError
        # The pure-Python runtime can also leak these on malformed input:
        ValueError,
        IndexError,
        KeyError,
        TypeError,
        OverflowError,
        RecursionError,
        struct.error,
    )
    out: dict[str, type[Message]] = {}
    for name in webcast_pb2.DESCRIPTOR.message_types_by_name:
        if name.startswith("Webcast") or name in ENVELOPE_TYPES:
            out[name] = getattr(webcast_pb2, name)
    for legacy, name in LEGACY_METHODS.items():
        out[legacy] = out[name]
    _CLASSES.update(out)
    return _CLASSES


def __getattr__(name: str) -> Any:
    """``fastlive.proto.webcast_pb2`` loads on first use."""
    if name == "webcast_pb2":
        return importlib.import_module("fastlive.proto.webcast_pb2")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def message_class(method: str) -> type[Message] | None:
    """The generated class for a method name (or an envelope type name), None when unknown."""
    return (_CLASSES or _load()).get(method)


def parse(method: str, payload: bytes) -> Message:
    """Decode a message payload of ``method`` with the protobuf runtime.

    Raises:
        DecodeError: the method has no schema, or the payload does not parse (never a protobuf
            exception). ``offset`` is 0: the runtime does not say where parsing failed.
    """
    cls = (_CLASSES or _load()).get(method)
    if cls is None:
        raise DecodeError(f"no schema for method {method}", offset=0, method=method)
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError(f"payload must be bytes, not {type(payload).__name__}")
    message = cls()
    try:
        message.ParseFromString(bytes(payload))
    except _PARSE_ERRORS as exc:
        raise DecodeError(
            f"payload does not parse as {method} ({type(exc).__name__}: {exc})",
            offset=0,
            method=method,
        ) from None
    return message
