"""The compiled decoder: frames, batches, client frames and bad input, with made-up users."""

from __future__ import annotations

import gzip

import msgspec
import pytest

import fastlive
from fastlive import DecodeError
from fastlive.proto import webcast_pb2 as pb

ROOM = 7140000000000000001  # past 2^53: must stay exact
BIG_ID = 2**63 - 1


def chat_payload(msg_id: int = 1, text: str = "hello", **user) -> bytes:
    msg = pb.WebcastChatMessage(content=text)
    msg.common.method = "WebcastChatMessage"
    msg.common.msg_id = msg_id
    msg.common.room_id = ROOM
    msg.common.create_time = 1_700_000_000_123
    u = msg.user
    u.id = user.get("id", 7_000_000_000_000_000_123)
    u.nickname = user.get("nickname", "Ada Example")
    u.display_id = user.get("unique_id", "ada.example")
    u.sec_uid = "MS4wLjABAAAA-made-up"
    u.avatar_thumb.url_list.extend(["https://example.invalid/a.webp", "https://example.invalid/b"])
    u.follow_info.follower_count = 12
    u.follow_info.follow_status = 2
    return msg.SerializeToString()


def fetch_result(messages: list[tuple[str, bytes, int]], **fields) -> bytes:
    result = pb.ProtoMessageFetchResult(**fields)
    for method, payload, msg_id in messages:
        result.messages.add(method=method, payload=payload, msg_id=msg_id)
    return result.SerializeToString()


def push_frame(
    payload: bytes,
    *,
    log_id: int = 99,
    gzip_it: bool = True,
    header: bool = True,
    payload_type: str = "msg",
) -> bytes:
    frame = pb.WebcastPushFrame(log_id=log_id, payload_encoding="pb", payload_type=payload_type)
    if gzip_it:
        payload = gzip.compress(payload)
        if header:
            frame.headers.add(key="compress_type", value="gzip")
    frame.payload = payload
    return frame.SerializeToString()


# --- client frames: the exact bytes of protocol.md section 3.4


def test_heartbeat_bytes():
    assert fastlive.build_heartbeat(ROOM, 1) == bytes.fromhex(
        "32 02 70 62 3a 02 68 62 42 0c 08 81 80 a8 82 bb 85 98 8b 63 10 01"
    )


def test_enter_room_bytes():
    assert fastlive.build_enter_room(ROOM) == bytes.fromhex(
        "32 02 70 62 3a 0d 69 6d 5f 65 6e 74 65 72 5f 72 6f 6f 6d 42 19 08 81 80 a8 82 bb 85"
        " 98 8b 63 20 0c 2a 08 61 75 64 69 65 6e 63 65 4a 01 30"
    )


def test_ack_bytes():
    assert fastlive.build_ack(7412345678901234567, "internal_ext_value") == bytes.fromhex(
        "10 87 97 bd ba f6 a3 fc ee 66 32 02 70 62 3a 03 61 63 6b 42 12 69 6e 74 65 72 6e 61"
        " 6c 5f 65 78 74 5f 76 61 6c 75 65"
    )


def test_client_frames_parse_with_protobuf():
    frame = pb.WebcastPushFrame.FromString(
        fastlive.build_enter_room(ROOM, enter_unique_id=BIG_ID, cursor="c1")
    )
    join = pb.WebcastImEnterRoomMessage.FromString(frame.payload)
    assert (join.room_id, join.enter_unique_id, join.cursor, join.live_id) == (
        ROOM,
        BIG_ID,
        "c1",
        12,
    )
    hb = pb.HeartBeatMessage.FromString(
        pb.WebcastPushFrame.FromString(fastlive.build_heartbeat(ROOM, 300)).payload
    )
    assert (hb.room_id, hb.send_packet_seq_id) == (ROOM, 300)


def test_ack_echoes_unsigned_log_id():
    log_id = 2**64 - 5  # [J]/[R] declare log_id uint64: keep the same bits, unsigned
    frame = push_frame(fetch_result([], need_ack=True), log_id=log_id - 2**64)  # int64 in proto
    batch = fastlive.decode(frame)
    assert batch.log_id == log_id
    ack = fastlive.build_ack(batch.log_id, b"x")
    assert pb.WebcastPushFrame.FromString(ack).log_id == log_id - 2**64
    assert ack == fastlive.build_ack(log_id - 2**64, "x")


def test_non_utf8_internal_ext_round_trips_into_the_ack():
    ext = b"\x80\xffopaque\x00"  # the direct connection's internal_ext may be any bytes
    body = pb.ProtoMessageFetchResult(need_ack=True)
    body = body.SerializeToString() + b"\x2a" + bytes([len(ext)]) + ext  # field 5, raw bytes
    batch = fastlive.decode(push_frame(body, log_id=5))
    assert pb.WebcastPushFrame.FromString(fastlive.build_ack(5, batch.internal_ext)).payload == ext


def test_builders_reject_out_of_range():
    with pytest.raises(ValueError):
        fastlive.build_heartbeat(2**64, 1)


# --- frames and batches


@pytest.mark.parametrize("gzip_it,header", [(True, True), (True, False), (False, False)])
def test_batch_header_and_events(gzip_it, header):
    body = fetch_result(
        [("WebcastChatMessage", chat_payload(11, "hi"), 11)],
        cursor="cur-1",
        internal_ext="ext-1",
        need_ack=True,
        is_first=True,
        fetch_interval=1000,
        now=1_700_000_000_000,
        heartbeat_duration=10_000,
        push_server="wss://push.example.invalid/ws",
        route_params={"a": "1", "b": "two words"},
    )
    batch = fastlive.decode(push_frame(body, log_id=BIG_ID, gzip_it=gzip_it, header=header))
    assert isinstance(batch, fastlive.Batch)
    assert batch.log_id == BIG_ID
    assert batch.payload_type == "msg"
    assert batch.need_ack and batch.is_first
    assert (batch.cursor, batch.internal_ext) == ("cur-1", "ext-1")
    assert (batch.fetch_interval, batch.now, batch.heartbeat_duration) == (
        1000,
        1_700_000_000_000,
        10_000,
    )
    assert batch.route_params == {"a": "1", "b": "two words"}
    assert batch.push_server == "wss://push.example.invalid/ws"
    [event] = batch.events
    assert isinstance(event, fastlive.CommentEvent)
    assert event.comment == "hi" and event.content == "hi"
    assert (event.msg_id, event.room_id, event.create_time) == (11, ROOM, 1_700_000_000_123)
    assert event.user.id == 7_000_000_000_000_000_123
    assert (event.user.unique_id, event.user.nickname) == ("ada.example", "Ada Example")
    assert event.user.avatar_url == "https://example.invalid/a.webp"
    assert event.user.is_friend and event.user.follower_count == 12
    assert event.proto().content == "hi"  # the slow path sees the same payload


def test_decode_fetch_result_matches_decode():
    body = fetch_result([("WebcastChatMessage", chat_payload(5), 5)], cursor="c", is_first=True)
    direct = fastlive.decode_fetch_result(body)
    framed = fastlive.decode(push_frame(body, log_id=0))
    assert direct == framed


@pytest.mark.parametrize("payload_type", ["hb", "ack", ""])
def test_non_msg_frames_have_no_events(payload_type):
    body = fetch_result([("WebcastChatMessage", chat_payload(), 1)])
    batch = fastlive.decode(push_frame(body, payload_type=payload_type))
    assert batch.payload_type == payload_type
    assert batch.events == [] and not batch.need_ack


def test_the_join_answer_carries_its_messages():
    """2026 servers answer im_enter_room with a batch (room message, intro, welcome)."""
    body = fetch_result([("WebcastChatMessage", chat_payload(), 1)])
    batch = fastlive.decode(push_frame(body, payload_type="im_enter_room_resp"))
    assert batch.payload_type == "im_enter_room_resp"
    assert [type(e).__name__ for e in batch.events] == ["CommentEvent"]
    empty = fastlive.decode(push_frame(b"", payload_type="im_enter_room_resp", gzip_it=False))
    assert empty.events == []


def test_empty_msg_frame():
    assert fastlive.decode(push_frame(b"", gzip_it=False)).events == []


def test_message_id_from_wrapper_when_common_lacks_it():
    payload = pb.WebcastLikeMessage(count=3).SerializeToString()
    batch = fastlive.decode(push_frame(fetch_result([("WebcastLikeMessage", payload, 77)])))
    assert batch.events[0].msg_id == 77 and batch.events[0].count == 3


# --- the event classes chosen from message content


def _with_key(msg, key: str):
    msg.common.display_text.key = key
    return msg.SerializeToString()


@pytest.mark.parametrize(
    "key,cls",
    [
        ("pm_main_follow_message_viewer_2", fastlive.FollowEvent),
        ("pm_mt_guidance_share", fastlive.ShareEvent),
        ("pm_mt_guidance_viewer_7_share", fastlive.ShareEvent),
        ("something_else", fastlive.SocialEvent),
    ],
)
def test_social_split(key, cls):
    event = fastlive.decode_message(
        "WebcastSocialMessage", _with_key(pb.WebcastSocialMessage(), key)
    )
    assert type(event) is cls
    assert isinstance(event, fastlive.SocialEvent)
    if key == "pm_mt_guidance_viewer_7_share":
        assert event.users_joined == 7


@pytest.mark.parametrize(
    "action,cls",
    [
        (1, fastlive.LivePauseEvent),
        (2, fastlive.LiveUnpauseEvent),
        (3, fastlive.LiveEndEvent),
        (4, fastlive.LiveEndEvent),
        (0, fastlive.ControlEvent),
        (99, fastlive.ControlEvent),
    ],
)
def test_control_actions(action, cls):
    event = fastlive.decode_message(
        "WebcastControlMessage", pb.WebcastControlMessage(action=action).SerializeToString()
    )
    assert type(event) is cls and event.action == action
    assert isinstance(event, fastlive.ControlEvent)


def test_gift_streak_properties():
    msg = pb.WebcastGiftMessage(gift_id=5655, repeat_count=4, repeat_end=0)
    msg.gift.id, msg.gift.name, msg.gift.diamond_count, msg.gift.type = 5655, "Rose", 1, 1
    streaking = fastlive.decode_message("WebcastGiftMessage", msg.SerializeToString())
    assert streaking.streaking and streaking.value is None
    msg.repeat_end = 1
    final = fastlive.decode_message("WebcastGiftMessage", msg.SerializeToString())
    assert not final.streaking
    assert (final.gift.id, final.gift.name, final.repeat_count) == (5655, "Rose", 4)
    assert final.diamond_value == 4 and final.value == pytest.approx(0.02)


def test_room_pin_carries_the_pinned_comment():
    msg = pb.WebcastRoomPinMessage(method="WebcastChatMessage", action=1)
    msg.chat_message.ParseFromString(chat_payload(5, "pinned!"))
    event = fastlive.decode_message("WebcastRoomPinMessage", msg.SerializeToString())
    assert isinstance(event.pinned, fastlive.CommentEvent)
    assert event.pinned.comment == "pinned!" and event.pinned_method == "WebcastChatMessage"


def test_every_mapped_method_has_its_class():
    for method, cls in fastlive.EVENT_TYPES.items():
        event = fastlive.decode_message(method, b"")
        assert isinstance(event, cls), method
        assert event.method == method


def test_legacy_method_names_without_prefix():
    event = fastlive.decode_message("RoomMessage", b"")
    assert type(event) is fastlive.RoomEvent
    assert type(fastlive.decode_message("NoSuchThing", b"")) is fastlive.UnknownEvent


def test_unknown_method_is_an_event_not_an_error():
    payload = chat_payload(42)
    event = fastlive.decode_message("WebcastBrandNewMessage", payload)
    assert type(event) is fastlive.UnknownEvent
    assert (event.method, event.raw, event.msg_id) == ("WebcastBrandNewMessage", payload, 42)
    garbage = fastlive.decode_message("WebcastBrandNewMessage", b"\xff\xff")
    assert garbage.raw == b"\xff\xff" and garbage.msg_id == 0


def test_events_encode_to_json_without_raw():
    event = fastlive.decode_message("WebcastChatMessage", chat_payload(3, "héllo 🌍"))
    data = msgspec.json.decode(msgspec.json.encode(event.to_dict()))
    assert data["type"] == "CommentEvent" and data["content"] == "héllo 🌍"
    assert "raw" not in data and data["user"]["id"] == 7_000_000_000_000_000_123
    assert "raw=" not in repr(event)


def test_client_events_encode_to_json():
    error = fastlive.ErrorEvent(
        error="ValueError('x')", source="handler", exception=ValueError("x")
    )
    assert msgspec.json.decode(msgspec.json.encode(error.to_dict())) == {
        "type": "ErrorEvent",
        "error": "ValueError('x')",
        "source": "handler",
    }
    connect = fastlive.ConnectEvent(unique_id="someone", room_id=ROOM)
    assert connect.to_dict() == {"type": "ConnectEvent", "unique_id": "someone", "room_id": ROOM}


# --- bad input: one error type, with an offset and a reason


def test_truncated_frame():
    frame = push_frame(fetch_result([("WebcastChatMessage", chat_payload(), 1)]))
    with pytest.raises(DecodeError) as info:
        fastlive.decode(frame[:-7])
    assert info.value.reason == "length past the end"
    assert 0 <= info.value.offset < len(frame)


def test_bad_gzip_and_bomb():
    frame = pb.WebcastPushFrame(payload_type="msg", payload=b"\x1f\x8b\x08garbage")
    with pytest.raises(DecodeError, match="gzip"):
        fastlive.decode(frame.SerializeToString())
    bomb = push_frame(fetch_result([], cursor="x" * 200_000))
    with pytest.raises(DecodeError, match="max_inflated_size"):
        fastlive.decode(bomb, max_inflated_size=100_000)
    assert fastlive.decode(bomb, max_inflated_size=300_000).cursor == "x" * 200_000


def test_truncated_gzip_and_trailing_bytes():
    body = gzip.compress(fetch_result([("WebcastChatMessage", chat_payload(), 1)]))
    for payload, reason in [(body[:-3], "truncated gzip"), (body + b"??", "after the end")]:
        frame = pb.WebcastPushFrame(payload_type="msg", payload=payload).SerializeToString()
        with pytest.raises(DecodeError, match=reason):
            fastlive.decode(frame)


def test_wrong_wire_type_and_bad_varint():
    with pytest.raises(DecodeError, match="wrong wire type"):
        fastlive.decode(b"\x3a\x03msg\x12\x00")  # log_id as a length-delimited field
    with pytest.raises(DecodeError, match="varint"):
        fastlive.decode(b"\x08" + b"\xff" * 10 + b"\x01")
    with pytest.raises(DecodeError, match="field number"):
        fastlive.decode(b"\x00\x00")
    with pytest.raises(DecodeError, match="wire type"):
        fastlive.decode(b"\x0b")  # a start-group tag


def test_bad_message_inside_good_batch_costs_that_message_only():
    bad = chat_payload(2)[:-4]  # truncated
    body = fetch_result(
        [
            ("WebcastChatMessage", chat_payload(1, "first"), 1),
            ("WebcastChatMessage", bad, 2),
            ("WebcastChatMessage", chat_payload(3, "third"), 3),
        ]
    )
    events = fastlive.decode(push_frame(body)).events
    assert [type(e).__name__ for e in events] == [
        "CommentEvent",
        "DecodeErrorEvent",
        "CommentEvent",
    ]
    assert events[0].comment == "first" and events[2].comment == "third"
    err = events[1]
    assert (err.method, err.msg_id, err.raw) == ("WebcastChatMessage", 2, bad)
    assert err.reason and 0 <= err.offset <= len(bad)


def test_decode_message_error_names_the_method():
    with pytest.raises(DecodeError) as info:
        fastlive.decode_message("WebcastGiftMessage", b"\x12\x05ab")
    assert info.value.method == "WebcastGiftMessage"
    assert "WebcastGiftMessage" in str(info.value)


def test_invalid_utf8_is_a_decode_error():
    with pytest.raises(DecodeError, match="UTF-8"):
        fastlive.decode_message("WebcastChatMessage", b"\x1a\x02\xc3\x28")


def test_decode_error_pickles():
    import pickle

    err = pickle.loads(pickle.dumps(DecodeError("bad", 3, "WebcastChatMessage")))
    assert (err.reason, err.offset, err.method) == ("bad", 3, "WebcastChatMessage")


def test_decode_rejects_non_bytes():
    with pytest.raises(TypeError):
        fastlive.decode("not bytes")  # type: ignore[arg-type]
