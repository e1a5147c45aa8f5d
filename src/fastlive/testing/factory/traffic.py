"""Deterministic made-up traffic: batches of chat, likes, joins, gifts, follows, shares and
viewer counts in realistic proportions, for the benchmarks and the ``fastlive demo``."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    ADJECTIVES,
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    DEFAULT_USER_ID,
    NOUNS,
    make_user,
)
from fastlive.testing.factory.gifts import gift
from fastlive.testing.factory.ranks import room_user_seq
from fastlive.testing.factory.social import chat, like, member, social_follow, social_share

__all__ = ["BUILDER_METHODS", "CHAT_LINES", "GIFTS", "MIX", "random_traffic"]


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
        adjective, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
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


BUILDER_METHODS: dict[str, str] = {
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
"""Each message builder of the factory and the webcast method of what it builds."""
