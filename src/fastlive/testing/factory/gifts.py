"""Builders of what viewers pay for: gifts (with streaks), treasure chests, subscriptions."""

from __future__ import annotations

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    DEFAULT_USER_ID,
    common_data,
    hex_digits,
    identity,
    image,
    make_user,
    user_text,
)

__all__ = ["envelope", "gift", "sub_notify"]


def gift(
    gift_id: int = 5655,
    name: str = "Rose",
    diamond_count: int = 1,
    gift_type: int = 1,
    user: pb.User | None = None,
    *,
    repeat_count: int = 1,
    repeat_end: int = 1,
    combo_count: int | None = None,
    group_id: int = 1_767_225_600_123,
    group_count: int = 1,
    send_type: int = 1,
    fan_ticket_count: int | None = None,
    to_user: pb.User | None = None,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastGiftMessage``; ``gift_type`` 1 streaks until a message with ``repeat_end=1``."""
    user = user if user is not None else make_user()
    gift_piece = pb.TextPiece(
        type=12, gift_value=pb.TextPieceGift(gift_id=gift_id, name_ref=pb.PatternRef(key=name))
    )
    count_piece = pb.TextPiece(type=1, string_value=f"x{repeat_count}")
    display = user_text(
        "webcast_aweme_gift_send_message",
        "{0:user} sent {1:gift} {2:string}",
        user,
        gift_piece,
        count_piece,
    )
    msg = pb.WebcastGiftMessage(
        common=common_data(
            "WebcastGiftMessage",
            msg_id,
            room_id,
            create_time,
            display,
            describe=f"{user.nickname}: sent {name}",
            priority_score=diamond_count * repeat_count,
        ),
        gift_id=gift_id,
        fan_ticket_count=diamond_count * repeat_count
        if fan_ticket_count is None
        else fan_ticket_count,
        group_count=group_count,
        repeat_count=repeat_count,
        combo_count=repeat_count if combo_count is None else combo_count,
        user=user,
        repeat_end=repeat_end,
        group_id=group_id,
        send_type=send_type,
        log_id=hex_digits(f"log/{msg_id}", 34).upper(),
        user_identity=identity(is_gift_giver_of_anchor=True, is_follower_of_anchor=True),
        gift=pb.Gift(
            id=gift_id,
            name=name,
            diamond_count=diamond_count,
            type=gift_type,
            combo=gift_type == 1,
            describe=f"sent {name}",
            duration=1000,
            is_displayed_on_panel=True,
            image=image(f"gift/{gift_id}", 135),
            icon=image(f"gift-icon/{gift_id}", 100),
        ),
        monitor_extra=(
            f'{{"anchor_id":{room_id - 1},"gift_id":{gift_id},"msg_id":{msg_id},'
            f'"repeat_count":{repeat_count},"room_id":{room_id},"send_gift_profit_core_start_ms":0,'
            f'"send_gift_send_message_success_ms":{create_time},"to_user_id":{room_id - 1}}}'
        ),
    )
    if to_user is not None:
        msg.to_user.CopyFrom(to_user)
    return msg.SerializeToString()


def envelope(
    *,
    envelope_id: str = "7450000000000000999",
    business_type: int = 1,
    diamond_count: int = 100,
    people_count: int = 20,
    unpack_at: int = 1_767_225_700,
    send_user_name: str = "Sunny Otter",
    send_user_id: str = str(DEFAULT_USER_ID),
    display: int = 1,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastEnvelopeMessage`` (treasure chest); ``business_type`` 19 is a super-fan box."""
    msg = pb.WebcastEnvelopeMessage(
        common=common_data("WebcastEnvelopeMessage", msg_id, room_id, create_time),
        envelope_info=pb.MessageRedEnvelopInfo(
            envelope_id=envelope_id,
            business_type=business_type,
            send_user_name=send_user_name,
            send_user_id=send_user_id,
            diamond_count=diamond_count,
            people_count=people_count,
            unpack_at=unpack_at,
            send_user_avatar=image(f"avatar/{send_user_id}", 100),
        ),
        display=display,
    )
    return msg.SerializeToString()


def sub_notify(
    user: pb.User | None = None,
    *,
    sub_month: int = 3,
    subscribe_type: int = 1,
    old_subscribe_status: int = 1,
    subscribing_status: int = 2,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastSubNotifyMessage``: a viewer subscribed (or renewed)."""
    user = user if user is not None else make_user()
    msg = pb.WebcastSubNotifyMessage(
        common=common_data("WebcastSubNotifyMessage", msg_id, room_id, create_time),
        user=user,
        sub_month=sub_month,
        subscribe_type=subscribe_type,
        old_subscribe_status=old_subscribe_status,
        subscribing_status=subscribing_status,
    )
    return msg.SerializeToString()
