"""The test factory builds payloads that parse back with the values given, at realistic sizes."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


from fastlive.proto import parse, webcast_pb2
from fastlive.testing import factory as f

IDS = {"msg_id": 7_450_000_000_000_000_777, "room_id": 7_400_000_000_000_000_042}
IDS["create_time"] = 1_767_225_612_345


def _check_common(message, method: str) -> None:
    assert message.common.method == method
    assert message.common.msg_id == IDS["msg_id"]
    assert message.common.room_id == IDS["room_id"]
    assert message.common.create_time == IDS["create_time"]


# ---------------------------------------------------------------------------
# Users


def test_make_user_defaults() -> None:
    user = f.make_user()
    assert user.id > 2**53
    assert user.display_id == "sunny.otter"
    assert user.nickname == "Sunny Otter"
    assert user.sec_uid.startswith("MS4wLjABAAAA")
    for image in (user.avatar_thumb, user.avatar_medium, user.avatar_large):
        assert len(image.url_list) == 3
        assert all("x-signature=" in url and url.startswith("https://") for url in image.url_list)
    assert len(user.badge_list) == 1
    badge = user.badge_list[0]
    assert badge.scene_type == webcast_pb2.BADGE_SCENE_TYPE_USER_GRADE
    assert badge.privilege_log_extra.level == "14"
    assert user.pay_grade.level == 14
    assert user.follow_info.follower_count == 42
    assert user.fans_club.data.club_name == "Otter Crew"
    assert user.fans_club.data.level == 5


def test_make_user_display_id_is_field_38() -> None:
    raw = f.make_user(unique_id="zz.handle", avatars=(), level_badge=False).SerializeToString()
    assert b"\xb2\x02\x09zz.handle" in raw  # tag (38 << 3 | 2) = 306 -> b2 02


def test_make_user_options() -> None:
    user = f.make_user(12345, "N", "h", avatars=("thumb",), level_badge=False, fan_club_name="")
    assert (user.id, user.nickname, user.display_id) == (12345, "N", "h")
    assert user.HasField("avatar_thumb") and not user.HasField("avatar_large")
    assert not user.badge_list
    assert not user.HasField("fans_club")


# ---------------------------------------------------------------------------
# One builder per event kind


def test_chat() -> None:
    msg = parse(
        "WebcastChatMessage", f.chat("hey there", emotes=[(3, "7300000000000000001")], **IDS)
    )
    _check_common(msg, "WebcastChatMessage")
    assert msg.content == "hey there"
    assert msg.user.display_id == "sunny.otter"
    assert msg.user_identity.is_follower_of_anchor
    assert (msg.emotes[0].index, msg.emotes[0].emote.emote_id) == (3, "7300000000000000001")


def test_gift_streak_fields() -> None:
    payload = f.gift(5655, "Rose", 1, 1, repeat_count=7, repeat_end=0, group_id=99, **IDS)
    msg = parse("WebcastGiftMessage", payload)
    _check_common(msg, "WebcastGiftMessage")
    assert msg.gift_id == 5655
    assert (msg.gift.id, msg.gift.name, msg.gift.diamond_count, msg.gift.type) == (
        5655,
        "Rose",
        1,
        1,
    )
    assert (msg.repeat_count, msg.repeat_end, msg.combo_count, msg.group_id) == (7, 0, 7, 99)
    assert msg.common.display_text.pieces[0].user_value.user.id == msg.user.id


def test_like() -> None:
    msg = parse("WebcastLikeMessage", f.like(15, 1_000, **IDS))
    _check_common(msg, "WebcastLikeMessage")
    assert (msg.count, msg.total) == (15, 1_000)
    assert msg.common.display_text.key == "pm_mt_msg_viewer"


def test_member() -> None:
    msg = parse("WebcastMemberMessage", f.member(action=1, member_count=321, **IDS))
    _check_common(msg, "WebcastMemberMessage")
    assert (msg.action, msg.member_count) == (1, 321)
    assert msg.user.id == f.DEFAULT_USER_ID


def test_social_follow_and_share() -> None:
    follow = parse("WebcastSocialMessage", f.social_follow(follow_count=10, **IDS))
    _check_common(follow, "WebcastSocialMessage")
    assert follow.common.display_text.key == "pm_main_follow_message_viewer_2"
    assert follow.follow_count == 10
    share = parse("WebcastSocialMessage", f.social_share(share_count=4, **IDS))
    assert share.common.display_text.key == "pm_mt_guidance_share"
    assert share.share_count == 4


def test_room_user_seq_with_ranks() -> None:
    msg = parse("WebcastRoomUserSeqMessage", f.room_user_seq(100, 2_000, **IDS))
    _check_common(msg, "WebcastRoomUserSeqMessage")
    assert (msg.total, msg.total_user) == (100, 2_000)
    assert [r.rank for r in msg.ranks] == [1, 2, 3]
    assert len({r.user.id for r in msg.ranks}) == 3
    assert msg.ranks[0].score > msg.ranks[1].score


@pytest.mark.parametrize("action", [1, 2, 3, 4])
def test_control(action: int) -> None:
    msg = parse("WebcastControlMessage", f.control(action, **IDS))
    _check_common(msg, "WebcastControlMessage")
    assert msg.action == action


def test_emote_chat() -> None:
    msg = parse("WebcastEmoteChatMessage", f.emote_chat(["e1", "e2"], **IDS))
    _check_common(msg, "WebcastEmoteChatMessage")
    assert [e.emote_id for e in msg.emote_list] == ["e1", "e2"]


def test_envelope() -> None:
    payload = f.envelope(business_type=19, diamond_count=500, people_count=9, **IDS)
    msg = parse("WebcastEnvelopeMessage", payload)
    _check_common(msg, "WebcastEnvelopeMessage")
    info = msg.envelope_info
    assert (info.business_type, info.diamond_count, info.people_count) == (19, 500, 9)
    assert msg.display == 1


def test_sub_notify() -> None:
    msg = parse("WebcastSubNotifyMessage", f.sub_notify(sub_month=6, **IDS))
    _check_common(msg, "WebcastSubNotifyMessage")
    assert msg.sub_month == 6


def test_question() -> None:
    msg = parse("WebcastQuestionNewMessage", f.question("why?", question_id=5, **IDS))
    _check_common(msg, "WebcastQuestionNewMessage")
    assert (msg.data.question_id, msg.data.content) == (5, "why?")


def test_link_mic_battle() -> None:
    payload = f.link_mic_battle(11, action=5, status=2, results=[(1, 0, 300), (2, 1, 100)], **IDS)
    msg = parse("WebcastLinkMicBattle", payload)
    _check_common(msg, "WebcastLinkMicBattle")
    assert (msg.battle_id, msg.action, msg.battle_settings.status) == (11, 5, 2)
    assert msg.battle_result[1].score == 300
    assert msg.battle_result[2].result == 1
    assert [a.value.user.display_id for a in msg.anchors_info] == ["host.kiwi", "host.lime"]


def test_link_mic_armies() -> None:
    payload = f.link_mic_armies(11, armies={5: (90, [(6, "A", 90)])}, gift_count=3, **IDS)
    msg = parse("WebcastLinkMicArmies", payload)
    _check_common(msg, "WebcastLinkMicArmies")
    assert msg.armies[5].hostscore == 90
    assert msg.armies[5].user_armies[0].nickname == "A"
    assert msg.gift_count == 3


def test_rank_update() -> None:
    msg = parse("WebcastRankUpdateMessage", f.rank_update([(8, 2, 50, 60)], **IDS))
    _check_common(msg, "WebcastRankUpdateMessage")
    update = msg.updates[0]
    assert (update.rank_type, update.own_rank, update.current_score, update.countdown) == (
        8,
        2,
        50,
        60,
    )


def test_hourly_rank_reward() -> None:
    msg = parse("WebcastHourlyRankRewardMessage", f.hourly_rank_reward([1, 2], **IDS))
    _check_common(msg, "WebcastHourlyRankRewardMessage")
    assert [w.user_id for w in msg.winners] == [1, 2]


def test_room_pin() -> None:
    pinned = f.chat("pin me", msg_id=123)
    msg = parse("WebcastRoomPinMessage", f.room_pin(pinned, **IDS))
    _check_common(msg, "WebcastRoomPinMessage")
    assert (msg.method, msg.action, msg.pin_msg_id) == ("WebcastChatMessage", 1, 123)
    assert msg.chat_message.content == "pin me"


@pytest.mark.parametrize("phase", ["start", "update", "end"])
def test_poll(phase: str) -> None:
    msg = parse("WebcastPollMessage", f.poll(phase, poll_id=9, options=[("a", 1), ("b", 2)], **IDS))
    _check_common(msg, "WebcastPollMessage")
    assert msg.poll_id == 9
    content = {
        "start": msg.start_content,
        "update": msg.update_votes_content,
        "end": msg.end_content,
    }[phase]
    assert msg.HasField(
        {"start": "start_content", "update": "update_votes_content"}.get(phase, "end_content")
    )
    assert [(o.display_content, o.votes) for o in content.option_list] == [("a", 1), ("b", 2)]


def test_goal_update() -> None:
    msg = parse("WebcastGoalUpdateMessage", f.goal_update(3, sub_goals=[(5, 10, "Rose", 1)], **IDS))
    _check_common(msg, "WebcastGoalUpdateMessage")
    assert msg.goal.id == 3
    sub = msg.goal.sub_goals[0]
    assert (sub.progress, sub.target, sub.gift.name) == (5, 10, "Rose")


def test_in_room_banner() -> None:
    _check_common(
        parse("WebcastInRoomBannerMessage", f.in_room_banner(**IDS)), "WebcastInRoomBannerMessage"
    )


def test_caption() -> None:
    msg = parse("WebcastCaptionMessage", f.caption([("en", "hi"), ("es", "hola")], **IDS))
    _check_common(msg, "WebcastCaptionMessage")
    assert [(c.lang, c.content) for c in msg.content] == [("en", "hi"), ("es", "hola")]


def test_im_delete() -> None:
    msg = parse("WebcastImDeleteMessage", f.im_delete([1, 2], [3], **IDS))
    _check_common(msg, "WebcastImDeleteMessage")
    assert (list(msg.delete_msg_ids), list(msg.delete_user_ids)) == ([1, 2], [3])


def test_live_intro() -> None:
    msg = parse("WebcastLiveIntroMessage", f.live_intro("about me", **IDS))
    _check_common(msg, "WebcastLiveIntroMessage")
    assert msg.content == "about me"


def test_barrage() -> None:
    payload = f.barrage(content_key="ttlive_superfan_key", common_barrage_key="x", **IDS)
    msg = parse("WebcastBarrageMessage", payload)
    _check_common(msg, "WebcastBarrageMessage")
    assert msg.content.key == "ttlive_superfan_key"
    assert msg.common_barrage_content.key == "x"


@pytest.mark.parametrize("method", ["WebcastToastMessage", "WebcastNotInTheSchemaMessage"])
def test_generic(method: str) -> None:
    payload = f.generic(method, **IDS)
    common = parse("WebcastSystemMessage", payload)  # any message with common at field 1
    assert common.common.method == method
    assert common.common.msg_id == IDS["msg_id"]


# ---------------------------------------------------------------------------
# Sizes resemble the captures (README: p50 in bytes)


@pytest.mark.parametrize(
    ("builder", "p50"),
    [
        (f.chat, 2_374),
        (f.like, 2_319),
        (f.member, 2_923),
        (f.gift, 5_542),
        (f.social_follow, 3_872),
        (f.social_share, 3_872),
        (f.room_user_seq, 3_299),
    ],
)
def test_sizes_resemble_captures(builder, p50: int) -> None:
    size = len(builder())
    assert 0.75 * p50 <= size <= 1.3 * p50, size


# ---------------------------------------------------------------------------
# Batches and frames


def test_fetch_result_and_push_frame_round_trip() -> None:
    messages = [
        ("WebcastChatMessage", f.chat(msg_id=1), 1),
        ("WebcastLikeMessage", f.like(msg_id=2), 2),
    ]
    batch = f.fetch_result(
        messages,
        cursor="c",
        internal_ext="ext",
        need_ack=True,
        is_first=True,
        push_server="wss://example.invalid/push",
        route_params={"k": "v"},
        fetch_interval=1_000,
        now=5,
        heartbeat_duration=10_000,
    )
    frame = parse("WebcastPushFrame", f.push_frame(batch, log_id=2**63 - 5, seq_id=3))
    assert (frame.log_id, frame.seq_id, frame.payload_type) == (2**63 - 5, 3, "msg")
    assert [(h.key, h.value) for h in frame.headers] == [("compress_type", "gzip")]
    assert frame.payload[:3] == b"\x1f\x8b\x08"
    result = parse("ProtoMessageFetchResult", gzip.decompress(frame.payload))
    assert (result.cursor, result.internal_ext, result.now) == ("c", "ext", 5)
    assert result.need_ack and result.is_first
    assert dict(result.route_params) == {"k": "v"}
    assert [(m.method, m.msg_id) for m in result.messages] == [
        ("WebcastChatMessage", 1),
        ("WebcastLikeMessage", 2),
    ]
    assert parse("WebcastChatMessage", result.messages[0].payload).common.msg_id == 1


def test_push_frame_without_gzip_and_extra_headers() -> None:
    frame = parse(
        "WebcastPushFrame",
        f.push_frame(b"abc", log_id=1, payload_type="hb", gzip=False, headers={"im-now": "5"}),
    )
    assert frame.payload == b"abc"
    assert [(h.key, h.value) for h in frame.headers] == [
        ("compress_type", "none"),
        ("im-now", "5"),
    ]


def test_push_frame_is_deterministic() -> None:
    assert f.push_frame(b"x" * 100, log_id=1) == f.push_frame(b"x" * 100, log_id=1)


# ---------------------------------------------------------------------------
# Random traffic


def test_random_traffic_is_deterministic_and_mixed() -> None:
    first = list(f.random_traffic(7, 60, room_id=IDS["room_id"]))
    assert first == list(f.random_traffic(7, 60, room_id=IDS["room_id"]))
    assert len(first) == 60
    assert all(1 <= len(batch) <= 30 for batch in first)
    counts: Counter[str] = Counter()
    msg_ids = []
    for batch in first:
        for method, payload, msg_id in batch:
            counts[method] += 1
            msg_ids.append(msg_id)
            msg = parse(method, payload)
            assert (msg.common.msg_id, msg.common.room_id) == (msg_id, IDS["room_id"])
    total = sum(counts.values())
    assert 0.4 < counts["WebcastChatMessage"] / total < 0.6
    assert 0.12 < counts["WebcastLikeMessage"] / total < 0.28
    assert {
        "WebcastMemberMessage",
        "WebcastGiftMessage",
        "WebcastSocialMessage",
        "WebcastRoomUserSeqMessage",
    } <= set(counts)
    assert msg_ids == sorted(set(msg_ids))
    assert list(f.random_traffic(8, 3)) != first[:3]


def test_random_traffic_takes_its_users_and_lines() -> None:
    viewer = f.make_user(1, "Viewer", "viewer")
    joiner = f.make_user(2, "Joiner", "joiner")
    traffic = f.random_traffic(5, 20, make_users=lambda rng: [(viewer, joiner)], chat_lines=["x"])
    users = {}
    for batch in traffic:
        for method, payload, _ in batch:
            msg = parse(method, payload)
            if method != "WebcastRoomUserSeqMessage":
                users.setdefault(method, set()).add(msg.user.id)
            if method == "WebcastChatMessage":
                assert msg.content == "x"
    assert users.pop("WebcastMemberMessage") == {2}
    assert set().union(*users.values()) == {1}


# ---------------------------------------------------------------------------
# Wire helpers and the package


def test_message_parts_reads_a_bare_payload() -> None:
    from fastlive.testing.factory.wire import message_parts, read_varint, varint

    payload = f.chat("hi", **IDS)
    assert message_parts(payload) == ("WebcastChatMessage", payload, IDS["msg_id"])
    assert message_parts(("M", b"x", "7")) == ("M", b"x", 7)
    with pytest.raises(ValueError, match="common.method"):
        message_parts(b"\x10\x01")  # field 2 only: no common
    assert read_varint(varint(2**63 + 5) + b"!", 0) == (2**63 + 5, 10)
    with pytest.raises(ValueError, match="truncated"):
        read_varint(b"\xff\xff", 0)


def test_the_package_exports_the_factory_and_the_server() -> None:
    from fastlive import testing
    from fastlive.testing import server

    assert set(testing.__all__) == set(f.__all__) | set(server.__all__)
    for name in testing.__all__:
        assert getattr(testing, name) is getattr(f if name in f.__all__ else server, name)


def test_the_builders_load_without_the_fake(tmp_path: Path) -> None:
    """The builders need only the protobuf classes: benchmarks and fuzzers that build
    messages load neither websockets nor the fake (names load on first use)."""
    code = (
        "import sys\n"
        "from fastlive.testing import chat, fetch_result, push_frame\n"
        "heavy = ('websockets', 'httpx', 'fastlive.testing.server', 'fastlive.testing.flv',"
        " 'fastlive.web', 'fastlive.record')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
