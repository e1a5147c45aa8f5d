"""The generated protobuf schema: up to date, and it reads every captured payload."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


from conftest import CAPTURES

SHARED = CAPTURES.parent
TIKTOKLIVEJAVA = CAPTURES / "tiktoklivejava"
DUMP = SHARED / "webcast_v3_schema_dump.txt"
from fastlive.exceptions import DecodeError
from fastlive.proto import message_class, parse, webcast_pb2

needs_captures = pytest.mark.skipif(
    not TIKTOKLIVEJAVA.is_dir(), reason=f"captures not found at {CAPTURES} (../shared/captures)"
)


def _collector_payloads() -> list[tuple[str, str, bytes]]:
    """(file name, method, payload) of every record of the collector files."""
    out = []
    for path in sorted((TIKTOKLIVEJAVA / "collector").glob("*.json")):
        for method, records in json.loads(path.read_text(encoding="utf-8")).items():
            out.extend((path.name, method, base64.b64decode(r["eventData"])) for r in records)
    return out


# ---------------------------------------------------------------------------
# Generated files are up to date


def test_generated_pb2_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "proto" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not DUMP.exists(), reason=f"schema dump not found at {DUMP}")
def test_build_schema_reproduces_the_committed_proto(tmp_path: Path) -> None:
    out = tmp_path / "webcast.proto"
    subprocess.run(
        [sys.executable, str(ROOT / "proto" / "build_schema.py"), str(DUMP), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    committed = (ROOT / "proto" / "webcast.proto").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed


def test_every_event_method_has_a_class() -> None:
    from fastlive.events import EVENT_TYPES

    missing = [method for method in EVENT_TYPES if message_class(method) is None]
    assert missing == []


@pytest.mark.parametrize(
    "name",
    [
        "WebcastPushFrame",
        "PushHeader",
        "ProtoMessageFetchResult",
        "BaseProtoMessage",
        "HeartBeatMessage",
        "WebcastImEnterRoomMessage",
    ],
)
def test_envelope_types_have_classes(name: str) -> None:
    assert message_class(name) is getattr(webcast_pb2, name)


def test_message_class_unknown_and_non_method_names() -> None:
    assert message_class("WebcastNoSuchMessage") is None
    assert message_class("User") is None  # a type, not a method
    assert message_class("RoomMessage") is webcast_pb2.WebcastRoomMessage  # 2023 name


def test_heartbeat_matches_the_documented_bytes() -> None:
    """protocol.md §3.4: room 7140000000000000001, seq 1."""
    hb = webcast_pb2.HeartBeatMessage(room_id=7140000000000000001, send_packet_seq_id=1)
    assert hb.SerializeToString().hex(" ") == "08 81 80 a8 82 bb 85 98 8b 63 10 01"
    frame = webcast_pb2.WebcastPushFrame(
        payload_encoding="pb", payload_type="hb", payload=hb.SerializeToString()
    )
    assert frame.SerializeToString().hex(" ") == (
        "32 02 70 62 3a 02 68 62 42 0c 08 81 80 a8 82 bb 85 98 8b 63 10 01"
    )


# ---------------------------------------------------------------------------
# Captured payloads parse


@needs_captures
def test_collector_payloads_parse() -> None:
    records = _collector_payloads()
    assert records, "no collector records found"
    parsed = 0
    for name, method, payload in records:
        if message_class(method) is None:
            continue
        message = parse(method, payload)
        parsed += 1
        if payload and hasattr(message, "common"):
            # Every message carries its own method name in common (2023 names included).
            assert message.common.method, (name, method)
    assert parsed > 2_000


@needs_captures
@pytest.mark.parametrize(
    ("filename", "method"),
    [
        ("MessageWebcastChatMessage.bin", "WebcastChatMessage"),
        ("MessageWebcastGiftMessage.bin", "WebcastGiftMessage"),
        ("MessageWebcastImDeleteMessage.bin", "WebcastImDeleteMessage"),
        ("MessageWebcastSocialMessage.bin", "WebcastSocialMessage"),
        ("WebcastMemberMessage.bin", "WebcastMemberMessage"),
        ("LikeMessage.bin", "WebcastMemberMessage"),  # mislabelled in the source repository
    ],
)
def test_test_resources_parse(filename: str, method: str) -> None:
    payload = base64.b64decode((TIKTOKLIVEJAVA / "test-resources" / filename).read_bytes())
    message = parse(method, payload)
    assert message.common.method == method
    assert message.common.msg_id > 0


@needs_captures
def test_repaired_push_frame_parses() -> None:
    raw = (TIKTOKLIVEJAVA / "WebcastPushFrame.repaired.bin").read_bytes()
    frame = parse("WebcastPushFrame", raw)
    assert frame.payload_type == "msg"
    assert frame.payload_encoding == "pb"
    assert {h.key: h.value for h in frame.headers}["compress_type"] == "none"
    batch = parse("ProtoMessageFetchResult", frame.payload)
    assert batch.need_ack is True
    assert batch.fetch_interval == 4200
    assert [m.method for m in batch.messages] == ["WebcastLikeMessage"]
    like = parse("WebcastLikeMessage", batch.messages[0].payload)
    assert (like.count, like.total) == (15, 14_470)
    assert like.common.display_text.key == "pm_mt_msg_viewer"


# ---------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xff\xff\xff\xff",  # truncated varint key
        b"\x0a\x10abc",  # length past the end
        b"\x0f",  # wire type 7 does not exist
        b"\x1a\x02\xff\xfe",  # field 3 (content, a string) not UTF-8
    ],
)
def test_parse_raises_decode_error_on_garbage(garbage: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        parse("WebcastChatMessage", garbage)
    assert info.value.method == "WebcastChatMessage"
    assert info.value.offset == 0
    assert info.value.__cause__ is None


def test_parse_raises_decode_error_on_unknown_method() -> None:
    with pytest.raises(DecodeError) as info:
        parse("WebcastNoSuchMessage", b"")
    assert info.value.reason == "no schema for method WebcastNoSuchMessage"
    assert info.value.method == "WebcastNoSuchMessage"


def test_parse_accepts_empty_and_memoryview() -> None:
    assert parse("WebcastChatMessage", b"").content == ""
    chat = webcast_pb2.WebcastChatMessage(content="hi").SerializeToString()
    assert parse("WebcastChatMessage", memoryview(chat)).content == "hi"


def test_event_proto_uses_parse() -> None:
    from fastlive.events import CommentEvent

    payload = webcast_pb2.WebcastChatMessage(content="hi").SerializeToString()
    assert CommentEvent(raw=payload).proto().content == "hi"
    with pytest.raises(DecodeError):
        CommentEvent(raw=b"\xff").proto()
