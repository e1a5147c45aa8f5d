"""Differential tests: the compiled decoder against the protobuf runtime, on generated messages.

Messages of the 22 specialised types are generated with the protobuf classes (fields fastlive
reads often, other fields now and then as noise), serialised, then scrambled on the wire
(unknown fields added, fields reordered, repeated ints unpacked) in ways that keep their meaning
for protobuf. ``expected_event`` says, from the protobuf object, what fastlive must return.
"""

from __future__ import annotations

import gzip
from typing import Any

import msgspec
import pytest
from google.protobuf.descriptor import FieldDescriptor as FD
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastlive
import fastlive.events as ev
from conftest import U64, read_varint, varint
from fastlive import _decode
from fastlive.proto import message_class, parse
from fastlive.proto import webcast_pb2 as pb

METHODS = sorted(_decode.SPECIALISED_METHODS)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------
# The oracle: what fastlive must return, read from the protobuf object


def _url0(image: Message) -> str:
    return image.url_list[0] if image.url_list else ""


def expected_user(msg: Message, field: str = "user") -> ev.User | None:
    """``fastlive.events.User`` from a protobuf message's User field (None when absent)."""
    if not msg.HasField(field):
        return None
    u = getattr(msg, field)
    return ev.User(
        id=u.id,
        unique_id=u.display_id,
        nickname=u.nickname,
        sec_uid=u.sec_uid,
        avatar_url=_url0(u.avatar_thumb),
        verified=u.verified,
        following_count=u.follow_info.following_count,
        follower_count=u.follow_info.follower_count,
        follow_status=u.follow_info.follow_status,
        gifter_level=u.pay_grade.level,
        fan_club_name=u.fans_club.data.club_name,
        fan_level=u.fans_club.data.level,
    )


def _identity(msg: Message) -> ev.UserIdentity | None:
    if not msg.HasField("user_identity"):
        return None
    i = msg.user_identity
    return ev.UserIdentity(
        i.is_gift_giver_of_anchor,
        i.is_subscriber_of_anchor,
        i.is_mutual_following_with_anchor,
        i.is_follower_of_anchor,
        i.is_moderator_of_anchor,
        i.is_anchor,
    )


def _gift(m: Message) -> dict:
    g = m.gift
    gift = (
        ev.Gift(g.id, g.name, g.diamond_count, g.type, g.combo, _url0(g.image), g.describe)
        if m.HasField("gift")
        else None
    )
    return {
        "user": expected_user(m),
        "to_user": expected_user(m, "to_user"),
        "gift_id": m.gift_id,
        "gift": gift,
        "repeat_count": m.repeat_count,
        "repeat_end": m.repeat_end,
        "combo_count": m.combo_count,
        "group_id": m.group_id,
        "group_count": m.group_count,
        "send_type": m.send_type,
        "fan_ticket_count": m.fan_ticket_count,
        "user_identity": _identity(m),
    }


def _poll(m: Message) -> dict:
    phase, options, operator = "", [], None
    for name, label in (
        ("start_content", "start"),
        ("end_content", "end"),
        ("update_votes_content", "update"),
    ):
        if m.HasField(name):
            content = getattr(m, name)
            phase = label
            options = [
                ev.PollOption(o.option_idx, o.display_content, o.votes) for o in content.option_list
            ]
            operator = expected_user(content, "operator") or operator
    title = m.start_content.title if m.HasField("start_content") else ""
    return {
        "poll_id": m.poll_id,
        "message_type": m.message_type,
        "poll_kind": m.poll_kind,
        "phase": phase,
        "title": title or m.poll_basic_info.title,
        "options": options,
        "operator": operator,
    }


def _goal(m: Message) -> dict:
    goal = None
    if m.HasField("goal"):
        g = m.goal
        subs = [
            ev.SubGoal(s.id, s.type, s.progress, s.target, s.gift.name, s.gift.diamond_count)
            for s in g.sub_goals
        ]
        goal = ev.Goal(g.id, g.description, g.status, subs)
    return {
        "goal": goal,
        "contributor_id": m.contributor_id,
        "contributor_unique_id": m.contributor_display_id,
        "contribute_count": m.contribute_count,
        "contribute_score": m.contribute_score,
    }


def _battle(m: Message) -> dict:
    s = m.battle_settings
    results = [ev.BattleResult(v.user_id, v.result, v.score) for v in m.battle_result.values()]
    anchors = [
        ev.BattleAnchor(
            a.value.user.user_id,
            a.value.user.nick_name,
            a.value.user.display_id,
            a.value.user.room_id,
        )
        for a in m.anchors_info
    ]
    return {
        "battle_id": m.battle_id,
        "action": m.action,
        "status": s.status,
        "start_time_ms": s.start_time_ms,
        "duration": s.duration,
        "results": results,
        "anchors": anchors,
    }


def _armies(m: Message) -> dict:
    armies = [
        ev.BattleArmy(
            k, v.hostscore, [ev.ArmyUser(u.user_id, u.nickname, u.score) for u in v.user_armies]
        )
        for k, v in m.armies.items()
    ]
    return {
        "battle_id": m.battle_id,
        "armies": armies,
        "from_user_id": m.from_user_id,
        "gift_id": m.gift_id,
        "gift_count": m.gift_count,
        "repeat_count": m.repeat_count,
        "total_diamond_count": m.total_diamond_count,
        "trigger_reason": m.trigger_reason,
        "battle_status": m.battle_settings.status,
    }


_PIN_FIELDS = {
    "chat_message": "WebcastChatMessage",
    "social_message": "WebcastSocialMessage",
    "gift_message": "WebcastGiftMessage",
    "member_message": "WebcastMemberMessage",
    "like_message": "WebcastLikeMessage",
}


def _pin(m: Message) -> dict:
    pinned = None
    for name, method in _PIN_FIELDS.items():  # field order 2..6: the last one set wins
        if m.HasField(name):
            pinned = expected_event(method, getattr(m, name))
    return {
        "action": m.action,
        "pin_time": m.pin_time,
        "pinned_method": m.method,
        "pinned": pinned,
        "operator": expected_user(m, "operator"),
        "pin_msg_id": m.pin_msg_id,
    }


def _fields(method: str, m: Message) -> tuple[type, dict]:
    """The event class and the type's own fields, as fastlive must extract them."""
    key = m.common.display_text.key
    cls = ev.EVENT_TYPES[method]
    if method == "WebcastChatMessage":
        emotes = [ev.Emote(e.emote.emote_id, _url0(e.emote.image), e.index) for e in m.emotes]
        return cls, {
            "user": expected_user(m),
            "content": m.content,
            "content_language": m.content_language,
            "user_identity": _identity(m),
            "emotes": emotes,
        }
    if method == "WebcastGiftMessage":
        return cls, _gift(m)
    if method == "WebcastLikeMessage":
        return cls, {"user": expected_user(m), "count": m.count, "total": m.total}
    if method == "WebcastMemberMessage":
        return cls, {
            "user": expected_user(m),
            "member_count": m.member_count,
            "action": m.action,
            "enter_type": m.enter_type,
        }
    if method == "WebcastSocialMessage":
        cls = ev.FollowEvent if "follow" in key else ev.ShareEvent if "share" in key else cls
        return cls, {
            "user": expected_user(m),
            "display_key": key,
            "action": m.action,
            "share_type": m.share_type,
            "share_target": m.share_target,
            "follow_count": m.follow_count,
            "share_count": m.share_count,
        }
    if method == "WebcastRoomUserSeqMessage":
        ranks = [ev.Contributor(expected_user(c), c.score, c.rank) for c in m.ranks]
        return cls, {
            "total": m.total,
            "total_user": m.total_user,
            "popularity": m.popularity,
            "anonymous": m.anonymous,
            "ranks": ranks,
        }
    if method == "WebcastControlMessage":
        cls = {
            1: ev.LivePauseEvent,
            2: ev.LiveUnpauseEvent,
            3: ev.LiveEndEvent,
            4: ev.LiveEndEvent,
        }.get(m.action, cls)
        return cls, {"action": m.action, "tips": m.tips}
    if method == "WebcastEmoteChatMessage":
        emotes = [ev.Emote(e.emote_id, _url0(e.image), -1) for e in m.emote_list]
        return cls, {"user": expected_user(m), "emotes": emotes, "user_identity": _identity(m)}
    if method == "WebcastEnvelopeMessage":
        e = m.envelope_info
        envelope = ev.Envelope(
            e.envelope_id,
            e.business_type,
            e.send_user_name,
            e.send_user_id,
            e.diamond_count,
            e.people_count,
            e.unpack_at,
        )
        if e.business_type == 19 or "superfanbox" in key:
            cls = ev.SuperFanBoxEvent
        return cls, {
            "envelope": envelope if m.HasField("envelope_info") else None,
            "display": m.display,
        }
    if method == "WebcastSubNotifyMessage":
        return cls, {
            "user": expected_user(m),
            "sub_month": m.sub_month,
            "subscribe_type": m.subscribe_type,
            "old_subscribe_status": m.old_subscribe_status,
            "subscribing_status": m.subscribing_status,
        }
    if method == "WebcastQuestionNewMessage":
        d = m.data
        question = ev.Question(d.question_id, d.content, expected_user(d), d.create_time)
        return cls, {"question": question if m.HasField("data") else None}
    if method == "WebcastLinkMicBattle":
        return cls, _battle(m)
    if method == "WebcastLinkMicArmies":
        return cls, _armies(m)
    if method == "WebcastLiveIntroMessage":
        return cls, {
            "id": m.id,
            "content": m.content,
            "user": expected_user(m),
            "intro_mode": m.intro_mode,
            "content_language": m.content_language,
        }
    if method == "WebcastRoomPinMessage":
        return cls, _pin(m)
    if method == "WebcastPollMessage":
        return cls, _poll(m)
    if method == "WebcastGoalUpdateMessage":
        return cls, _goal(m)
    if method == "WebcastRankUpdateMessage":
        updates = [
            ev.RankUpdate(u.rank_type, u.own_rank, u.current_score, u.countdown) for u in m.updates
        ]
        return cls, {"updates": updates, "group_type": m.group_type}
    if method == "WebcastHourlyRankRewardMessage":
        return cls, {"winner_ids": [w.user_id for w in m.winners]}
    if method == "WebcastBarrageMessage":
        content, common = m.content.key, m.common_barrage_content.key
        lowered = f"{content} {common}".lower()
        if "ttlive_superfan_commentnotif_superfanjoined" in lowered:
            cls = ev.SuperFanJoinEvent
        elif "ttlive_superfan" in lowered:
            cls = ev.SuperFanEvent
        return cls, {
            "msg_type": m.msg_type,
            "content_key": content or common,
            "user": expected_user(m, "user"),
        }
    if method == "WebcastCaptionMessage":
        return cls, {
            "timestamp_ms": m.timestamp_ms,
            "duration_ms": m.duration_ms,
            "content": [ev.Caption(c.lang, c.content) for c in m.content],
            "sentence_id": m.sentence_id,
            "sequence_id": m.sequence_id,
            "definite": m.definite,
        }
    if method == "WebcastImDeleteMessage":
        return cls, {
            "delete_msg_ids": list(m.delete_msg_ids),
            "delete_user_ids": list(m.delete_user_ids),
        }
    return cls, {}  # kept as a payload: base fields only


def expected_event(method: str, msg: Message, raw: bytes = b"", wrapper_id: int = 0):
    """The event fastlive must make of ``msg`` (a parsed protobuf message of ``method``)."""
    cls, fields = _fields(method, msg)
    msg_id = msg.common.msg_id or wrapper_id
    return cls(
        msg_id=msg_id,
        room_id=msg.common.room_id,
        create_time=msg.common.create_time,
        raw=raw,
        **fields,
    )


_UNORDERED = {"results", "armies"}  # map<int64, ...> fields: protobuf does not keep wire order


def plain(obj: Any) -> Any:
    """A Struct as nested dicts with its class name, without ``raw``; maps' lists sorted."""
    if isinstance(obj, msgspec.Struct):
        out: dict[str, Any] = {"type": type(obj).__name__}
        for name in obj.__struct_fields__:
            if name == "raw":
                continue
            value = plain(getattr(obj, name))
            if name in _UNORDERED and isinstance(obj, ev.BaseEvent):
                value = sorted(value, key=repr)
            out[name] = value
        return out
    if isinstance(obj, list):
        return [plain(x) for x in obj]
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    return obj


def assert_same(event, expected, raw: bytes | None = None) -> None:
    """Field by field equality (a readable diff on failure), and ``raw`` when given."""
    assert plain(event) == plain(expected)
    if raw is not None:
        assert event.raw == raw
    pinned = getattr(event, "pinned", None)
    if pinned is not None:  # the pinned message's raw is that sub-message's bytes
        assert pinned.proto() == getattr(
            parse(event.method, event.raw),
            {v: k for k, v in _PIN_FIELDS.items()}[pinned.method],
        )
    msgspec.to_builtins(event)


# ---------------------------------------------------------------------------
# Generating messages from their descriptors

# Fields fastlive reads, per message type: set often. Other fields are noise: set rarely.
READ = {
    "CommonMessageData": {"method", "msg_id", "room_id", "create_time", "display_text"},
    "Text": {"key"},
    "User": {
        "id",
        "nickname",
        "display_id",
        "sec_uid",
        "avatar_thumb",
        "verified",
        "follow_info",
        "pay_grade",
        "fans_club",
    },
    "ImageModel": {"url_list"},
    "FollowInfo": {"following_count", "follower_count", "follow_status"},
    "UserHonor": {"level"},
    "FansClubMember": {"data"},
    "FansClubData": {"club_name", "level"},
    "UserIdentity": {
        "is_gift_giver_of_anchor",
        "is_subscriber_of_anchor",
        "is_mutual_following_with_anchor",
        "is_follower_of_anchor",
        "is_moderator_of_anchor",
        "is_anchor",
    },
    "EmoteWithIndex": {"index", "emote"},
    "EmoteModel": {"emote_id", "image"},
    "Gift": {"image", "describe", "id", "combo", "type", "diamond_count", "name"},
    "Contributor": {"score", "user", "rank"},
    "MessageRedEnvelopInfo": {
        "envelope_id",
        "business_type",
        "send_user_name",
        "diamond_count",
        "people_count",
        "unpack_at",
        "send_user_id",
    },
    "Question": {"question_id", "content", "create_time", "user"},
    "BattleResultEntry": {"key", "value"},
    "BattleResult": {"user_id", "result", "score"},
    "BattleUserInfoWrapper": {"key", "value"},
    "BattleUserInfo": {"user"},
    "BattleBaseUserInfo": {"user_id", "nick_name", "display_id", "room_id"},
    "ArmiesEntry": {"key", "value"},
    "BattleUserArmies": {"user_armies", "hostscore"},
    "BattleUserArmy": {"user_id", "score", "nickname"},
    "BattleSetting": {"start_time_ms", "duration", "status"},
    "PollStartContent": {"option_list", "title", "operator"},
    "PollEndContent": {"option_list", "operator"},
    "PollUpdateVotesContent": {"option_list", "operator"},
    "PollOptionInfo": {"votes", "display_content", "option_idx"},
    "PollBasicInfo": {"title"},
    "LiveStreamGoal": {"id", "status", "sub_goals", "description"},
    "LiveStreamSubGoal": {"type", "id", "progress", "target", "gift"},
    "LiveStreamSubGoalGift": {"name", "diamond_count"},
    "RankUpdate": {"rank_type", "own_rank", "countdown", "current_score"},
    "HourlyRankRewardInfo": {"user_id"},
    "CaptionContent": {"lang", "content"},
    "WebcastChatMessage": {
        "common",
        "user",
        "content",
        "emotes",
        "content_language",
        "user_identity",
    },
    "WebcastGiftMessage": {
        "common",
        "gift_id",
        "fan_ticket_count",
        "group_count",
        "repeat_count",
        "combo_count",
        "user",
        "to_user",
        "repeat_end",
        "group_id",
        "gift",
        "send_type",
        "user_identity",
    },
    "WebcastLikeMessage": {"common", "count", "total", "user"},
    "WebcastMemberMessage": {"common", "user", "member_count", "enter_type", "action"},
    "WebcastSocialMessage": {
        "common",
        "user",
        "share_type",
        "action",
        "share_target",
        "follow_count",
        "share_count",
    },
    "WebcastRoomUserSeqMessage": {
        "common",
        "ranks",
        "total",
        "popularity",
        "total_user",
        "anonymous",
    },
    "WebcastControlMessage": {"common", "action", "tips"},
    "WebcastEmoteChatMessage": {"common", "user", "emote_list", "user_identity"},
    "WebcastEnvelopeMessage": {"common", "envelope_info", "display"},
    "WebcastSubNotifyMessage": {
        "common",
        "user",
        "sub_month",
        "subscribe_type",
        "old_subscribe_status",
        "subscribing_status",
    },
    "WebcastQuestionNewMessage": {"common", "data"},
    "WebcastLinkMicBattle": {
        "common",
        "battle_id",
        "battle_settings",
        "action",
        "battle_result",
        "anchors_info",
    },
    "WebcastLinkMicArmies": {
        "common",
        "battle_id",
        "armies",
        "trigger_reason",
        "from_user_id",
        "gift_id",
        "gift_count",
        "total_diamond_count",
        "repeat_count",
        "battle_settings",
    },
    "WebcastLiveIntroMessage": {
        "common",
        "id",
        "content",
        "user",
        "intro_mode",
        "content_language",
    },
    "WebcastRoomPinMessage": {
        "common",
        "chat_message",
        "social_message",
        "gift_message",
        "member_message",
        "like_message",
        "method",
        "pin_time",
        "operator",
        "action",
        "pin_msg_id",
    },
    "WebcastPollMessage": {
        "common",
        "message_type",
        "poll_id",
        "start_content",
        "end_content",
        "update_votes_content",
        "poll_kind",
        "poll_basic_info",
    },
    "WebcastGoalUpdateMessage": {
        "common",
        "goal",
        "contributor_id",
        "contributor_display_id",
        "contribute_count",
        "contribute_score",
    },
    "WebcastRankUpdateMessage": {"common", "updates", "group_type"},
    "WebcastHourlyRankRewardMessage": {"common", "winners"},
    "WebcastBarrageMessage": {"common", "msg_type", "content", "common_barrage_content", "user"},
    "WebcastCaptionMessage": {
        "common",
        "timestamp_ms",
        "duration_ms",
        "content",
        "sentence_id",
        "sequence_id",
        "definite",
    },
    "WebcastImDeleteMessage": {"common", "delete_msg_ids", "delete_user_ids"},
}
# At most one of these per message: fastlive (like the server) takes the last one on the wire,
# which protobuf does not remember once fields are reordered.
ONE_OF = {
    "WebcastRoomPinMessage": list(_PIN_FIELDS),
    "WebcastPollMessage": ["start_content", "end_content", "update_votes_content"],
}
KEYS = [
    "pm_main_follow_message_viewer_2",
    "pm_mt_guidance_share",
    "pm_mt_guidance_viewer_7_share",
    "pm_mt_msg_viewer",
    "ttlive_superfanbox_x",
    "ttlive_superfan_commentNotif_superFanJoined",
    "TTLIVE_SUPERFAN_became",
    "ttlive_superfan",
    "follow",
    "share",
]
EDGE_INTS = [
    0,
    1,
    -1,
    2**31 - 1,
    -(2**31),
    2**53,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    7140000000000000001,
    19,
    1,
    2,
    3,
    4,
]

# Every code point but surrogates (invalid UTF-8): astral, combining, NUL, controls.
CHARS = st.characters(exclude_categories=("Cs",))
TEXT = st.one_of(
    st.text(CHARS, max_size=12),
    st.sampled_from(
        [
            "",
            "\x00",
            "a\x00b",
            "e\u0301\u0308",
            "\U0010ffff",
            "\U0001f9da\u200d\u2640\ufe0f",
            "\U00020000",
            "\ufeff",
            "\u202e",
        ]
    ),
    st.sampled_from(KEYS),
)
INT64 = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from(EDGE_INTS))
INT32 = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([-1, 0, 1, 2, 3, 4, 19]))


def _scalar(field) -> st.SearchStrategy:
    t = field.type
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return INT64
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return st.integers(0, U64)
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32, FD.TYPE_ENUM):
        return INT32
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if t == FD.TYPE_BOOL:
        return st.booleans()
    if t == FD.TYPE_STRING:
        return TEXT
    if t == FD.TYPE_BYTES:
        return st.binary(max_size=8)
    if t == FD.TYPE_FLOAT:
        return st.floats(width=32, allow_nan=False)
    return st.floats(allow_nan=False)  # double


def fill(draw, msg: Message, depth: int = 0, noise_only: bool = False) -> Message:
    """Set fields of ``msg`` at random: the ones fastlive reads often, others rarely."""
    desc = msg.DESCRIPTOR
    read = set() if noise_only else READ.get(desc.name, set())
    for field in desc.fields:
        if field.name in read:
            if draw(st.integers(0, 9)) < 3:
                continue
            noise = False
        else:
            if depth > 1 or draw(st.integers(0, 24)) != 24:
                continue
            noise = True
        _set(draw, msg, field, depth, noise or noise_only)
    if desc.name in ONE_OF:
        present = [f for f in ONE_OF[desc.name] if msg.HasField(f)]
        for name in present[1:]:
            msg.ClearField(name)
    return msg


def _set(draw, msg: Message, field, depth: int, noise: bool) -> None:
    name = field.name
    sub_type = field.message_type
    if sub_type is not None and sub_type.GetOptions().map_entry:
        key_f, value_f = sub_type.fields_by_name["key"], sub_type.fields_by_name["value"]
        target = getattr(msg, name)
        for _ in range(draw(st.integers(0, 3))):
            key = draw(_scalar(key_f))
            if value_f.message_type is None:
                target[key] = draw(_scalar(value_f))
            else:
                fill(draw, target[key], depth + 1, noise)
        return
    if field.is_repeated:
        target = getattr(msg, name)
        for _ in range(draw(st.integers(0, 3))):
            if sub_type is None:
                target.append(draw(_scalar(field)))
            else:
                fill(draw, target.add(), depth + 1, noise)
        return
    if sub_type is not None:
        sub = getattr(msg, name)
        sub.SetInParent()  # present even when left empty
        fill(draw, sub, depth + 1, noise)
        return
    if name == "key" and msg.DESCRIPTOR.name == "Text":  # display keys pick event classes
        setattr(msg, name, draw(st.one_of(st.sampled_from(KEYS), TEXT)))
        return
    setattr(msg, name, draw(_scalar(field)))


# ---------------------------------------------------------------------------
# Scrambling the wire form without changing its meaning for protobuf


def split_fields(data: bytes) -> list[tuple[int, int, bytes]]:
    """Top-level fields of a valid message: (number, wire type, value bytes) in wire order."""
    out, pos = [], 0
    while pos < len(data):
        tag, pos = read_varint(data, pos)
        number, wt = tag >> 3, tag & 7
        if wt == 0:
            start = pos
            _, pos = read_varint(data, pos)
            out.append((number, wt, data[start:pos]))
        elif wt == 2:
            n, pos = read_varint(data, pos)
            out.append((number, wt, data[pos : pos + n]))
            pos += n
        elif wt in (1, 5):
            size = 8 if wt == 1 else 4
            out.append((number, wt, data[pos : pos + size]))
            pos += size
        else:
            raise AssertionError(f"wire type {wt} in a generated message")
    return out


def join_fields(fields: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray()
    for number, wt, value in fields:
        out += varint(number << 3 | wt)
        if wt == 2:
            out += varint(len(value))
        out += value
    return bytes(out)


_VARINT_TYPES = {
    FD.TYPE_INT64,
    FD.TYPE_INT32,
    FD.TYPE_UINT64,
    FD.TYPE_UINT32,
    FD.TYPE_BOOL,
    FD.TYPE_ENUM,
}


@st.composite
def unknown_field(draw, known: frozenset[int]) -> tuple[int, int, bytes]:
    number = draw(st.one_of(st.integers(1, 80), st.sampled_from([1000, 2**29 - 1, 18999])))
    if number in known:
        number = 2**29 - 1 - draw(st.integers(0, 99))
    wt = draw(st.sampled_from([0, 1, 2, 5]))
    if wt == 0:
        value = varint(draw(st.integers(0, U64)))
    elif wt == 2:
        value = draw(st.binary(max_size=10))
    else:
        value = draw(st.binary(min_size=8 if wt == 1 else 4, max_size=8 if wt == 1 else 4))
    return number, wt, value


def scramble(draw, desc, data: bytes, depth: int = 0) -> bytes:
    """Reorder fields (keeping each field's own order), add unknown fields, unpack ints."""
    fields = []
    for number, wt, value in split_fields(data):
        field = desc.fields_by_number.get(number)
        nested = field is not None and wt == 2 and field.message_type is not None
        if nested and depth < 4 and draw(st.booleans()):
            value = scramble(draw, field.message_type, value, depth + 1)
        if (
            field is not None
            and wt == 2
            and field.is_repeated
            and field.type in _VARINT_TYPES
            and draw(st.booleans())
        ):
            items, pos = [], 0
            while pos < len(value):
                start = pos
                _, pos = read_varint(value, pos)
                items.append(value[start:pos])
            if draw(st.booleans()):  # unpacked: one varint field per item
                fields.extend((number, 0, item) for item in items)
            else:  # packed, split in two runs
                cut = draw(st.integers(0, len(items)))
                fields.append((number, 2, b"".join(items[:cut])))
                fields.append((number, 2, b"".join(items[cut:])))
            continue
        fields.append((number, wt, value))
    # Interleave: any order that keeps the order among fields of one number.
    queues: dict[int, list] = {}
    for f in fields:
        queues.setdefault(f[0], []).append(f)
    out = []
    while queues:
        numbers = sorted(queues)
        number = numbers[draw(st.integers(0, len(numbers) - 1))] if len(numbers) > 1 else numbers[0]
        out.append(queues[number].pop(0))
        if not queues[number]:
            del queues[number]
    known = frozenset(desc.fields_by_number)
    # upb moves a map entry with unknown fields to the parent's unknown fields: not in entries.
    for _ in range(0 if desc.GetOptions().map_entry else draw(st.integers(0, 3))):
        out.insert(draw(st.integers(0, len(out))), draw(unknown_field(known)))
    return join_fields(out)


@st.composite
def payloads(draw, method: str) -> bytes:
    """A wire payload of ``method``: generated, serialised, maybe scrambled."""
    msg = fill(draw, message_class(method)())
    data = msg.SerializeToString()
    if draw(st.booleans()):
        data = scramble(draw, msg.DESCRIPTOR, data)
    return data


# ---------------------------------------------------------------------------
# Tests


def check_message(method: str, payload: bytes, wrapper_id: int = 0, event=None) -> None:
    if event is None:
        event = fastlive.decode_message(method, payload)
    msg = parse(method, payload)
    assert_same(event, expected_event(method, msg, payload, wrapper_id), payload)


@pytest.mark.parametrize("method", METHODS)
@SETTINGS
@given(data=st.data())
def test_decode_message_matches_protobuf(method, data):
    payload = data.draw(payloads(method))
    check_message(method, payload)


@st.composite
def batches(draw):
    """(frame bytes, protobuf frame, protobuf fetch result, the batch's message payloads)."""
    result = pb.ProtoMessageFetchResult()
    messages = []
    for _ in range(draw(st.integers(0, 4))):
        method = draw(st.sampled_from(METHODS))
        payload = draw(payloads(method))
        wrapper_id = draw(st.one_of(st.just(0), INT64))
        result.messages.add(method=method, payload=payload, msg_id=wrapper_id)
        messages.append((method, payload, wrapper_id))
    for name in ("cursor", "internal_ext", "push_server"):
        if draw(st.booleans()):
            setattr(result, name, draw(TEXT))
    for name in ("fetch_interval", "now", "heartbeat_duration"):
        if draw(st.booleans()):
            setattr(result, name, draw(INT64))
    result.need_ack = draw(st.booleans())
    result.is_first = draw(st.booleans())
    for _ in range(draw(st.integers(0, 3))):
        result.route_params[draw(TEXT)] = draw(TEXT)
    body = result.SerializeToString()
    if draw(st.booleans()):
        body = scramble(draw, result.DESCRIPTOR, body)
    frame = pb.WebcastPushFrame(
        seq_id=draw(INT64),
        log_id=draw(INT64),
        payload_type="msg",
        payload_encoding="pb",
        service=draw(INT64),
        method=draw(INT64),
    )
    mode = draw(st.sampled_from(["plain", "gzip+header", "gzip sniffed", "plain+header none"]))
    if mode.startswith("gzip"):
        body = gzip.compress(body, compresslevel=draw(st.integers(0, 9)))
    if mode in ("gzip+header", "plain+header none"):
        frame.headers.add(key="compress_type", value="gzip" if "gzip" in mode else "none")
    frame.payload = body
    data = frame.SerializeToString()
    if draw(st.booleans()):
        data = scramble(draw, frame.DESCRIPTOR, data)
    return data, frame, result, messages


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_batch_matches_protobuf(case):
    data, frame, result, messages = case
    batch = fastlive.decode(data)
    assert batch.log_id == frame.log_id & U64  # unsigned, as it is echoed in acks
    assert batch.seq_id == frame.seq_id
    assert batch.payload_type == "msg"
    header = {
        "need_ack": result.need_ack,
        "internal_ext": result.internal_ext,
        "cursor": result.cursor,
        "is_first": result.is_first,
        "route_params": dict(result.route_params),
        "push_server": result.push_server,
        "fetch_interval": result.fetch_interval,
        "now": result.now,
        "heartbeat_duration": result.heartbeat_duration,
    }
    assert {k: getattr(batch, k) for k in header} == header
    assert len(batch.events) == len(messages)
    for event, (method, payload, wrapper_id) in zip(batch.events, messages, strict=True):
        check_message(method, payload, wrapper_id, event)
    again = fastlive.decode_fetch_result(frame.payload)
    assert plain(again.events) == plain(batch.events)
    assert again.need_ack == batch.need_ack and again.route_params == batch.route_params


@settings(max_examples=150, deadline=None)
@given(st.text(CHARS, max_size=40), st.text(CHARS, max_size=40))
def test_strings_of_every_plane(content, nickname):
    msg = pb.WebcastChatMessage(content=content, content_language=nickname[::-1])
    msg.user.nickname = nickname
    msg.user.display_id = content + nickname
    payload = msg.SerializeToString()
    event = fastlive.decode_message("WebcastChatMessage", payload)
    assert (event.content, event.user.nickname) == (content, nickname)
    check_message("WebcastChatMessage", payload)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([2, 3]), st.booleans(), st.lists(INT64, max_size=4)), max_size=6
    )
)
def test_im_delete_packed_and_unpacked(runs):
    """Runs of ids of fields 2 and 3, each packed or not, in any order."""
    fields = []
    for number, packed, ids in runs:
        if packed:
            fields.append((number, 2, b"".join(varint(i) for i in ids)))
        else:
            fields.extend((number, 0, varint(i)) for i in ids)
    payload = join_fields(fields)
    event = fastlive.decode_message("WebcastImDeleteMessage", payload)
    assert event.delete_msg_ids == [i for n, _, ids in runs if n == 2 for i in ids]
    assert event.delete_user_ids == [i for n, _, ids in runs if n == 3 for i in ids]
    check_message("WebcastImDeleteMessage", payload)


@pytest.mark.parametrize("method", METHODS)
def test_empty_payload_gives_defaults(method):
    """Absent sub-messages are None, absent scalars "" or 0."""
    event = fastlive.decode_message(method, b"")
    check_message(method, b"")
    for name in (
        "user",
        "gift",
        "to_user",
        "user_identity",
        "envelope",
        "question",
        "goal",
        "pinned",
        "operator",
    ):
        assert getattr(event, name, None) is None


@pytest.mark.parametrize("method", METHODS)
def test_present_but_empty_sub_messages(method):
    """Every sub-message field present with nothing in it: defaults, not None."""
    msg = parse(method, b"")
    for field in msg.DESCRIPTOR.fields:
        if field.message_type is not None and not field.is_repeated:
            if method in ONE_OF and field.name in ONE_OF[method][1:]:
                continue
            getattr(msg, field.name).SetInParent()
    payload = msg.SerializeToString()
    check_message(method, payload)


@pytest.mark.xfail(
    strict=True,
    reason="decoder: a sub-message split over several occurrences "
    "keeps only the last one; protobuf merges them (only `common` is merged)",
)
def test_split_sub_message_is_merged():
    """Protobuf merges repeated occurrences of a singular sub-message (encoding spec, "Last One
    Wins"). No server is known to split one, so this is a divergence to decide on, not a crash."""
    payload = b"\x12\x02\x08\x07" + b"\x12\x03\x1a\x01x"  # user {id: 7} user {nickname: "x"}
    check_message("WebcastChatMessage", payload)
