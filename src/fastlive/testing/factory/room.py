"""Builders of what the host, the moderators and the platform send the room: stream control,
pins, banners, captions, deletions, the room intro and level-up barrages."""

from __future__ import annotations

from collections.abc import Sequence

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    common_data,
    make_user,
    user_text,
)
from fastlive.testing.factory.social import chat

__all__ = [
    "barrage",
    "caption",
    "control",
    "im_delete",
    "in_room_banner",
    "live_intro",
    "room_pin",
]


def control(
    action: int = 3,
    *,
    tips: str = "",
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastControlMessage``: 1 paused, 2 unpaused, 3 ended, 4 ended by the platform."""
    msg = pb.WebcastControlMessage(
        common=common_data("WebcastControlMessage", msg_id, room_id, create_time),
        action=action,
        tips=tips,
    )
    return msg.SerializeToString()


_PIN_FIELDS = {
    "WebcastChatMessage": "chat_message",
    "WebcastSocialMessage": "social_message",
    "WebcastGiftMessage": "gift_message",
    "WebcastMemberMessage": "member_message",
    "WebcastLikeMessage": "like_message",
}


def room_pin(
    pinned_payload: bytes | None = None,
    pinned_method: str = "WebcastChatMessage",
    *,
    action: int = 1,
    operator: pb.User | None = None,
    pin_time: int = DEFAULT_TIME_MS,
    display_duration: int = 60,
    pin_msg_id: int | None = None,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastRoomPinMessage`` pinning (``action`` 1) or unpinning (2) a message payload
    of ``pinned_method`` (a chat by default)."""
    if pinned_payload is None:
        pinned_payload = chat("pinned: welcome to the stream", msg_id=msg_id - 1, room_id=room_id)
    msg = pb.WebcastRoomPinMessage(
        common=common_data("WebcastRoomPinMessage", msg_id, room_id, create_time),
        method=pinned_method,
        action=action,
        pin_time=pin_time,
        display_duration=display_duration,
        operator=operator
        if operator is not None
        else make_user(DEFAULT_ROOM_ID - 1, "Host Kiwi", "host.kiwi"),
    )
    getattr(msg, _PIN_FIELDS[pinned_method]).ParseFromString(pinned_payload)
    pinned_id = getattr(msg, _PIN_FIELDS[pinned_method]).common.msg_id
    msg.pin_msg_id = pinned_id if pin_msg_id is None else pin_msg_id
    return msg.SerializeToString()


def in_room_banner(
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastInRoomBannerMessage`` (the v3 schema declares only ``common``)."""
    msg = pb.WebcastInRoomBannerMessage(
        common=common_data("WebcastInRoomBannerMessage", msg_id, room_id, create_time)
    )
    return msg.SerializeToString()


def caption(
    content: Sequence[tuple[str, str]] = (("en", "welcome everyone"),),
    *,
    timestamp_ms: int = 12_000,
    duration_ms: int = 1_500,
    sentence_id: int = 42,
    sequence_id: int = 1,
    definite: bool = True,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastCaptionMessage``: live captions as (language, text) pairs."""
    msg = pb.WebcastCaptionMessage(
        common=common_data("WebcastCaptionMessage", msg_id, room_id, create_time),
        timestamp_ms=timestamp_ms,
        duration_ms=duration_ms,
        sentence_id=sentence_id,
        sequence_id=sequence_id,
        definite=definite,
    )
    for lang, text in content:
        msg.content.add(lang=lang, content=text)
    return msg.SerializeToString()


def im_delete(
    delete_msg_ids: Sequence[int] = (DEFAULT_MSG_ID - 5,),
    delete_user_ids: Sequence[int] = (),
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastImDeleteMessage``: moderation removes messages, or all of some users'."""
    msg = pb.WebcastImDeleteMessage(
        common=common_data("WebcastImDeleteMessage", msg_id, room_id, create_time),
        delete_msg_ids=delete_msg_ids,
        delete_user_ids=delete_user_ids,
    )
    return msg.SerializeToString()


def live_intro(
    content: str = "Chill games every evening, be nice in chat",
    user: pb.User | None = None,
    *,
    intro_id: int = 7_450_000_000_000_400_001,
    intro_mode: int = 1,
    content_language: str = "en",
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastLiveIntroMessage``: the host's room introduction."""
    user = user if user is not None else make_user(DEFAULT_ROOM_ID - 1, "Host Kiwi", "host.kiwi")
    msg = pb.WebcastLiveIntroMessage(
        common=common_data("WebcastLiveIntroMessage", msg_id, room_id, create_time),
        id=intro_id,
        content=content,
        user=user,
        intro_mode=intro_mode,
        content_language=content_language,
    )
    return msg.SerializeToString()


def barrage(
    msg_type: int = 8,
    content_key: str = "pm_mt_grade_upgrade_msg",
    user: pb.User | None = None,
    *,
    common_barrage_key: str = "",
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastBarrageMessage`` banner (level-up by default; super-fan keys go in
    ``content_key`` or ``common_barrage_key``)."""
    user = user if user is not None else make_user()
    msg = pb.WebcastBarrageMessage(
        common=common_data("WebcastBarrageMessage", msg_id, room_id, create_time),
        msg_type=msg_type,
        content=user_text(content_key, "{0:user} reached a new level", user),
        duration=3_000,
        user=user,
    )
    if common_barrage_key:
        msg.common_barrage_content.key = common_barrage_key
    return msg.SerializeToString()
