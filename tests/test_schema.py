"""The event schema: every event the factory can make is a valid record of ``fastlive schema``'s
JSON Schema, records carry the fixed head, and the schema cannot change without a new version."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys

import jsonschema

from fastlive._decode import decode_message
from fastlive.events import (
    EVENT_TYPES,
    ConnectEvent,
    DecodeErrorEvent,
    DisconnectEvent,
    ErrorEvent,
    ReconnectEvent,
)
from fastlive.schema import (
    RECORD_TYPES,
    SCHEMA_VERSION,
    encode_record,
    event_record,
    json_schema,
)
from fastlive.streaks import StreakTracker
from fastlive.testing import factory

SCHEMA_SHA256 = "986c50f1975773e8a9fa807ab48e72b84f6f3494d0570f5a62d4827f2270e4f2"
"""sha256 of ``json.dumps(json_schema(), sort_keys=True)``; see the last test."""

# the factory's message builders and the method each one's payload is for
BUILDER_METHODS = {
    "barrage": "WebcastBarrageMessage",
    "caption": "WebcastCaptionMessage",
    "chat": "WebcastChatMessage",
    "control": "WebcastControlMessage",
    "emote_chat": "WebcastEmoteChatMessage",
    "envelope": "WebcastEnvelopeMessage",
    "gift": "WebcastGiftMessage",
    "goal_update": "WebcastGoalUpdateMessage",
    "hourly_rank_reward": "WebcastHourlyRankRewardMessage",
    "im_delete": "WebcastImDeleteMessage",
    "in_room_banner": "WebcastInRoomBannerMessage",
    "like": "WebcastLikeMessage",
    "link_mic_armies": "WebcastLinkMicArmies",
    "link_mic_battle": "WebcastLinkMicBattle",
    "live_intro": "WebcastLiveIntroMessage",
    "member": "WebcastMemberMessage",
    "poll": "WebcastPollMessage",
    "question": "WebcastQuestionNewMessage",
    "rank_update": "WebcastRankUpdateMessage",
    "room_pin": "WebcastRoomPinMessage",
    "room_user_seq": "WebcastRoomUserSeqMessage",
    "social_follow": "WebcastSocialMessage",
    "social_share": "WebcastSocialMessage",
    "sub_notify": "WebcastSubNotifyMessage",
}
NOT_MESSAGES = {"fetch_result", "push_frame", "make_user", "generic", "random_traffic"}
"""Builders of frames, batches, users, any method (``generic``) and whole traffic."""


def every_event() -> list:
    """One or more events of every type the schema describes, from the factory's builders."""
    out = []
    for batch in factory.random_traffic(seed=3, n_frames=40):
        out += [decode_message(method, payload) for method, payload, _ in batch]
    for name, method in BUILDER_METHODS.items():
        out.append(decode_message(method, getattr(factory, name)()))
    for action in (1, 2, 3, 4):  # pause, unpause, end, suspended
        out.append(decode_message("WebcastControlMessage", factory.control(action)))
    out.append(decode_message("WebcastEnvelopeMessage", factory.envelope(business_type=19)))
    for key in ("ttlive_superfan_commentNotif_superFanJoined", "ttlive_superfan_became"):
        out.append(decode_message("WebcastBarrageMessage", factory.barrage(content_key=key)))
    for method in EVENT_TYPES:  # every method, with only its common part
        out.append(decode_message(method, factory.generic(method)))
    out.append(decode_message("WebcastNoSuchMessage", factory.generic("WebcastNoSuchMessage")))
    out.append(DecodeErrorEvent(1, 2, 3, b"\xff", method="WebcastChatMessage", reason="bad"))
    tracker = StreakTracker()
    for n in (1, 2, 3):
        gift = factory.gift(repeat_count=n, repeat_end=int(n == 3), msg_id=100 + n)
        final = tracker.feed(decode_message("WebcastGiftMessage", gift), 0.0)
    out.append(final)
    out += [
        ConnectEvent("alice", 7),
        DisconnectEvent(1000, "stream ended"),
        ReconnectEvent(2, 0.5, "socket dropped"),
        ErrorEvent("ValueError('x')", "handler", ValueError("x")),
    ]
    return out


def test_every_builder_is_covered():
    builders = {n for n in factory.__all__ if inspect.isfunction(getattr(factory, n))}
    assert builders == set(BUILDER_METHODS) | NOT_MESSAGES


def test_every_event_type_of_the_factory_validates():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    events = every_event()
    assert {type(e) for e in events} == set(RECORD_TYPES)  # the schema's types, all made
    for event in events:
        record = event_record("@alice", 7_400_000_000_000_000_001, event, now=1)
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, (type(event).__name__, errors[0].message)
        encoded = encode_record("@alice", 7_400_000_000_000_000_001, event, now=1)
        assert json.loads(encoded) == record


def test_a_record_starts_with_the_fixed_head():
    chat = decode_message("WebcastChatMessage", factory.chat("hi", msg_id=5, create_time=1234))
    record = event_record("@alice", 99, chat)
    assert list(record)[:6] == ["v", "type", "room", "room_id", "msg_id", "create_time"]
    assert record["v"] == SCHEMA_VERSION == 1
    assert (record["type"], record["room"], record["msg_id"], record["create_time"]) == (
        "CommentEvent", "@alice", 5, 1234,
    )  # fmt: skip
    assert record["room_id"] == chat.room_id and record["content"] == "hi"
    assert "raw" not in record and record["user"]["unique_id"] == "sunny.otter"
    follow = decode_message("WebcastSocialMessage", factory.social_follow())
    assert event_record("@a", 1, follow)["type"] == "FollowEvent"  # the most specific type
    connect = event_record("@a", 42, ConnectEvent("a", 0), now=777)
    assert (connect["room_id"], connect["msg_id"], connect["create_time"]) == (42, 0, 777)
    error = event_record("@a", 1, ErrorEvent("boom", "handler", RuntimeError("boom")))
    assert "exception" not in error and error["error"] == "boom"


def test_a_wrong_record_does_not_validate():
    validator = jsonschema.Draft202012Validator(json_schema())
    chat = decode_message("WebcastChatMessage", factory.chat())
    good = event_record("@a", 1, chat)
    for bad in (
        {**good, "v": 2},
        {**good, "msg_id": "5"},
        {k: v for k, v in good.items() if k != "room"},
        {**good, "type": "NoSuchEvent"},
        {**good, "surprise": 1},
    ):
        assert not validator.is_valid(bad), bad


def test_the_command_prints_the_schema():
    out = subprocess.run(
        [sys.executable, "-m", "fastlive", "schema"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json_schema()
    version = subprocess.run(
        [sys.executable, "-m", "fastlive", "schema", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.stdout.strip() == str(SCHEMA_VERSION)


def test_the_schema_is_pinned_to_its_version():
    digest = hashlib.sha256(json.dumps(json_schema(), sort_keys=True).encode()).hexdigest()
    assert (SCHEMA_VERSION, digest) == (1, SCHEMA_SHA256), (
        "changing the schema means a new SCHEMA_VERSION: bump fastlive.schema.SCHEMA_VERSION "
        f"(and the sinks' migrations if the tables change), then pin {digest!r} here"
    )
