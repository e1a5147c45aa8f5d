"""Real captures (``../shared/captures``) decoded by fastlive and by the protobuf runtime.

Nothing of the captures is copied here: every value is compared against what protobuf reads
from the same bytes. Skipped when the captures folder is absent.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from google.protobuf import empty_pb2
from google.protobuf.unknown_fields import UnknownFieldSet

import fastlive
import fastlive.events as ev
from fastlive import _decode
from fastlive.proto import message_class, parse
from fastlive.proto import webcast_pb2 as pb
from test_differential import assert_same, expected_event  # the shared oracle

# test-resources/*.bin: file name -> method. LikeMessage.bin is really a member message.
RESOURCES = {
    "MessageWebcastChatMessage.bin": "WebcastChatMessage",
    "MessageWebcastGiftMessage.bin": "WebcastGiftMessage",
    "MessageWebcastImDeleteMessage.bin": "WebcastImDeleteMessage",
    "MessageWebcastSocialMessage.bin": "WebcastSocialMessage",
    "WebcastMemberMessage.bin": "WebcastMemberMessage",
    "LikeMessage.bin": "WebcastMemberMessage",
}
SKIPPED = {"WebcastWebsocketMessage.as-committed.bin"}  # mangled on commit: see the README


def _payloads(root: Path) -> dict[str, list[tuple[str, bytes]]]:
    """method -> [(where, payload)], unique payloads of the collector files and test resources."""
    out: dict[str, dict[bytes, str]] = {}
    for path in sorted((root / "tiktoklivejava" / "collector").glob("*.json")):
        for method, records in json.loads(path.read_text()).items():
            for i, record in enumerate(records):
                payload = base64.b64decode(record["eventData"])
                out.setdefault(method, {}).setdefault(payload, f"{path.name}[{method}][{i}]")
    for path in sorted((root / "tiktoklivejava" / "test-resources").glob("*.bin")):
        if path.name in SKIPPED:
            continue
        assert path.name in RESOURCES, f"new test resource {path.name}: map it to its method"
        payload = base64.b64decode(path.read_text())
        out.setdefault(RESOURCES[path.name], {}).setdefault(payload, path.name)
    return {m: [(where, p) for p, where in items.items()] for m, items in out.items()}


@pytest.fixture(scope="module")
def payloads(captures_dir) -> dict[str, list[tuple[str, bytes]]]:
    found = _payloads(captures_dir)
    assert sum(map(len, found.values())) > 2000, "fewer capture payloads than the README says"
    return found


def _common_of(payload: bytes):
    """CommonMessageData (field 1) of a payload of a method without a schema, or None."""
    holder = empty_pb2.Empty()
    holder.ParseFromString(payload)
    for field in UnknownFieldSet(holder):
        if field.field_number == 1 and field.wire_type == 2:
            return pb.CommonMessageData.FromString(field.data)
        return None
    return None


@pytest.mark.parametrize("method", sorted(_decode.SPECIALISED_METHODS))
def test_specialised_methods_match_protobuf(payloads, method):
    """Every field fastlive extracts agrees with protobuf on every captured payload."""
    found = payloads.get(method, [])
    if not found:
        pytest.skip(f"no {method} in the captures")
    for where, payload in found:
        event = fastlive.decode_message(method, payload)
        try:
            assert_same(event, expected_event(method, parse(method, payload), payload), payload)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from None


def test_other_methods_have_base_fields(payloads):
    """Methods kept as payloads (or unknown): msg_id, room_id and create_time from ``common``."""
    checked = 0
    for method, found in sorted(payloads.items()):
        if method in _decode.SPECIALISED_METHODS:
            continue
        # Methods named without the prefix (2023 servers) get the prefixed method's event.
        cls = ev.EVENT_TYPES.get(method) or ev.EVENT_TYPES.get("Webcast" + method, ev.UnknownEvent)
        for where, payload in found:
            event = fastlive.decode_message(method, payload)
            assert type(event) is cls, where
            assert event.raw == payload
            if cls is ev.UnknownEvent:
                assert event.method == method, where
            common = (
                parse(method, payload).common if message_class(method) else _common_of(payload)
            ) or pb.CommonMessageData()
            got = (event.msg_id, event.room_id, event.create_time)
            assert got == (common.msg_id, common.room_id, common.create_time), where
            checked += 1
    assert checked > 500


def test_captures_cover_the_specialised_types(payloads):
    """The captures hold most of the 22 specialised types: keep them in the comparison."""
    missing = sorted(_decode.SPECIALISED_METHODS - set(payloads))
    assert len(missing) <= 2, missing


def test_captures_in_a_batch(payloads):
    """All payloads of each method in one gzip batch: the same events as one by one."""
    for method, found in sorted(payloads.items()):
        result = pb.ProtoMessageFetchResult(need_ack=True, internal_ext="-")
        for i, (_, payload) in enumerate(found):
            result.messages.add(method=method, payload=payload, msg_id=i + 1)
        batch = fastlive.decode_fetch_result(result.SerializeToString())
        assert [e.raw for e in batch.events] == [p for _, p in found]
        assert not [e for e in batch.events if isinstance(e, ev.DecodeErrorEvent)], method


def test_repaired_push_frame(captures_dir):
    """The repaired websocket frame: one like, as the captures README describes it."""
    path = captures_dir / "tiktoklivejava" / "WebcastPushFrame.repaired.bin"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    data = path.read_bytes()
    frame = pb.WebcastPushFrame.FromString(data)
    result = pb.ProtoMessageFetchResult.FromString(frame.payload)
    batch = fastlive.decode(data)
    assert (batch.seq_id, batch.payload_type) == (9, "msg")
    assert batch.log_id == frame.log_id & ((1 << 64) - 1)
    assert batch.need_ack is True
    assert batch.cursor == "1692120689751_7267603020139989890_1_1_0_0"
    assert (batch.fetch_interval, batch.internal_ext) == (4200, "-")
    assert batch.route_params == dict(result.route_params)
    assert (batch.now, batch.is_first) == (result.now, result.is_first)
    [event] = batch.events
    assert type(event) is ev.LikeEvent
    assert (event.count, event.total) == (15, 14470)
    [wrapper] = result.messages
    assert wrapper.method == "WebcastLikeMessage"
    assert_same(
        event,
        expected_event(
            wrapper.method, parse(wrapper.method, wrapper.payload), wrapper.payload, wrapper.msg_id
        ),
        wrapper.payload,
    )
    assert event.proto().common.display_text.key == "pm_mt_msg_viewer"
