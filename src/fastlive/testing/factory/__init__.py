"""Realistic webcast protobuf bytes with made-up users, for tests, fakes and benchmarks.

Builders return message payloads (what ``BaseProtoMessage.payload`` carries); ``fetch_result``
wraps them in a batch and ``push_frame`` in a websocket frame. Sizes follow the 2023 captures
(``../shared/captures/README.md``): most of a message is its ``User``, with signed avatar URLs and a
level badge, repeated in ``common.display_text`` for member, gift and social messages.

Nothing here is copied from the captures: every id, name, handle and URL is invented.

One module per job, all re-exported here: :mod:`~fastlive.testing.factory.common` (default ids,
users, ``common``), :mod:`~fastlive.testing.factory.wire` (varints, batches, frames), the
builders by family (:mod:`~fastlive.testing.factory.social`, :mod:`~fastlive.testing.factory.gifts`,
:mod:`~fastlive.testing.factory.battles`, :mod:`~fastlive.testing.factory.ranks`,
:mod:`~fastlive.testing.factory.room`) and :mod:`~fastlive.testing.factory.traffic`.
"""

from fastlive.testing.factory.battles import link_mic_armies, link_mic_battle
from fastlive.testing.factory.common import (
    DEFAULT_MSG_ID as DEFAULT_MSG_ID,  # importable as before, not in __all__
)
from fastlive.testing.factory.common import (
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    DEFAULT_USER_ID,
    make_user,
)
from fastlive.testing.factory.gifts import envelope, gift, sub_notify
from fastlive.testing.factory.ranks import (
    goal_update,
    hourly_rank_reward,
    poll,
    rank_update,
    room_user_seq,
)
from fastlive.testing.factory.room import (
    barrage,
    caption,
    control,
    im_delete,
    in_room_banner,
    live_intro,
    room_pin,
)
from fastlive.testing.factory.social import (
    chat,
    emote_chat,
    like,
    member,
    question,
    social_follow,
    social_share,
)
from fastlive.testing.factory.traffic import CHAT_LINES, GIFTS, MIX, random_traffic
from fastlive.testing.factory.wire import fetch_result, generic, push_frame

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
