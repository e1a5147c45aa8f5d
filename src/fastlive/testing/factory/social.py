"""Builders of what viewers do in the room: comments, emotes, likes, joins, follows, shares,
questions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    common_data,
    identity,
    image,
    make_user,
    user_text,
)

__all__ = [
    "chat",
    "emote_chat",
    "like",
    "member",
    "question",
    "social_follow",
    "social_share",
]


def chat(
    content: str = "hello from the test factory!",
    user: pb.User | None = None,
    *,
    emotes: Iterable[tuple[int, str]] = (),
    content_language: str = "en",
    user_identity: Mapping[str, bool] | None = None,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastChatMessage`` (comment); ``emotes`` are (index, emote_id) pairs."""
    user = user if user is not None else make_user()
    msg = pb.WebcastChatMessage(
        common=common_data(
            "WebcastChatMessage", msg_id, room_id, create_time, client_send_time=create_time - 180
        ),
        user=user,
        content=content,
        content_language=content_language,
        input_type=1,
        user_identity=identity(**(user_identity or {"is_follower_of_anchor": True})),
        comment_tag=[1],
    )
    for index, emote_id in emotes:
        msg.emotes.add(
            index=index,
            emote=pb.EmoteModel(emote_id=emote_id, image=image(f"emote/{emote_id}", 128, 1)),
        )
    return msg.SerializeToString()


def emote_chat(
    emote_ids: Sequence[str] = ("7300000000000000777",),
    user: pb.User | None = None,
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastEmoteChatMessage``: a sticker-only comment of subscriber emotes."""
    user = user if user is not None else make_user()
    msg = pb.WebcastEmoteChatMessage(
        common=common_data("WebcastEmoteChatMessage", msg_id, room_id, create_time),
        user=user,
        user_identity=identity(is_subscriber_of_anchor=True, is_follower_of_anchor=True),
    )
    for emote_id in emote_ids:
        msg.emote_list.add(emote_id=emote_id, image=image(f"emote/{emote_id}", 128, 1))
    return msg.SerializeToString()


def like(
    count: int = 12,
    total: int = 3_456,
    user: pb.User | None = None,
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastLikeMessage``: ``count`` likes from one viewer, ``total`` in the room."""
    user = user if user is not None else make_user()
    slim = pb.User(id=user.id, nickname=user.nickname, display_id=user.display_id)
    msg = pb.WebcastLikeMessage(
        common=common_data(
            "WebcastLikeMessage",
            msg_id,
            room_id,
            create_time,
            user_text("pm_mt_msg_viewer", "{0:user} liked the LIVE", slim),
            priority_score=count,
        ),
        count=count,
        total=total,
        user=user,
        effect_cnt=1,
    )
    return msg.SerializeToString()


def member(
    user: pb.User | None = None,
    *,
    action: int = 1,
    member_count: int = 1_234,
    enter_type: int = 0,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastMemberMessage``: a viewer joined (``action`` 1) or another member action."""
    user = user if user is not None else make_user(level_badge=False)
    msg = pb.WebcastMemberMessage(
        common=common_data(
            "WebcastMemberMessage",
            msg_id,
            room_id,
            create_time,
            user_text("live_room_enter_toast", "{0:user} joined", user),
            priority_score=1,
        ),
        anchor_display_text=user_text("live_room_enter_toast_anchor", "{0:user} joined", user),
        user=user,
        member_count=member_count,
        action=action,
        enter_type=enter_type,
        client_enter_source="homepage_hot-live_cell",
        client_enter_type="click",
        client_live_reason="",
    )
    return msg.SerializeToString()


def _social(
    key: str,
    pattern: str,
    user: pb.User | None,
    action: int,
    msg_id: int,
    room_id: int,
    create_time: int,
    **fields: int | str,
) -> bytes:
    user = user if user is not None else make_user()
    msg = pb.WebcastSocialMessage(
        common=common_data(
            "WebcastSocialMessage", msg_id, room_id, create_time, user_text(key, pattern, user)
        ),
        user=user,
        action=action,
        **fields,
    )
    return msg.SerializeToString()


def social_follow(
    user: pb.User | None = None,
    *,
    follow_count: int = 5_678,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastSocialMessage`` follow (display key ``pm_main_follow_message_viewer_2``)."""
    return _social(
        "pm_main_follow_message_viewer_2",
        "{0:user} followed the LIVE creator",
        user,
        1,
        msg_id,
        room_id,
        create_time,
        follow_count=follow_count,
    )


def social_share(
    user: pb.User | None = None,
    *,
    share_count: int = 17,
    share_type: int = 1,
    share_target: str = "instagram",
    display_key: str = "pm_mt_guidance_share",
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastSocialMessage`` share (display key ``pm_mt_guidance_share`` by default)."""
    return _social(
        display_key,
        "{0:user} shared the LIVE",
        user,
        3,
        msg_id,
        room_id,
        create_time,
        share_count=share_count,
        share_type=share_type,
        share_target=share_target,
    )


def question(
    content: str = "what game is this?",
    user: pb.User | None = None,
    *,
    question_id: int = 7_450_000_000_000_000_555,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastQuestionNewMessage``: a viewer asked the host a question."""
    user = user if user is not None else make_user()
    msg = pb.WebcastQuestionNewMessage(
        common=common_data("WebcastQuestionNewMessage", msg_id, room_id, create_time),
        data=pb.Question(
            question_id=question_id, content=content, user=user, create_time=create_time // 1000
        ),
    )
    return msg.SerializeToString()
