"""Protobuf on the wire by hand: varints, a message's ``common`` read from its bytes, a message
of any method, and the two envelopes around messages (the fetch batch and the push frame).

Both the builders and ``FakeTikTok`` use these, so a payload is framed one way everywhere.
"""

from __future__ import annotations

import gzip as _gzip
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    common_data,
)

__all__ = [
    "common_of",
    "fetch_result",
    "generic",
    "message_parts",
    "push_frame",
    "read_varint",
    "varint",
]


def varint(value: int) -> bytes:
    """``value`` as a protobuf varint (a negative one as its 64-bit two's complement)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``data[pos:]`` and the position after it; ValueError if cut short."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def common_of(payload: bytes) -> pb.CommonMessageData | None:
    """Field 1 (``CommonMessageData``) of a webcast message, read from the wire."""
    pos = 0
    while pos < len(payload):
        key, pos = read_varint(payload, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = read_varint(payload, pos)
        elif wire == 2:
            size, pos = read_varint(payload, pos)
            if field == 1:
                return pb.CommonMessageData.FromString(payload[pos : pos + size])
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            return None
    return None


def message_parts(item: Any) -> tuple[str, bytes, int]:
    """``(method, payload, msg_id)`` from a tuple, or from a bare payload's ``common``."""
    if isinstance(item, (bytes, bytearray, memoryview)):
        common = common_of(bytes(item))
        if common is None or not common.method:
            raise ValueError("a bare message payload needs common.method: pass a tuple")
        return common.method, bytes(item), common.msg_id
    method, payload, msg_id = item
    return str(method), bytes(payload), int(msg_id)


def generic(
    method: str,
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
    extra: bytes = b"",
) -> bytes:
    """A message of any method, schema or not: just ``common`` (field 1), then ``extra`` raw
    bytes (more fields, already encoded)."""
    common = common_data(method, msg_id, room_id, create_time).SerializeToString()
    return b"\x0a" + varint(len(common)) + common + extra


def fetch_result(
    messages: Sequence[tuple[str, bytes, int]],
    *,
    cursor: str | None = None,
    internal_ext: str | None = None,
    need_ack: bool = True,
    is_first: bool = False,
    push_server: str = "wss://webcast16-ws-useast1a.tiktok.com/webcast/im/push/v2/",
    route_params: Mapping[str, str] | None = None,
    fetch_interval: int = 1_000,
    now: int = DEFAULT_TIME_MS,
    heartbeat_duration: int = 10_000,
) -> bytes:
    """A ``ProtoMessageFetchResult`` batch of (method, payload, msg_id) messages."""
    last_id = messages[-1][2] if messages else 0
    if cursor is None:
        cursor = f"{now}_{last_id}_1_1_0_0"
    if internal_ext is None:
        internal_ext = (
            f"internal_src:dim|wss_push_did:0|first_req_ms:{now - 1_000}|fetch_time:{now}"
            f"|seq:1|wss_info:0-{now}-0-0|wrds_v:{last_id}"
        )
    result = pb.ProtoMessageFetchResult(
        cursor=cursor,
        fetch_interval=fetch_interval,
        now=now,
        internal_ext=internal_ext,
        heartbeat_duration=heartbeat_duration,
        need_ack=need_ack,
        push_server=push_server,
        is_first=is_first,
    )
    if route_params is None:
        route_params = {"room_id": str(DEFAULT_ROOM_ID), "compress": "gzip", "imprp": "1"}
    result.route_params.update(route_params)
    for method, payload, msg_id in messages:
        result.messages.add(method=method, payload=payload, msg_id=msg_id)
    return result.SerializeToString()


def push_frame(
    payload: bytes,
    *,
    log_id: int,
    payload_type: str = "msg",
    gzip: bool = True,
    seq_id: int = 0,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> bytes:
    """A ``WebcastPushFrame``; ``gzip`` compresses the payload and sets ``compress_type``."""
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
    if not any(key == "compress_type" for key, _ in pairs):
        pairs.insert(0, ("compress_type", "gzip" if gzip else "none"))
    if gzip:
        payload = _gzip.compress(payload, mtime=0)
    frame = pb.WebcastPushFrame(
        seq_id=seq_id,
        log_id=log_id,
        payload_encoding="pb",
        payload_type=payload_type,
        payload=payload,
    )
    for key, value in pairs:
        frame.headers.add(key=key, value=value)
    return frame.SerializeToString()
