"""Builders of link-mic battles between hosts: the battle itself and its army score updates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fastlive.proto import webcast_pb2 as pb
from fastlive.testing.factory.common import (
    DEFAULT_MSG_ID,
    DEFAULT_ROOM_ID,
    DEFAULT_TIME_MS,
    DEFAULT_USER_ID,
    common_data,
    image,
)

__all__ = ["link_mic_armies", "link_mic_battle"]


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
        common=common_data("WebcastLinkMicBattle", msg_id, room_id, create_time),
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
                    avatar_thumb=image(f"avatar/{user_id}", 100, 1),
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
        common=common_data("WebcastLinkMicArmies", msg_id, room_id, create_time),
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
