"""What every builder shares: the default ids, made-up users with signed-looking avatars and a
level badge, and the ``common`` block each message opens with.

Users are most of a message's size, so they are built as heavy as the captures show; nothing is
copied from the captures: every id, name, handle and URL is invented.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fastlive.proto import webcast_pb2 as pb

__all__ = [
    "ADJECTIVES",
    "DEFAULT_MSG_ID",
    "DEFAULT_ROOM_ID",
    "DEFAULT_TIME_MS",
    "DEFAULT_USER_ID",
    "NOUNS",
    "common_data",
    "hex_digits",
    "identity",
    "image",
    "make_user",
    "user_text",
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
ADJECTIVES = (
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
NOUNS = (
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


def hex_digits(seed: str, n: int) -> str:
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
        f"https://{host}/tos-avt-0068/{hex_digits(key, 24)}~c5_{size}x{size}.{ext}"
        f"?x-expires=1767312000&x-signature={hex_digits(key + ext, 20)}%3D"
    )


def image(key: str, size: int, n_urls: int = 3) -> pb.ImageModel:
    """An ``ImageModel`` with ``n_urls`` signed-looking URLs of one picture."""
    return pb.ImageModel(
        url_list=[_signed_url(key, size, i) for i in range(n_urls)],
        uri=f"tos-avt-0068/{hex_digits(key, 24)}",
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
        sec_uid = "MS4wLjABAAAA" + hex_digits(f"sec/{user_id}", 64)
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
        getattr(user, f"avatar_{which}").CopyFrom(image(f"avatar/{user_id}", size))
    if fan_club_name:
        user.fans_club.data.club_name = fan_club_name
        user.fans_club.data.level = fan_level
        user.fans_club.data.user_fans_club_status = 1
    if level_badge and gifter_level:
        user.badge_list.append(_level_badge(gifter_level))
    return user


def common_data(
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


def user_text(key: str, pattern: str, user: pb.User, *more: pb.TextPiece) -> pb.Text:
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


def identity(**flags: bool) -> pb.UserIdentity:
    """A ``UserIdentity`` with the given flags set."""
    return pb.UserIdentity(**flags)
