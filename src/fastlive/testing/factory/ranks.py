"""Builders of the room's counts and contests: viewer counts with the top viewers, rank updates,
hourly rank rewards, polls and goals."""

from __future__ import annotations

from collections.abc import Sequence

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    ADJECTIVES,
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    DEFAULT_USER_ID,
    NOUNS,
    common_data,
    make_user,
)

__all__ = [
    "goal_update",
    "hourly_rank_reward",
    "poll",
    "rank_update",
    "ranked_users",
    "room_user_seq",
]


def ranked_users(n: int, seed: int = 0) -> list[pb.User]:
    """``n`` distinct lighter users (two avatars, no badge) for rankings."""
    out = []
    for i in range(n):
        adjective, noun = ADJECTIVES[(i + seed) % 10], NOUNS[(i * 3 + seed) % 10]
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
        ranks = list(zip(ranked_users(3), (4_200, 1_337, 512), strict=True))
    msg = pb.WebcastRoomUserSeqMessage(
        common=common_data("WebcastRoomUserSeqMessage", msg_id, room_id, create_time),
        total=total,
        total_user=total_user,
        popularity=popularity,
        anonymous=anonymous,
    )
    for rank, (user, score) in enumerate(ranks, 1):
        msg.ranks.add(user=user, score=score, rank=rank)
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
        common=common_data("WebcastRankUpdateMessage", msg_id, room_id, create_time),
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
        common=common_data("WebcastHourlyRankRewardMessage", msg_id, room_id, create_time)
    )
    for user_id in winner_ids:
        msg.winners.add(user_id=user_id, asset_id=7_000 + len(msg.winners))
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
        common=common_data("WebcastPollMessage", msg_id, room_id, create_time),
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
        common=common_data("WebcastGoalUpdateMessage", msg_id, room_id, create_time),
        goal=goal,
        contributor_id=contributor_id,
        contributor_id_str=str(contributor_id),
        contributor_display_id=contributor_unique_id,
        contribute_count=contribute_count,
        contribute_score=contribute_score,
    )
    return msg.SerializeToString()
