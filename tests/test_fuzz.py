"""Malformed input: ``fastlive.decode`` returns a Batch or raises DecodeError, nothing else.

Hypothesis mutates realistic frames (the factory's, gzip and plain, and the repaired capture
frame when ``../shared/captures`` is there) at every layer: the frame, the batch inside the gzip,
and one message payload inside the batch. Deterministic tests pin the reason and offset of
each kind of error.
"""

from __future__ import annotations

import gzip
import tracemalloc

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlive
import fastlive.events as ev
from conftest import CAPTURES, gzip_bomb, read_varint, varint
from fastlive import Batch, DecodeError
from fastlive.proto import webcast_pb2 as pb

REPAIRED = CAPTURES / "tiktoklivejava" / "WebcastPushFrame.repaired.bin"

try:
    from fastlive.testing import factory
    from fastlive.testing.factory.traffic import BUILDER_METHODS as BUILDERS
except ImportError:  # the factory is optional here: fall back to a few hand-built messages
    factory = None

SMALL = ("control", "caption", "im_delete", "hourly_rank_reward", "rank_update", "goal_update")


def _hand_built() -> dict[str, tuple[str, bytes]]:
    like = pb.WebcastLikeMessage(count=3, total=2**40)
    like.common.msg_id, like.common.room_id = 2**62 + 5, 7_140_000_000_000_000_001
    like.user.id, like.user.nickname, like.user.display_id = 2**60, "Ada \U0001f9da", "ada.x"
    control = pb.WebcastControlMessage(action=3, tips="bye")
    im_delete = pb.WebcastImDeleteMessage(delete_msg_ids=[1, -1, 2**63 - 1])
    return {
        "like": ("WebcastLikeMessage", like.SerializeToString()),
        "control": ("WebcastControlMessage", control.SerializeToString()),
        "im_delete": ("WebcastImDeleteMessage", im_delete.SerializeToString()),
    }


def messages() -> dict[str, tuple[str, bytes]]:
    """name -> (method, payload): the factory's messages, or hand-built ones without it."""
    if factory is None:
        return _hand_built()
    return {name: (method, getattr(factory, name)()) for name, method in BUILDERS.items()}


MESSAGES = messages()


def batch_bytes(names, **fields) -> bytes:
    result = pb.ProtoMessageFetchResult(
        cursor="1_2_3", internal_ext="fetch_time:1|seq:1", need_ack=True, **fields
    )
    result.route_params["room_id"] = "7140000000000000001"
    for i, name in enumerate(names):
        method, payload = MESSAGES[name]
        result.messages.add(method=method, payload=payload, msg_id=1000 + i)
    return result.SerializeToString()


def frame_bytes(
    batch: bytes,
    *,
    gzip_it: bool,
    header: bool = True,
    log_id: int = 2**63 + 7,
    payload_type: str = "msg",
) -> bytes:
    frame = pb.WebcastPushFrame(
        seq_id=9,
        log_id=log_id - 2**64 if log_id >= 2**63 else log_id,
        payload_encoding="pb",
        payload_type=payload_type,
    )
    if gzip_it:
        batch = gzip.compress(batch, mtime=0)
    if header:
        frame.headers.add(key="compress_type", value="gzip" if gzip_it else "none")
    frame.payload = batch
    return frame.SerializeToString()


def _seeds() -> list[tuple[bytes, bool]]:
    """(batch bytes, gzip?) pairs that frames are made of."""
    small = [n for n in SMALL if n in MESSAGES] or list(MESSAGES)
    batches = [batch_bytes(small), batch_bytes(list(MESSAGES)), batch_bytes([])]
    batches += [batch_bytes([name]) for name in MESSAGES]
    if factory is not None:
        for traffic in factory.random_traffic(seed=3, n_frames=2):
            batches.append(factory.fetch_result(traffic[:6]))
    if REPAIRED.exists():
        repaired = pb.WebcastPushFrame.FromString(REPAIRED.read_bytes())
        batches.append(repaired.payload)
    return [(b, g) for b in batches for g in (False, True)]


SEEDS = _seeds()
SMALL_FRAME = frame_bytes(batch_bytes([n for n in SMALL if n in MESSAGES][:3]), gzip_it=False)


def check(data: bytes, **kwargs) -> Batch | None:
    """Decode; only a Batch of valid Structs or a DecodeError with a sane offset may come out."""
    try:
        batch = fastlive.decode(data, **kwargs)
    except DecodeError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        assert isinstance(exc.offset, int) and exc.offset >= 0
        return None
    assert isinstance(batch, Batch)
    msgspec.to_builtins(batch)
    for event in batch.events:
        assert isinstance(event, ev.BaseEvent)
        msgspec.json.encode(event.to_dict())
        if isinstance(event, ev.DecodeErrorEvent):
            assert event.reason and 0 <= event.offset <= len(event.raw)
    return batch


# ---------------------------------------------------------------------------
# Mutations


def length_offsets(data: bytes, base: int = 0, depth: int = 0) -> list[tuple[int, int]]:
    """(offset, size) of the length varints of every LEN field that parses, nested too."""
    out, pos = [], 0
    try:
        while pos < len(data):
            tag, pos = read_varint(data, pos)
            wt = tag & 7
            if tag >> 3 == 0:
                return out
            if wt == 0:
                _, pos = read_varint(data, pos)
            elif wt == 1 or wt == 5:
                pos += 8 if wt == 1 else 4
            elif wt == 2:
                start = pos
                n, pos = read_varint(data, pos)
                out.append((base + start, pos - start))
                if depth < 6:
                    out += length_offsets(data[pos : pos + n], base + pos, depth + 1)
                pos += n
            else:
                return out
    except (IndexError, ValueError):  # cut short: the offsets found so far
        pass
    return out


@st.composite
def mutate(draw, data: bytes) -> bytes:
    """One to four mutations of ``data``."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(
            st.sampled_from(
                ["flip", "truncate", "insert", "delete", "length", "overwrite", "duplicate"]
            )
        )
        n = len(buf)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            buf[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del buf[draw(st.integers(0, n)) :]
        elif op == "insert":
            i = draw(st.integers(0, n))
            buf[i:i] = draw(st.binary(min_size=1, max_size=12))
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del buf[i : i + draw(st.integers(1, 8))]
        elif op == "overwrite" and n:
            i = draw(st.integers(0, n - 1))
            chunk = draw(st.binary(min_size=1, max_size=8))
            buf[i : i + len(chunk)] = chunk
        elif op == "duplicate" and n:
            i = draw(st.integers(0, n - 1))
            buf[i:i] = buf[i : i + draw(st.integers(1, 32))]
        elif op == "length":
            spots = length_offsets(bytes(buf))
            if spots:
                at, size = draw(st.sampled_from(spots))
                old, _ = read_varint(bytes(buf), at)
                new = draw(
                    st.sampled_from(
                        [
                            varint(old + 1),
                            varint(max(old - 1, 0)),
                            varint(2**31),
                            varint(2**63),
                            varint(2**64 - 1),
                            b"\xff" * 10 + b"\x01",
                            b"\x80" * 9 + b"\x00",
                            varint(old) if old >= 0x80 else bytes([old | 0x80, 0]),  # overlong
                            b"\x80",
                        ]
                    )
                )
                buf[at : at + size] = new
    return bytes(buf)


@st.composite
def mutated_frames(draw) -> tuple[bytes, bool]:
    """A frame mutated at one layer: the frame, the batch, or one message payload."""
    batch, gzip_it = draw(st.sampled_from(SEEDS))
    header = draw(st.booleans())
    layer = draw(st.sampled_from(["frame", "batch", "message"]))
    if layer == "message":
        result = pb.ProtoMessageFetchResult.FromString(batch)
        if result.messages:
            i = draw(st.integers(0, len(result.messages) - 1))
            result.messages[i].payload = draw(mutate(result.messages[i].payload))
            if draw(st.booleans()):
                result.messages[i].method = draw(
                    st.sampled_from(sorted(ev.EVENT_TYPES) + ["X", "", "RoomMessage"])
                )
        batch = result.SerializeToString()
    elif layer == "batch":
        batch = draw(mutate(batch))
    data = frame_bytes(batch, gzip_it=gzip_it, header=header)
    if layer == "frame":
        data = draw(mutate(data))
    return data, gzip_it


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated_frames())
def test_mutated_frames_decode_or_raise_decode_error(case):
    data, gzip_it = case
    check(data)
    if not gzip_it:
        try:
            fastlive.decode(data)
        except DecodeError as exc:
            assert exc.offset <= len(data)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data):
    check(data)
    try:
        fastlive.decode_fetch_result(data)
    except DecodeError:
        pass


@FUZZ
@given(st.sampled_from(sorted(ev.EVENT_TYPES) + ["WebcastNotAThing", "RoomMessage", ""]), st.data())
def test_mutated_messages(method, data):
    """decode_message on a mutated payload: an event of the method or a DecodeError."""
    _, payload = data.draw(st.sampled_from(sorted(MESSAGES.values())))
    payload = data.draw(mutate(payload))
    try:
        event = fastlive.decode_message(method, payload)
    except DecodeError as exc:
        assert exc.method == method and 0 <= exc.offset <= len(payload)
        return
    assert isinstance(event, ev.BaseEvent) and event.raw == payload
    msgspec.json.encode(event.to_dict())


def test_every_truncation_of_a_small_frame():
    data = SMALL_FRAME
    assert 100 < len(data) < 2000
    assert check(data) is not None
    for cut in range(len(data)):
        check(data[:cut])
        check(data[:cut] + data[cut + 1 :])  # one byte deleted


def test_every_truncation_of_a_gzip_batch():
    batch = batch_bytes([n for n in SMALL if n in MESSAGES][:2])
    packed = gzip.compress(batch, mtime=0)
    for cut in range(len(packed)):
        with pytest.raises(DecodeError):
            fastlive.decode(
                frame_bytes(packed[:cut], gzip_it=False, header=True).replace(b"none", b"gzip")
            )


def test_mutated_repaired_capture_frame():
    """Every bit of the repaired capture frame flipped in turn (when the captures are there)."""
    if not REPAIRED.exists():
        pytest.skip(f"{REPAIRED} is absent")
    data = REPAIRED.read_bytes()
    for i in range(0, len(data), 7):
        for bit in (0, 3, 7):
            check(data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :])


# ---------------------------------------------------------------------------
# Gzip


@pytest.mark.parametrize("limit", [0, 1, 1000, 1 << 20])
def test_gzip_bomb_with_a_small_limit(limit):
    bomb = gzip_bomb(64 << 20)
    assert len(bomb) < 100_000
    frame = frame_bytes(bomb, gzip_it=False, header=True)
    with pytest.raises(DecodeError) as info:
        _peak_bytes(
            lambda: fastlive.decode(frame, max_inflated_size=limit), under=limit + (4 << 20)
        )
    assert f"max_inflated_size={limit}" in info.value.reason


def test_gzip_bomb_past_the_default_limit():
    bomb = gzip_bomb(fastlive.DEFAULT_MAX_INFLATED_SIZE + 1)
    with pytest.raises(DecodeError, match="max_inflated_size"):
        fastlive.decode(frame_bytes(bomb, gzip_it=False, header=False))  # sniffed magic
    with pytest.raises(DecodeError, match="max_inflated_size"):
        fastlive.decode_fetch_result(bomb)


def test_gzip_exactly_at_the_limit_decodes():
    batch = batch_bytes([n for n in SMALL if n in MESSAGES][:2])
    frame = frame_bytes(batch, gzip_it=True)
    assert len(fastlive.decode(frame, max_inflated_size=len(batch)).events) == 2
    with pytest.raises(DecodeError, match="max_inflated_size"):
        fastlive.decode(frame, max_inflated_size=len(batch) - 1)


def test_flipped_bit_in_gzip_is_caught_by_the_crc():
    batch = batch_bytes([n for n in SMALL if n in MESSAGES][:2])
    packed = bytearray(gzip.compress(batch, compresslevel=0, mtime=0))  # stored: data as is
    packed[len(packed) // 2] ^= 0x10
    with pytest.raises(DecodeError) as info:
        fastlive.decode(frame_bytes(bytes(packed), gzip_it=False, header=False))
    assert info.value.reason.startswith("bad gzip payload")
    assert "incorrect data check" in info.value.reason
    assert info.value.offset == 0


@pytest.mark.parametrize(
    "payload",
    [
        b"\x1f\x8b\x08" + b"\x00" * 7 + b"\xff\xff\xff",  # magic, then no valid deflate stream
        b"\x1f\x8b\x08\x00",
        b"not gzip at all",  # the header says gzip; the bytes are not
    ],
)
def test_bad_gzip(payload):
    frame = pb.WebcastPushFrame(payload_type="msg", payload=payload)
    frame.headers.add(key="compress_type", value="gzip")
    with pytest.raises(DecodeError, match="gzip"):
        fastlive.decode(frame.SerializeToString())


def test_gzip_with_trailing_bytes_or_cut_short():
    packed = gzip.compress(batch_bytes([]), mtime=0)
    with pytest.raises(DecodeError, match="after the end of the gzip") as info:
        fastlive.decode(frame_bytes(packed + b"xy", gzip_it=False, header=False))
    assert info.value.offset == len(packed)
    with pytest.raises(DecodeError, match="truncated gzip"):
        fastlive.decode(frame_bytes(packed[:-3], gzip_it=False, header=False))


# ---------------------------------------------------------------------------
# Each kind of malformed input: its reason and offset


def test_truncated_frame_points_at_the_payload_length():
    frame = pb.WebcastPushFrame(payload_type="msg", payload=batch_bytes([]))
    data = frame.SerializeToString()
    at = data.index(b"msg") + 3  # payload tag, then its length at at + 1
    assert data[at] == 0x42
    with pytest.raises(DecodeError) as info:
        fastlive.decode(data[:-1])
    assert (info.value.reason, info.value.offset) == ("length past the end", at + 1)


@pytest.mark.parametrize(
    "method,payload,reason,offset",
    [
        # field 3 (content) of a chat claims 5 bytes, 2 follow
        ("WebcastChatMessage", b"\x1a\x05ab", "length past the end", 1),
        # content as fixed32
        (
            "WebcastChatMessage",
            b"\x1d\x00\x00\x00\x00",
            "wrong wire type 5 for a length-delimited field",
            1,
        ),
        # like count (varint field 2) as a string
        ("WebcastLikeMessage", b"\x12\x01a", "wrong wire type 2 for a varint field", 1),
        # bad UTF-8 in the comment: a lone continuation, a surrogate, an overlong NUL
        ("WebcastChatMessage", b"\x1a\x02\xc3\x28", "invalid UTF-8 in a string field", 2),
        ("WebcastChatMessage", b"\x1a\x03\xed\xa0\x80", "invalid UTF-8 in a string field", 2),
        ("WebcastChatMessage", b"\x1a\x02\xc0\x80", "invalid UTF-8 in a string field", 2),
        # and inside the user (field 2) -> nickname (field 3)
        ("WebcastChatMessage", b"\x12\x03\x1a\x01\xff", "invalid UTF-8 in a string field", 4),
        # a varint of 11 bytes
        ("WebcastLikeMessage", b"\x10" + b"\xff" * 10 + b"\x01", "varint longer than 64 bits", 1),
        ("WebcastLikeMessage", b"\x10" + b"\xff" * 9 + b"\x02", "varint longer than 64 bits", 1),
        ("WebcastLikeMessage", b"\x10\xff\xff", "truncated varint", 1),
        # field number 0, with each wire type
        ("WebcastLikeMessage", b"\x00\x00", "invalid field number", 0),
        ("WebcastLikeMessage", b"\x10\x01\x02\x00", "invalid field number", 2),
        ("WebcastMemberMessage", b"\x80\x00\x01", "invalid field number", 0),  # overlong zero tag
        # groups and wire types 6, 7
        ("WebcastLikeMessage", b"\x23\x0c", "unsupported wire type 3", 1),
        ("WebcastLikeMessage", b"\x0b\x0c", "wrong wire type 3 for a length-delimited field", 1),
        ("WebcastLikeMessage", b"\x7e\x00", "unsupported wire type 6", 1),
        ("WebcastGiftMessage", b"\x10\x05\xff\x01\x00", "unsupported wire type 7", 4),
        # an unknown field cut short
        ("WebcastLikeMessage", b"\xc9\x3e\x00\x00", "truncated fixed64", 2),
        ("WebcastLikeMessage", b"\xcd\x3e\x00", "truncated fixed32", 2),
        ("WebcastLikeMessage", b"\xca\x3e\x10abc", "length past the end", 2),
    ],
)
def test_decode_errors_say_what_and_where(method, payload, reason, offset):
    with pytest.raises(DecodeError) as info:
        fastlive.decode_message(method, payload)
    assert (info.value.reason, info.value.offset, info.value.method) == (reason, offset, method)


def test_ten_byte_varint_is_minus_one():
    event = fastlive.decode_message("WebcastLikeMessage", b"\x10" + b"\xff" * 9 + b"\x01")
    assert event.count == -1


def test_one_bad_message_inside_a_good_batch():
    good = [MESSAGES[n] for n in list(MESSAGES)[:3]]
    result = pb.ProtoMessageFetchResult(need_ack=True, internal_ext="x")
    for method, payload in good[:2]:
        result.messages.add(method=method, payload=payload, msg_id=11)
    result.messages.add(method="WebcastChatMessage", payload=b"\x1a\x02\xc3\x28", msg_id=42)
    result.messages.add(method=good[2][0], payload=good[2][1], msg_id=13)
    for gzip_it in (False, True):
        batch = check(frame_bytes(result.SerializeToString(), gzip_it=gzip_it))
        assert batch is not None and len(batch.events) == 4
        bad = batch.events[2]
        assert type(bad) is ev.DecodeErrorEvent
        assert (bad.method, bad.msg_id, bad.raw) == ("WebcastChatMessage", 42, b"\x1a\x02\xc3\x28")
        assert (bad.reason, bad.offset) == ("invalid UTF-8 in a string field", 2)
        for event, (method, payload) in zip(batch.events[:2] + batch.events[3:], good, strict=True):
            assert event == fastlive.decode_message(method, payload)
            assert event.method == method
        assert batch.need_ack and batch.internal_ext == "x"


def test_unknown_method_is_an_unknown_event():
    common = pb.CommonMessageData(msg_id=2**63 - 1, room_id=-5, create_time=7)
    payload = b"\x0a" + bytes([len(common.SerializeToString())]) + common.SerializeToString()
    payload += b"\x12\x03abc\x18\x01"
    for raw in (payload, b"", b"\xff\xff", b"\x12\x00"):
        event = fastlive.decode_message("WebcastBrandNewThing", raw)
        assert type(event) is ev.UnknownEvent
        assert (event.method, event.raw) == ("WebcastBrandNewThing", raw)
    event = fastlive.decode_message("WebcastBrandNewThing", payload)
    assert (event.msg_id, event.room_id, event.create_time) == (2**63 - 1, -5, 7)
    result = pb.ProtoMessageFetchResult()
    result.messages.add(method="WebcastBrandNewThing", payload=b"\xff", msg_id=5)
    [event] = fastlive.decode_fetch_result(result.SerializeToString()).events
    assert type(event) is ev.UnknownEvent and (event.method, event.msg_id) == (
        "WebcastBrandNewThing",
        5,
    )


# ---------------------------------------------------------------------------
# Found by these tests: decoder bugs, failing until the decoder is fixed


def test_offset_inside_a_pinned_message_is_into_raw():
    """A bad byte in a RoomPin's pinned chat: the offset must point into the pin's payload.

    The pinned message is decoded from a copy of its bytes, so today the offset is into that
    sub-message (2 here) instead of ``raw`` (4), where ``DecodeErrorEvent`` says it is.
    """
    raw = b"\x12\x04" + b"\x1a\x02\xc3\x28"  # chat_message { content: C3 28 }
    with pytest.raises(DecodeError) as info:
        fastlive.decode_message("WebcastRoomPinMessage", raw)
    assert raw[info.value.offset :] == b"\xc3\x28"
    result = pb.ProtoMessageFetchResult()
    result.messages.add(method="WebcastRoomPinMessage", payload=raw)
    [event] = fastlive.decode_fetch_result(result.SerializeToString()).events
    assert raw[event.offset :] == b"\xc3\x28"


@pytest.mark.parametrize("limit", [2**63 - 1, 2**62])
def test_huge_max_inflated_size_means_no_practical_limit(limit):
    """``max_inflated_size=sys.maxsize`` ("trust the peer") must not raise ValueError.

    Today ``limit + 1`` overflows Py_ssize_t and zlib rejects the negative max_length.
    """
    batch = batch_bytes([n for n in SMALL if n in MESSAGES][:1])
    assert len(fastlive.decode(frame_bytes(batch, gzip_it=True), max_inflated_size=limit).events)


@pytest.mark.parametrize("limit", [-1, -2])
def test_negative_max_inflated_size_is_refused_without_inflating(limit):
    """A negative limit is refused (ValueError or DecodeError), never an unbounded inflate.

    Today -1 becomes zlib's max_length=0, which means *no* limit: the whole bomb is inflated
    before the size check; -2 raises zlib's own ValueError from inside the decode.
    """
    bomb = frame_bytes(gzip_bomb(64 << 20), gzip_it=False, header=True)
    with pytest.raises(ValueError, match="max_inflated_size"):
        _peak_bytes(lambda: fastlive.decode(bomb, max_inflated_size=limit), under=8 << 20)


def _peak_bytes(call, under: int):
    """Run ``call`` and check it allocated less than ``under`` bytes at its peak."""
    tracemalloc.start()
    try:
        return call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < under, f"peak allocation {peak} bytes"
