"""Realistic webcast protobuf bytes with made-up users, for tests, fakes and benchmarks.

Builders return message payloads (what ``BaseProtoMessage.payload`` carries); ``fetch_result``
wraps them in a batch and ``push_frame`` in a websocket frame. Sizes follow the 2023 captures
(``../shared/captures/README.md``): most of a message is its ``User``, with signed avatar URLs and a
level badge, repeated in ``common.display_text`` for member, gift and social messages.

Nothing here is copied from the captures: every id, name, handle and URL is invented.
"""

from __future__ import annotations

import gzip as _gzip
import hashlib
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from fastlive.proto import webcast_pb2 as pb

__all__ = [
    "CHAT_LINES",
    "DEFAULT_ROOM_ID",
    "DEFAULT_TIME_MS",
    "DEFAULT_USER_ID",
    "GIFTS",
    "MIX",
    "barrage",
    "caption",
    "chat",
    "control",
    "emote_chat",
    "envelope",
    "fetch_result",
    "generic",
    "gift",
    "goal_update",
    "hourly_rank_reward",
    "im_delete",
    "in_room_banner",
    "like",
    "link_mic_armies",
    "link_mic_battle",
    "live_intro",
    "make_user",
    "member",
    "poll",
    "push_frame",
    "question",
    "random_traffic",
    "rank_update",
    "room_pin",
    "room_user_seq",
    "social_follow",
    "social_share",
    "sub_notify",
]

DEFAULT_ROOM_ID = 7_400_000_000_000_000_001
"""A room id above 2**53, as real ones are."""
DEFAULT_USER_ID = 7_300_000_000_000_000_123
"""A user id above 2**53, as real ones are."""
DEFAULT_TIME_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z in milliseconds: the default ``create_time`` and ``now``."""
DEFAULT_MSG_ID = 7_450_000_000_000_000_001

_AVATAR_HOSTS = (
    "p16-sign-va.tiktokcdn.com",
    "p77-sign-va.tiktokcdn.com",
    "p19-sign.tiktokcdn-us.com",
)
_AVATAR_SIZES = {"thumb": 100, "medium": 720, "large": 1080}
_ADJECTIVES = (
    "quiet",
    "brave",
    "sunny",
    "lucky",
    "fuzzy",
    "swift",
    "mellow",
    "cosmic",
    "tiny",
    "jolly",
)
_NOUNS = (
    "otter",
    "maple",
    "comet",
    "pixel",
    "walrus",
    "falcon",
    "noodle",
    "cactus",
    "panda",
    "lynx",
)


def _hex(seed: str, n: int) -> str:
    """``n`` hex digits derived from ``seed``: stable made-up hashes for URLs and sec_uids."""
    out = ""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{seed}/{counter}".encode()).hexdigest()
        counter += 1
    return out[:n]


def _signed_url(key: str, size: int, variant: int) -> str:
    """A URL shaped like TikTok's signed CDN links (host, crop, expiry, signature)."""
    host = _AVATAR_HOSTS[variant % len(_AVATAR_HOSTS)]
    ext = ("webp", "jpeg", "avif")[variant % 3]
    return (
        f"https://{host}/tos-avt-0068/{_hex(key, 24)}~c5_{size}x{size}.{ext}"
        f"?x-expires=1767312000&x-signature={_hex(key + ext, 20)}%3D"
    )


def _image(key: str, size: int, n_urls: int = 3) -> pb.ImageModel:
    """An ``ImageModel`` with ``n_urls`` signed-looking URLs of one picture."""
    return pb.ImageModel(
        url_list=[_signed_url(key, size, i) for i in range(n_urls)],
        uri=f"tos-avt-0068/{_hex(key, 24)}",
    )


def _level_badge(level: int) -> pb.BadgeStruct:
    """The gifter-level badge the app shows before a name (combine badge, scene USER_GRADE)."""
    return pb.BadgeStruct(
        display_type=pb.BADGE_DISPLAY_TYPE_COMBINE,
        priority_type=pb.BADGE_PRIORITY_TYPE_PLATFORM,
        scene_type=pb.BADGE_SCENE_TYPE_USER_GRADE,
        position=1,
        display=True,
        openweburl=(
            "sslocal://webcast_lynxview_popup?use_spark=1&url=https%3A%2F%2Flf16-gecko-source"
            ".tiktokcdn.com%2Fobj%2Fbyte-gurd-source-sg%2Ftiktok%2Ffe%2Flive%2Ftiktok_live"
            f"_revenue_user_level_main%2Fsrc%2Fpages%2Fprivilege%2Fpanel%2Ftemplate.js&level={level}"
        ),
        privilege_log_extra=pb.PrivilegeLogExtra(
            data_version="2",
            privilege_id=str(7_100_000_000_000_000_000 + level),
            privilege_version="0",
            privilege_order_id=f"mock_fix_width_transparent_{7_100_000_000_000_000_000 + level}",
            level=str(level),
        ),
        combine=pb.CombineBadgeStruct(
            display_type=1,
            icon=pb.ImageModel(
                url_list=[
                    f"https://p16-webcast.tiktokcdn.com/webcast-va/grade_badge_icon_lite_lv{level}"
                    f"_v{v}.png~tplv-obj.image"
                    for v in (1, 2)
                ],
                uri=f"webcast-va/grade_badge_icon_lite_lv{level}_v1.png",
                height=16,
                width=32,
            ),
            str=str(level),
            public_screen_show_style=14,
            personal_card_show_style=15,
        ),
    )


def make_user(
    user_id: int = DEFAULT_USER_ID,
    nickname: str = "Sunny Otter",
    unique_id: str = "sunny.otter",
    *,
    sec_uid: str | None = None,
    gifter_level: int = 14,
    follow_status: int = 0,
    following_count: int = 180,
    follower_count: int = 42,
    fan_club_name: str = "Otter Crew",
    fan_level: int = 5,
    verified: bool = False,
    avatars: Sequence[str] = ("thumb", "medium", "large"),
    level_badge: bool = True,
) -> pb.User:
    """A made-up viewer, as heavy on the wire as real ones (avatars, badge, honours).

    ``avatars`` picks which of thumb/medium/large to include (3 URLs each); member messages and
    rankings carry lighter users (no badge, thumb only), as the server sends them.
    """
    if sec_uid is None:
        sec_uid = "MS4wLjABAAAA" + _hex(f"sec/{user_id}", 64)
    user = pb.User(
        id=user_id,
        nickname=nickname,
        display_id=unique_id,
        sec_uid=sec_uid,
        verified=verified,
        follow_info=pb.FollowInfo(
            following_count=following_count,
            follower_count=follower_count,
            follow_status=follow_status,
        ),
        pay_grade=pb.UserHonor(level=gifter_level),
    )
    for which in avatars:
        size = _AVATAR_SIZES[which]
        getattr(user, f"avatar_{which}").CopyFrom(_image(f"avatar/{user_id}", size))
    if fan_club_name:
        user.fans_club.data.club_name = fan_club_name
        user.fans_club.data.level = fan_level
        user.fans_club.data.user_fans_club_status = 1
    if level_badge and gifter_level:
        user.badge_list.append(_level_badge(gifter_level))
    return user


def _common(
    method: str,
    msg_id: int,
    room_id: int,
    create_time: int,
    display_text: pb.Text | None = None,
    **extra: int | str | bool,
) -> pb.CommonMessageData:
    """``CommonMessageData`` as the server fills it (fields 1-4 plus fold/priority hints)."""
    common = pb.CommonMessageData(
        method=method,
        msg_id=msg_id,
        room_id=room_id,
        create_time=create_time,
        is_show_msg=True,
        fold_type=2,
        anchor_fold_type=2,
        fold_type_for_web=2,
        anchor_fold_type_for_web=2,
        room_message_heat_level=1,
        **extra,
    )
    if display_text is not None:
        common.display_text.CopyFrom(display_text)
    return common


def _user_text(key: str, pattern: str, user: pb.User, *more: pb.TextPiece) -> pb.Text:
    """A ``Text`` whose first piece is the user (piece type 11), as in member/like/social;
    the server repeats the user there, with the thumbnail avatar only."""
    piece = pb.TextPiece(type=11, format=pb.TextFormat(color="#ffe6e6e6", weight=400))
    piece.user_value.user.CopyFrom(user)
    piece.user_value.user.ClearField("avatar_medium")
    piece.user_value.user.ClearField("avatar_large")
    return pb.Text(
        key=key,
        default_pattern=pattern,
        default_format=pb.TextFormat(color="#ffffffff", weight=400),
        pieces=[piece, *more],
    )


def _identity(**flags: bool) -> pb.UserIdentity:
    return pb.UserIdentity(**flags)


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
        common=_common(
            "WebcastChatMessage", msg_id, room_id, create_time, client_send_time=create_time - 180
        ),
        user=user,
        content=content,
        content_language=content_language,
        input_type=1,
        user_identity=_identity(**(user_identity or {"is_follower_of_anchor": True})),
        comment_tag=[1],
    )
    for index, emote_id in emotes:
        msg.emotes.add(
            index=index,
            emote=pb.EmoteModel(emote_id=emote_id, image=_image(f"emote/{emote_id}", 128, 1)),
        )
    return msg.SerializeToString()


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
    display = _user_text(
        "webcast_aweme_gift_send_message",
        "{0:user} sent {1:gift} {2:string}",
        user,
        gift_piece,
        count_piece,
    )
    msg = pb.WebcastGiftMessage(
        common=_common(
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
        log_id=_hex(f"log/{msg_id}", 34).upper(),
        user_identity=_identity(is_gift_giver_of_anchor=True, is_follower_of_anchor=True),
        gift=pb.Gift(
            id=gift_id,
            name=name,
            diamond_count=diamond_count,
            type=gift_type,
            combo=gift_type == 1,
            describe=f"sent {name}",
            duration=1000,
            is_displayed_on_panel=True,
            image=_image(f"gift/{gift_id}", 135),
            icon=_image(f"gift-icon/{gift_id}", 100),
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
        common=_common(
            "WebcastLikeMessage",
            msg_id,
            room_id,
            create_time,
            _user_text("pm_mt_msg_viewer", "{0:user} liked the LIVE", slim),
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
        common=_common(
            "WebcastMemberMessage",
            msg_id,
            room_id,
            create_time,
            _user_text("live_room_enter_toast", "{0:user} joined", user),
            priority_score=1,
        ),
        anchor_display_text=_user_text("live_room_enter_toast_anchor", "{0:user} joined", user),
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
        common=_common(
            "WebcastSocialMessage", msg_id, room_id, create_time, _user_text(key, pattern, user)
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


def _ranked_users(n: int, seed: int = 0) -> list[pb.User]:
    """``n`` distinct lighter users (two avatars, no badge) for rankings."""
    out = []
    for i in range(n):
        adjective, noun = _ADJECTIVES[(i + seed) % 10], _NOUNS[(i * 3 + seed) % 10]
        out.append(
            make_user(
                DEFAULT_USER_ID + 1_000 + i + seed * 100,
                f"{adjective.title()} {noun.title()}",
                f"{adjective}.{noun}{i}",
                avatars=("thumb", "medium"),
                level_badge=False,
                fan_club_name="",
            )
        )
    return out


def room_user_seq(
    total: int = 1_234,
    total_user: int = 56_789,
    *,
    ranks: Sequence[tuple[pb.User, int]] | None = None,
    popularity: int = 9_876,
    anonymous: int = 0,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastRoomUserSeqMessage``: viewer counts and the top-3 (user, score) ranking."""
    if ranks is None:
        ranks = list(zip(_ranked_users(3), (4_200, 1_337, 512), strict=True))
    msg = pb.WebcastRoomUserSeqMessage(
        common=_common("WebcastRoomUserSeqMessage", msg_id, room_id, create_time),
        total=total,
        total_user=total_user,
        popularity=popularity,
        anonymous=anonymous,
    )
    for rank, (user, score) in enumerate(ranks, 1):
        msg.ranks.add(user=user, score=score, rank=rank)
    return msg.SerializeToString()


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
        common=_common("WebcastControlMessage", msg_id, room_id, create_time),
        action=action,
        tips=tips,
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
        common=_common("WebcastEmoteChatMessage", msg_id, room_id, create_time),
        user=user,
        user_identity=_identity(is_subscriber_of_anchor=True, is_follower_of_anchor=True),
    )
    for emote_id in emote_ids:
        msg.emote_list.add(emote_id=emote_id, image=_image(f"emote/{emote_id}", 128, 1))
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
        common=_common("WebcastEnvelopeMessage", msg_id, room_id, create_time),
        envelope_info=pb.MessageRedEnvelopInfo(
            envelope_id=envelope_id,
            business_type=business_type,
            send_user_name=send_user_name,
            send_user_id=send_user_id,
            diamond_count=diamond_count,
            people_count=people_count,
            unpack_at=unpack_at,
            send_user_avatar=_image(f"avatar/{send_user_id}", 100),
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
        common=_common("WebcastSubNotifyMessage", msg_id, room_id, create_time),
        user=user,
        sub_month=sub_month,
        subscribe_type=subscribe_type,
        old_subscribe_status=old_subscribe_status,
        subscribing_status=subscribing_status,
    )
    return msg.SerializeToString()


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
        common=_common("WebcastQuestionNewMessage", msg_id, room_id, create_time),
        data=pb.Question(
            question_id=question_id, content=content, user=user, create_time=create_time // 1000
        ),
    )
    return msg.SerializeToString()


_DEFAULT_ANCHORS = (
    (DEFAULT_ROOM_ID - 1, "Host Kiwi", "host.kiwi"),
    (DEFAULT_ROOM_ID - 2, "Host Lime", "host.lime"),
)


def link_mic_battle(
    battle_id: int = 7_450_000_000_000_100_001,
    *,
    action: int = 4,
    status: int = 1,
    start_time_ms: int = DEFAULT_TIME_MS,
    duration: int = 300,
    anchors: Sequence[tuple[int, str, str]] = _DEFAULT_ANCHORS,
    results: Sequence[tuple[int, int, int]] = (),
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastLinkMicBattle``: anchors are (user_id, nickname, handle), results
    (user_id, result 0 win/1 lose/2 draw, score)."""
    msg = pb.WebcastLinkMicBattle(
        common=_common("WebcastLinkMicBattle", msg_id, room_id, create_time),
        battle_id=battle_id,
        action=action,
        battle_settings=pb.BattleSetting(
            battle_id=battle_id, start_time_ms=start_time_ms, duration=duration, status=status
        ),
    )
    for user_id, nickname, handle in anchors:
        msg.anchors_info.add(
            key=user_id,
            value=pb.BattleUserInfo(
                user=pb.BattleBaseUserInfo(
                    user_id=user_id,
                    nick_name=nickname,
                    display_id=handle,
                    avatar_thumb=_image(f"avatar/{user_id}", 100, 1),
                )
            ),
        )
    for user_id, result, score in results:
        msg.battle_result[user_id].CopyFrom(
            pb.BattleResult(user_id=user_id, result=result, score=score)
        )
    return msg.SerializeToString()


def link_mic_armies(
    battle_id: int = 7_450_000_000_000_100_001,
    *,
    armies: Mapping[int, tuple[int, Sequence[tuple[int, str, int]]]] | None = None,
    from_user_id: int = DEFAULT_USER_ID,
    gift_id: int = 5655,
    gift_count: int = 1,
    repeat_count: int = 1,
    total_diamond_count: int = 1,
    trigger_reason: int = 1,
    battle_status: int = 1,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastLinkMicArmies`` score update: ``armies`` maps anchor id to
    (host score, [(user_id, nickname, score)])."""
    if armies is None:
        armies = {
            DEFAULT_ROOM_ID - 1: (120, [(DEFAULT_USER_ID, "Sunny Otter", 100)]),
            DEFAULT_ROOM_ID - 2: (80, [(DEFAULT_USER_ID + 7, "Brave Comet", 80)]),
        }
    msg = pb.WebcastLinkMicArmies(
        common=_common("WebcastLinkMicArmies", msg_id, room_id, create_time),
        battle_id=battle_id,
        from_user_id=from_user_id,
        gift_id=gift_id,
        gift_count=gift_count,
        repeat_count=repeat_count,
        total_diamond_count=total_diamond_count,
        trigger_reason=trigger_reason,
        battle_settings=pb.BattleSetting(battle_id=battle_id, status=battle_status),
    )
    for anchor_id, (host_score, users) in armies.items():
        army = msg.armies[anchor_id]
        army.hostscore = host_score
        army.anchor_id_str = str(anchor_id)
        for user_id, nickname, score in users:
            army.user_armies.add(user_id=user_id, nickname=nickname, score=score)
    return msg.SerializeToString()


def rank_update(
    updates: Sequence[tuple[int, int, int, int]] = ((8, 3, 1_200, 1_800),),
    *,
    group_type: int = 1,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastRankUpdateMessage``; updates are (rank_type, own_rank, score, countdown)."""
    msg = pb.WebcastRankUpdateMessage(
        common=_common("WebcastRankUpdateMessage", msg_id, room_id, create_time),
        group_type=group_type,
    )
    for rank_type, own_rank, score, countdown in updates:
        msg.updates.add(
            rank_type=rank_type, own_rank=own_rank, current_score=score, countdown=countdown
        )
    return msg.SerializeToString()


def hourly_rank_reward(
    winner_ids: Sequence[int] = (DEFAULT_ROOM_ID - 1,),
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastHourlyRankRewardMessage``: the hosts who won the hourly ranking."""
    msg = pb.WebcastHourlyRankRewardMessage(
        common=_common("WebcastHourlyRankRewardMessage", msg_id, room_id, create_time)
    )
    for user_id in winner_ids:
        msg.winners.add(user_id=user_id, asset_id=7_000 + len(msg.winners))
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
        common=_common("WebcastRoomPinMessage", msg_id, room_id, create_time),
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


def poll(
    phase: str = "start",
    *,
    poll_id: int = 7_450_000_000_000_200_001,
    title: str = "Next game?",
    options: Sequence[tuple[str, int]] = (("Chess", 3), ("Tetris", 5)),
    operator: pb.User | None = None,
    poll_kind: int = 2,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastPollMessage``: ``phase`` "start", "update" or "end"; options are
    (text, votes)."""
    option_list = [
        pb.PollOptionInfo(option_idx=i, display_content=text, votes=votes)
        for i, (text, votes) in enumerate(options)
    ]
    operator = (
        operator
        if operator is not None
        else make_user(DEFAULT_ROOM_ID - 1, "Host Kiwi", "host.kiwi")
    )
    msg = pb.WebcastPollMessage(
        common=_common("WebcastPollMessage", msg_id, room_id, create_time),
        message_type={"start": 0, "update": 1, "end": 2}[phase],
        poll_id=poll_id,
        poll_kind=poll_kind,
        poll_basic_info=pb.PollBasicInfo(title=title, poll_id_str=str(poll_id), poll_duration=60),
    )
    if phase == "start":
        msg.start_content.CopyFrom(
            pb.PollStartContent(
                start_time=create_time // 1000,
                end_time=create_time // 1000 + 60,
                option_list=option_list,
                title=title,
                operator=operator,
            )
        )
    elif phase == "update":
        msg.update_votes_content.CopyFrom(
            pb.PollUpdateVotesContent(option_list=option_list, operator=operator)
        )
    else:
        msg.end_content.CopyFrom(
            pb.PollEndContent(end_type=1, option_list=option_list, operator=operator)
        )
    return msg.SerializeToString()


def goal_update(
    goal_id: int = 7_450_000_000_000_300_001,
    *,
    description: str = "Road to 1k roses",
    status: int = 1,
    sub_goals: Sequence[tuple[int, int, str, int]] = ((250, 1_000, "Rose", 1),),
    contributor_id: int = DEFAULT_USER_ID,
    contributor_unique_id: str = "sunny.otter",
    contribute_count: int = 1,
    contribute_score: int = 1,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastGoalUpdateMessage``; sub_goals are (progress, target, gift name, diamonds)."""
    goal = pb.LiveStreamGoal(id=goal_id, id_str=str(goal_id), type=1, status=status)
    goal.description = description
    for i, (progress, target, gift_name, diamonds) in enumerate(sub_goals):
        goal.sub_goals.add(
            type=1,
            id=goal_id + 1 + i,
            id_str=str(goal_id + 1 + i),
            progress=progress,
            target=target,
            gift=pb.LiveStreamSubGoalGift(name=gift_name, diamond_count=diamonds, type=1),
        )
    msg = pb.WebcastGoalUpdateMessage(
        common=_common("WebcastGoalUpdateMessage", msg_id, room_id, create_time),
        goal=goal,
        contributor_id=contributor_id,
        contributor_id_str=str(contributor_id),
        contributor_display_id=contributor_unique_id,
        contribute_count=contribute_count,
        contribute_score=contribute_score,
    )
    return msg.SerializeToString()


def in_room_banner(
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
) -> bytes:
    """A ``WebcastInRoomBannerMessage`` (the v3 schema declares only ``common``)."""
    msg = pb.WebcastInRoomBannerMessage(
        common=_common("WebcastInRoomBannerMessage", msg_id, room_id, create_time)
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
        common=_common("WebcastCaptionMessage", msg_id, room_id, create_time),
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
        common=_common("WebcastImDeleteMessage", msg_id, room_id, create_time),
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
        common=_common("WebcastLiveIntroMessage", msg_id, room_id, create_time),
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
        common=_common("WebcastBarrageMessage", msg_id, room_id, create_time),
        msg_type=msg_type,
        content=_user_text(content_key, "{0:user} reached a new level", user),
        duration=3_000,
        user=user,
    )
    if common_barrage_key:
        msg.common_barrage_content.key = common_barrage_key
    return msg.SerializeToString()


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def generic(
    method: str,
    *,
    msg_id: int = DEFAULT_MSG_ID,
    room_id: int = DEFAULT_ROOM_ID,
    create_time: int = DEFAULT_TIME_MS,
    extra: bytes = b"",
) -> bytes:
    """A message of any method, schema or not: just ``common`` (field 1), then ``extra`` raw
    bytes (more fields, already encoded)."""
    common = _common(method, msg_id, room_id, create_time).SerializeToString()
    return b"\x0a" + _varint(len(common)) + common + extra


def fetch_result(
    messages: Sequence[tuple[str, bytes, int]],
    *,
    cursor: str | None = None,
    internal_ext: str | None = None,
    need_ack: bool = True,
    is_first: bool = False,
    push_server: str = "wss://webcast16-ws-useast1a.tiktok.com/webcast/im/push/v2/",
    route_params: Mapping[str, str] | None = None,
    fetch_interval: int = 1_000,
    now: int = DEFAULT_TIME_MS,
    heartbeat_duration: int = 10_000,
) -> bytes:
    """A ``ProtoMessageFetchResult`` batch of (method, payload, msg_id) messages."""
    last_id = messages[-1][2] if messages else 0
    if cursor is None:
        cursor = f"{now}_{last_id}_1_1_0_0"
    if internal_ext is None:
        internal_ext = (
            f"internal_src:dim|wss_push_did:0|first_req_ms:{now - 1_000}|fetch_time:{now}"
            f"|seq:1|wss_info:0-{now}-0-0|wrds_v:{last_id}"
        )
    result = pb.ProtoMessageFetchResult(
        cursor=cursor,
        fetch_interval=fetch_interval,
        now=now,
        internal_ext=internal_ext,
        heartbeat_duration=heartbeat_duration,
        need_ack=need_ack,
        push_server=push_server,
        is_first=is_first,
    )
    if route_params is None:
        route_params = {"room_id": str(DEFAULT_ROOM_ID), "compress": "gzip", "imprp": "1"}
    result.route_params.update(route_params)
    for method, payload, msg_id in messages:
        result.messages.add(method=method, payload=payload, msg_id=msg_id)
    return result.SerializeToString()


def push_frame(
    payload: bytes,
    *,
    log_id: int,
    payload_type: str = "msg",
    gzip: bool = True,
    seq_id: int = 0,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> bytes:
    """A ``WebcastPushFrame``; ``gzip`` compresses the payload and sets ``compress_type``."""
    pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
    if not any(key == "compress_type" for key, _ in pairs):
        pairs.insert(0, ("compress_type", "gzip" if gzip else "none"))
    if gzip:
        payload = _gzip.compress(payload, mtime=0)
    frame = pb.WebcastPushFrame(
        seq_id=seq_id,
        log_id=log_id,
        payload_encoding="pb",
        payload_type=payload_type,
        payload=payload,
    )
    for key, value in pairs:
        frame.headers.add(key=key, value=value)
    return frame.SerializeToString()


CHAT_LINES = (
    "hi from the test room",
    "love this stream",
    "what song is this?",
    "first time here 👋",
    "gg",
    "that was close",
    "hello everyone!",
    "can you say hi to me?",
    "lol",
    "where are you streaming from?",
)
"""What the viewers of ``random_traffic`` say (its default ``chat_lines``)."""
GIFTS = (
    (5655, "Rose", 1, 1),
    (5269, "TikTok", 1, 1),
    (6064, "GG", 1, 1),
    (5827, "Ice Cream Cone", 1, 1),
    (6104, "Cap", 99, 1),
    (5585, "Confetti", 100, 2),
)
"""The gifts of ``random_traffic``: (gift id, name, diamonds, gift type); type 1 comes in streaks."""
MIX = (
    ("chat", 50),
    ("like", 20),
    ("member", 12),
    ("gift", 8),
    ("follow", 5),
    ("share", 1),
    ("room_user_seq", 4),
)
"""Kinds of message in ``random_traffic`` and their weights (percent of messages)."""


def _user_pool(rng: random.Random, n: int) -> list[pb.User]:
    """``n`` made-up viewers with distinct ids and handles."""
    users = []
    for i in range(n):
        adjective, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
        users.append(
            make_user(
                DEFAULT_USER_ID + rng.randrange(1, 10**15),
                f"{adjective.title()} {noun.title()} {i}",
                f"{adjective}.{noun}.{i}",
                gifter_level=rng.choice((0, 3, 8, 14, 22, 31)),
                follow_status=rng.choice((0, 0, 0, 1, 2)),
                fan_club_name=rng.choice(("", "", "Otter Crew")),
                fan_level=rng.randrange(1, 20),
            )
        )
    return users


def random_traffic(
    seed: int = 0,
    n_frames: int = 100,
    room_id: int = DEFAULT_ROOM_ID,
    *,
    make_users: Callable[[random.Random], Sequence[tuple[pb.User, pb.User]]] | None = None,
    chat_lines: Sequence[str] = CHAT_LINES,
) -> Iterator[list[tuple[str, bytes, int]]]:
    """``n_frames`` deterministic batches of 1-30 (method, payload, msg_id): about half chat,
    a fifth likes, then joins, gifts, follows/shares and viewer counts (``MIX``).

    Args:
        seed: The same seed gives the same batches.
        n_frames: How many batches.
        room_id: The room of every message.
        make_users: Called once with the seeded ``random.Random``; returns the viewers, each
            as (user, user of its member messages). Default: 40 made-up users, the same in both.
        chat_lines: What the viewers say.
    """
    rng = random.Random(seed)
    pool = make_users(rng) if make_users else [(u, u) for u in _user_pool(rng, 40)]
    kinds = [kind for kind, _ in MIX]
    weights = [weight for _, weight in MIX]
    msg_id = DEFAULT_MSG_ID + seed * 10**9
    now = DEFAULT_TIME_MS
    total_likes = 0
    viewers = 500
    for _ in range(n_frames):
        batch: list[tuple[str, bytes, int]] = []
        for kind in rng.choices(kinds, weights, k=rng.randint(1, 30)):
            msg_id += rng.randint(1, 1_000)
            now += rng.randint(1, 200)
            user, member_user = rng.choice(pool)
            ids = {"msg_id": msg_id, "room_id": room_id, "create_time": now}
            if kind == "chat":
                method, payload = "WebcastChatMessage", chat(rng.choice(chat_lines), user, **ids)
            elif kind == "like":
                count = rng.randint(1, 15)
                total_likes += count
                method, payload = "WebcastLikeMessage", like(count, total_likes, user, **ids)
            elif kind == "member":
                viewers += 1
                method = "WebcastMemberMessage"
                payload = member(member_user, member_count=viewers, **ids)
            elif kind == "gift":
                gift_id, name, diamonds, gift_type = rng.choice(GIFTS)
                repeat = rng.randint(1, 5) if gift_type == 1 else 1
                method = "WebcastGiftMessage"
                payload = gift(gift_id, name, diamonds, gift_type, user, repeat_count=repeat, **ids)
            elif kind == "follow":
                method, payload = "WebcastSocialMessage", social_follow(user, **ids)
            elif kind == "share":
                method, payload = "WebcastSocialMessage", social_share(user, **ids)
            else:
                viewers = max(1, viewers + rng.randint(-20, 20))
                method = "WebcastRoomUserSeqMessage"
                payload = room_user_seq(viewers, viewers * 7, **ids)
            batch.append((method, payload, msg_id))
        yield batch
