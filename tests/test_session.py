"""The sans-I/O Session, frame by frame: no sockets, no clocks.

Server frames are built with ``fastlive.testing.factory``; what the session
wants sent is checked byte for byte against ``fastlive.build_*`` and decoded
with ``fastlive.decode`` / the protobuf schema.
"""

from __future__ import annotations

import itertools
import random

import pytest

from fastlive import build_ack, build_enter_room, build_heartbeat, decode
from fastlive.events import (
    CommentEvent,
    ConnectEvent,
    ControlEvent,
    DecodeErrorEvent,
    ErrorEvent,
    GiftEvent,
    LikeEvent,
    LiveEndEvent,
    LivePauseEvent,
)
from fastlive.exceptions import DecodeError
from fastlive.proto import webcast_pb2 as pb
from fastlive.session import (
    CLOSED,
    CONNECTING,
    ENDED,
    OPEN,
    Session,
    State,
    backoff,
    backoff_delay,
    jittered,
    parse_handshake_options,
)
from fastlive.testing import chat, control, fetch_result, gift, like, push_frame

ROOM = 7_400_000_000_000_000_001
LOG_IDS = itertools.count(7_412_345_678_901_234_567)


def msg(text: str, msg_id: int) -> tuple[str, bytes, int]:
    return ("WebcastChatMessage", chat(text, msg_id=msg_id, room_id=ROOM), msg_id)


def end_msg(msg_id: int = 99, action: int = 3) -> tuple[str, bytes, int]:
    return ("WebcastControlMessage", control(action, msg_id=msg_id, room_id=ROOM), msg_id)


def frame(
    *messages: tuple[str, bytes, int],
    log_id: int | None = None,
    internal_ext: str = "ext",
    need_ack: bool = True,
    gzip: bool = True,
) -> bytes:
    body = fetch_result(list(messages), internal_ext=internal_ext, need_ack=need_ack)
    return push_frame(body, log_id=next(LOG_IDS) if log_id is None else log_id, gzip=gzip)


def initial(*messages: tuple[str, bytes, int]):
    """The sign server's first batch, decoded as the signer hands it over."""
    from fastlive import decode_fetch_result

    return decode_fetch_result(fetch_result(list(messages), is_first=True, need_ack=False))


def contents(events) -> list[str]:
    return [e.content for e in events if isinstance(e, CommentEvent)]


@pytest.fixture
def session() -> Session:
    s = Session(ROOM, unique_id="alice", rng=random.Random(1))
    s.opened()
    return s


# -- joining and heartbeats -----------------------------------------------------------


def test_opened_queues_enter_room_first_with_random_positive_id():
    s = Session(ROOM, unique_id="alice")
    assert s.state is CONNECTING
    assert s.data_to_send() == []
    s.opened()
    assert s.state is OPEN
    [data] = s.data_to_send()
    assert decode(data).payload_type == "im_enter_room"
    outer = pb.WebcastPushFrame.FromString(data)
    enter = pb.WebcastImEnterRoomMessage.FromString(outer.payload)
    assert enter.room_id == ROOM
    assert enter.enter_unique_id > 0
    assert enter.live_id == 12 and enter.identity == "audience"
    assert data == build_enter_room(ROOM, enter_unique_id=enter.enter_unique_id)


def test_each_join_has_a_fresh_enter_unique_id(session: Session):
    first = session.data_to_send()[0]
    session.closed()
    session.opened()
    second = session.data_to_send()[0]
    ids = [
        pb.WebcastImEnterRoomMessage.FromString(pb.WebcastPushFrame.FromString(d).payload)
        for d in (first, second)
    ]
    assert ids[0].enter_unique_id != ids[1].enter_unique_id


def test_heartbeats_follow_the_join_with_increasing_seq(session: Session):
    for _ in range(3):
        session.heartbeat()
    frames = session.data_to_send()
    assert [decode(f).payload_type for f in frames] == ["im_enter_room", "hb", "hb", "hb"]
    assert frames[1:] == [build_heartbeat(ROOM, seq) for seq in (1, 2, 3)]
    seqs = [
        pb.HeartBeatMessage.FromString(pb.WebcastPushFrame.FromString(f).payload)
        for f in frames[1:]
    ]
    assert [(h.room_id, h.send_packet_seq_id) for h in seqs] == [(ROOM, 1), (ROOM, 2), (ROOM, 3)]


def test_heartbeat_seq_resets_on_rejoin(session: Session):
    session.heartbeat()
    session.heartbeat()
    session.closed()
    assert session.state is CLOSED
    session.heartbeat()  # no socket: nothing to send
    session.opened()
    session.heartbeat()
    frames = session.data_to_send()
    assert frames[-1] == build_heartbeat(ROOM, 1)
    assert [decode(f).payload_type for f in frames] == ["im_enter_room", "hb", "hb"] + [
        "im_enter_room",
        "hb",
    ]


def test_no_heartbeat_before_the_socket_opens():
    s = Session(ROOM)
    s.heartbeat()
    assert s.data_to_send() == []


# -- acks -------------------------------------------------------------------------------


# -- the direct connection (§2.8.6) ------------------------------------------------------------

DIRECT_ROOM = 7140000000000000001
HB_BYTES = bytes.fromhex("32 02 70 62 3a 02 68 62 42 0a 08 81 80 a8 82 bb 85 98 8b 63")
ENTER_BYTES = bytes.fromhex(
    "32 02 70 62 3a 0d 69 6d 5f 65 6e 74 65 72 5f 72 6f 6f 6d 42 19 08 81 80 a8 82 bb 85 98"
    " 8b 63 20 0c 2a 08 61 75 64 69 65 6e 63 65 4a 01 30"
)


def test_direct_opened_sends_heartbeat_then_join_exact_bytes():
    s = Session(DIRECT_ROOM, direct=True)
    s.opened()
    assert s.data_to_send() == [HB_BYTES, ENTER_BYTES]
    s.heartbeat()
    s.heartbeat()
    assert s.data_to_send() == [HB_BYTES, HB_BYTES]  # no send_packet_seq_id, ever
    s.closed()
    s.opened()  # a rejoin: the same two frames
    assert s.data_to_send() == [HB_BYTES, ENTER_BYTES]


def test_direct_acks_only_a_non_empty_internal_ext():
    s = Session(ROOM, direct=True)
    s.opened()
    s.data_to_send()
    s.receive(frame(msg("a", 1), log_id=5, internal_ext=""))
    s.receive(frame(msg("b", 2), log_id=6, internal_ext="ext|6"))
    s.receive(frame(msg("c", 3), log_id=7, internal_ext="ext|7", need_ack=False))
    assert s.data_to_send() == [build_ack(6, "ext|6")]
    assert contents(s.events_received()) == ["a", "b", "c"]


def test_the_mode_may_change_between_sockets_and_dedup_spans_both():
    s = Session(ROOM, unique_id="alice", rng=random.Random(1))
    s.opened()  # signed
    [join] = s.data_to_send()
    assert decode(join).payload_type == "im_enter_room"
    s.receive(frame(msg("a", 1), msg("b", 2)))
    assert [decode(f).payload_type for f in s.data_to_send()] == ["ack"]
    s.closed()
    s.direct = True
    s.opened()
    assert [decode(f).payload_type for f in s.data_to_send()] == ["hb", "im_enter_room"]
    s.receive(frame(msg("a", 1), msg("b", 2), msg("c", 3)))  # history re-sent on join
    assert contents(s.events_received()) == ["a", "b", "c"]
    assert s.duplicates_dropped == 2


def test_acks_each_need_ack_batch_with_its_log_id_and_internal_ext(session: Session):
    session.data_to_send()
    session.receive(frame(msg("a", 1), log_id=11, internal_ext="ext-one"))
    session.receive(frame(msg("b", 2), log_id=12, internal_ext="ext-two", need_ack=False))
    session.receive(frame(msg("c", 3), log_id=7_412_345_678_901_234_567, internal_ext="x|y"))
    acks = session.data_to_send()
    assert acks == [build_ack(11, "ext-one"), build_ack(7_412_345_678_901_234_567, "x|y")]
    assert [decode(a).payload_type for a in acks] == ["ack", "ack"]
    assert [decode(a).log_id for a in acks] == [11, 7_412_345_678_901_234_567]
    assert pb.WebcastPushFrame.FromString(acks[1]).payload == b"x|y"


def test_ack_with_empty_internal_ext_says_dash(session: Session):
    session.data_to_send()
    session.receive(frame(msg("a", 1), log_id=5, internal_ext=""))
    [ack] = session.data_to_send()
    assert ack == build_ack(5, "-")


def test_acks_even_a_batch_of_duplicates(session: Session):
    data = frame(msg("a", 1), log_id=8)
    session.receive(data)
    session.receive(data)
    assert session.data_to_send()[1:] == [build_ack(8, "ext"), build_ack(8, "ext")]
    assert contents(session.events_received()) == ["a"]


def test_initial_batch_is_never_acked(session: Session):
    session.data_to_send()
    session.receive_initial(initial(msg("backlog", 1)))
    assert session.data_to_send() == []
    assert contents(session.events_received()) == ["backlog"]


def test_uncompressed_frames_work_too(session: Session):
    session.receive(frame(msg("plain", 1), gzip=False, log_id=3))
    assert contents(session.events_received()) == ["plain"]
    assert session.data_to_send()[-1] == build_ack(3, "ext")


# -- events -------------------------------------------------------------------------------


def test_connect_event_comes_first_even_if_the_backlog_came_before_the_socket():
    s = Session(ROOM, unique_id="alice")
    s.receive_initial(initial(msg("early", 1)))
    assert s.events_received() == []  # nothing before the socket is open
    s.opened()
    events = s.events_received()
    assert events[0] == ConnectEvent(unique_id="alice", room_id=ROOM)
    assert contents(events) == ["early"]


def test_connect_event_is_emitted_once_per_session(session: Session):
    assert isinstance(session.events_received()[0], ConnectEvent)
    session.closed()
    session.opened()
    session.receive(frame(msg("x", 1)))
    assert not any(isinstance(e, ConnectEvent) for e in session.events_received())


def test_events_keep_their_order_and_types(session: Session):
    session.receive(
        frame(
            msg("one", 1),
            ("WebcastGiftMessage", gift(msg_id=2, room_id=ROOM), 2),
            ("WebcastLikeMessage", like(msg_id=3, room_id=ROOM), 3),
        )
    )
    events = session.events_received()
    assert [type(e) for e in events] == [ConnectEvent, CommentEvent, GiftEvent, LikeEvent]
    assert session.events_received() == []  # drained


def test_non_msg_frames_are_ignored(session: Session):
    session.data_to_send()
    session.events_received()
    session.receive(push_frame(b"", log_id=1, payload_type="hb", gzip=False))
    session.receive(push_frame(b"", log_id=2, payload_type="im_enter_room_resp", gzip=False))
    assert session.events_received() == []
    assert session.data_to_send() == []
    assert session.batches_received == 0


# -- de-duplication ------------------------------------------------------------------------


def test_initial_batch_overlapping_the_websocket_is_not_repeated(session: Session):
    session.receive_initial(initial(msg("a", 1), msg("b", 2)))
    session.receive(frame(msg("b", 2), msg("c", 3)))
    assert contents(session.events_received()) == ["a", "b", "c"]
    assert session.duplicates_dropped == 1


def test_resent_frames_and_reconnect_backlogs_are_dropped(session: Session):
    session.receive(frame(msg("a", 1), msg("b", 2)))
    session.closed()
    session.opened()  # a reconnect: new backlog, then a frame re-sent by the server
    session.receive_initial(initial(msg("a", 1), msg("b", 2), msg("c", 3)))
    session.receive(frame(msg("b", 2), msg("c", 3), msg("d", 4)))
    assert contents(session.events_received()) == ["a", "b", "c", "d"]
    assert session.duplicates_dropped == 4


def test_dedup_window_is_bounded():
    s = Session(ROOM, dedup_window=2)
    s.opened()
    s.receive(frame(msg("a", 1), msg("b", 2), msg("c", 3)))  # 1 falls out of the window
    s.receive(frame(msg("a again", 1), msg("c again", 3)))
    assert contents(s.events_received()) == ["a", "b", "c", "a again"]
    with pytest.raises(ValueError):
        Session(ROOM, dedup_window=0)


def test_messages_without_msg_id_are_never_dropped(session: Session):
    session.receive(frame(msg("x", 0), msg("x", 0)))
    assert contents(session.events_received()) == ["x", "x"]


# -- the end ----------------------------------------------------------------------------------


def test_live_end_ends_the_session_and_input_is_ignored(session: Session):
    session.receive(frame(msg("before", 1), end_msg(2), msg("same batch", 3), log_id=21))
    assert session.state is ENDED and session.ended
    events = session.events_received()
    assert [type(e) for e in events] == [ConnectEvent, CommentEvent, LiveEndEvent, CommentEvent]
    assert isinstance(events[2], ControlEvent) and events[2].action == 3
    assert session.data_to_send()[-1] == build_ack(21, "ext")  # the last batch is still acked
    session.receive(frame(msg("after", 4)))
    session.receive_initial(initial(msg("after", 5)))
    session.heartbeat()
    session.opened()
    session.closed()
    assert session.state is ENDED
    assert session.events_received() == []
    assert session.data_to_send() == []


def test_suspended_by_the_platform_also_ends(session: Session):
    session.receive(frame(end_msg(2, action=4)))
    assert session.ended


def test_a_pause_does_not_end(session: Session):
    session.receive(frame(end_msg(2, action=1)))
    assert not session.ended
    assert isinstance(session.events_received()[-1], LivePauseEvent)


def test_a_stream_end_in_the_initial_batch_ends_too():
    s = Session(ROOM)
    s.opened()
    s.receive_initial(initial(end_msg(7)))
    assert s.ended


# -- broken input --------------------------------------------------------------------------


def test_garbage_frame_becomes_error_event_and_the_next_frame_decodes(session: Session):
    session.events_received()
    session.receive(b"\xff\xff\xff garbage")
    session.receive(frame(msg("still here", 1)))
    events = session.events_received()
    assert isinstance(events[0], ErrorEvent)
    assert events[0].source == "decode"
    assert isinstance(events[0].exception, DecodeError)
    assert contents(events) == ["still here"]
    assert session.state is OPEN


def test_one_bad_message_is_passed_through_as_decode_error_event(session: Session):
    session.receive(frame(("WebcastChatMessage", b"\x0a\xff", 1), msg("good", 2)))
    events = session.events_received()
    assert any(isinstance(e, DecodeErrorEvent) for e in events)
    assert contents(events) == ["good"]


def test_inflated_size_is_bounded():
    s = Session(ROOM, max_inflated_size=1024)
    s.opened()
    s.events_received()
    big = "x" * 50_000
    s.receive(frame(msg(big, 1)))
    [event] = s.events_received()
    assert isinstance(event, ErrorEvent) and "max_inflated_size" in event.error


# -- pure helpers ------------------------------------------------------------------------------


def test_states_are_one_int_enum():
    assert list(State) == [CONNECTING, OPEN, CLOSED, ENDED]
    assert State.ENDED > State.OPEN


def test_backoff_grows_exponentially_to_the_cap():
    delays = backoff(1.0, 2.0, 10.0, 0.5, rand=lambda: 0.5)  # no jitter at the midpoint
    assert [next(delays) for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_backoff_jitter_stays_in_bounds():
    rng = random.Random(4)
    delays = backoff(1.0, 2.0, 5.0, 0.25, rand=rng.random)
    values = [next(delays) for _ in range(20)]
    assert 0.75 <= values[0] <= 1.25
    assert 1.5 <= values[1] <= 2.5
    assert all(v <= 5.0 for v in values)
    assert len(set(values)) > 10
    with pytest.raises(ValueError):
        next(backoff(1, 2, 3, jitter=1.5))


def test_backoff_delay_is_the_nth_delay_of_backoff():
    delays = backoff(0.5, 3.0, 20.0, 0.3, rand=lambda: 0.9)
    assert [next(delays) for _ in range(5)] == [
        backoff_delay(n, 0.5, 3.0, 20.0, 0.3, rand=lambda: 0.9) for n in range(1, 6)
    ]
    assert backoff_delay(1, 2.0, 2.0, 30.0, 0.2, rand=lambda: 1.0) == pytest.approx(2.4)
    assert backoff_delay(10, 2.0, 2.0, 30.0, 0.2, rand=lambda: 1.0) == 30.0  # jitter stays under
    assert backoff_delay(10_000, 1.0, 2.0, 60.0, 0.0) == 60.0  # no overflow after long failures
    assert backoff_delay(0, 1.0, 2.0, 60.0, 0.0) == 1.0


def test_jittered():
    assert jittered(10.0, 0.0, rand=lambda: 0.0) == 10.0
    assert jittered(10.0, 0.2, rand=lambda: 0.0) == pytest.approx(8.0)
    assert jittered(10.0, 0.2, rand=lambda: 1.0) == pytest.approx(12.0)
    with pytest.raises(ValueError, match="jitter"):
        jittered(1.0, -0.1)


def test_one_inflated_size_bound():
    """The Session's default bound and the decoder's are the one in ``_config``."""
    from fastlive import _config, _decode

    assert Session(ROOM).max_inflated_size == _config.DEFAULT_MAX_INFLATED_SIZE
    assert _decode.DEFAULT_MAX_INFLATED_SIZE == _config.DEFAULT_MAX_INFLATED_SIZE


def test_parse_handshake_options():
    assert parse_handshake_options('ping-interval=7; compress="gzip"; junk') == {
        "ping-interval": "7",
        "compress": "gzip",
    }
    assert parse_handshake_options("") == {}


# -- the join's answer ------------------------------------------------------------------


def test_the_join_answer_delivers_its_room_message_and_intro(session: Session):
    """2026 servers answer im_enter_room with a batch: its messages are events, not lost."""
    from fastlive.events import LiveIntroEvent, RoomEvent
    from fastlive.testing.factory import live_intro

    room = pb.WebcastRoomMessage(content="Welcome to the room!").SerializeToString()
    body = fetch_result(
        [("WebcastRoomMessage", room, 501), ("WebcastLiveIntroMessage", live_intro(), 502)],
        need_ack=False,
    )
    session.data_to_send()  # the join
    session.receive(push_frame(body, log_id=9, payload_type="im_enter_room_resp"))
    events = [e for e in session.events_received() if not isinstance(e, ConnectEvent)]
    assert [type(e) for e in events] == [RoomEvent, LiveIntroEvent]
    assert events[0].content == "Welcome to the room!"
    assert session.data_to_send() == []  # nothing to ack


def test_an_empty_join_answer_is_ignored(session: Session):
    session.receive(push_frame(b"", log_id=1, payload_type="im_enter_room_resp", gzip=False))
    assert [e for e in session.events_received() if not isinstance(e, ConnectEvent)] == []
