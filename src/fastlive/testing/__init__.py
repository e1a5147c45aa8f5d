"""Test helpers for fastlive and for its users: a fake TikTok and message builders.

``FakeTikTok`` serves TikTok's web API, a sign server and the push websocket on
loopback; the builders make realistic webcast messages with made-up users.
See :mod:`fastlive.testing.server` for an example.

Names load on first use (PEP 562): the builders need only the protobuf classes, so
``from fastlive.testing import chat`` loads neither websockets nor the fake.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the module that defines it.
_EXPORTS: dict[str, str] = {
    "CHAT_LINES": "fastlive.testing.factory",
    "DEFAULT_ROOM_ID": "fastlive.testing.factory",
    "DEFAULT_TIME_MS": "fastlive.testing.factory",
    "DEFAULT_USER_ID": "fastlive.testing.factory",
    "GIFTS": "fastlive.testing.factory",
    "MIX": "fastlive.testing.factory",
    "barrage": "fastlive.testing.factory",
    "caption": "fastlive.testing.factory",
    "chat": "fastlive.testing.factory",
    "control": "fastlive.testing.factory",
    "emote_chat": "fastlive.testing.factory",
    "envelope": "fastlive.testing.factory",
    "fetch_result": "fastlive.testing.factory",
    "generic": "fastlive.testing.factory",
    "gift": "fastlive.testing.factory",
    "goal_update": "fastlive.testing.factory",
    "hourly_rank_reward": "fastlive.testing.factory",
    "im_delete": "fastlive.testing.factory",
    "in_room_banner": "fastlive.testing.factory",
    "like": "fastlive.testing.factory",
    "link_mic_armies": "fastlive.testing.factory",
    "link_mic_battle": "fastlive.testing.factory",
    "live_intro": "fastlive.testing.factory",
    "make_user": "fastlive.testing.factory",
    "member": "fastlive.testing.factory",
    "poll": "fastlive.testing.factory",
    "push_frame": "fastlive.testing.factory",
    "question": "fastlive.testing.factory",
    "random_traffic": "fastlive.testing.factory",
    "rank_update": "fastlive.testing.factory",
    "room_pin": "fastlive.testing.factory",
    "room_user_seq": "fastlive.testing.factory",
    "social_follow": "fastlive.testing.factory",
    "social_share": "fastlive.testing.factory",
    "sub_notify": "fastlive.testing.factory",
    "ClientFrame": "fastlive.testing.server",
    "FakeRoom": "fastlive.testing.server",
    "FakeTikTok": "fastlive.testing.server",
    "RecordedRequest": "fastlive.testing.server",
    "SignPlan": "fastlive.testing.server",
    "Waf": "fastlive.testing.server",
    "WafHit": "fastlive.testing.server",
    "WafRules": "fastlive.testing.server",
    "WsConnection": "fastlive.testing.server",
}

__all__ = [
    "CHAT_LINES",
    "DEFAULT_ROOM_ID",
    "DEFAULT_TIME_MS",
    "DEFAULT_USER_ID",
    "GIFTS",
    "MIX",
    "ClientFrame",
    "FakeRoom",
    "FakeTikTok",
    "RecordedRequest",
    "SignPlan",
    "Waf",
    "WafHit",
    "WafRules",
    "WsConnection",
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


_SUBMODULES = frozenset({"factory", "flv", "server"})
"""Reachable as attributes too (``fastlive.testing.factory.chat``), as when they loaded eagerly."""


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` on first access, then cache the name."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'fastlive.testing' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBMODULES})


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from fastlive.testing.factory import (
        CHAT_LINES,
        DEFAULT_ROOM_ID,
        DEFAULT_TIME_MS,
        DEFAULT_USER_ID,
        GIFTS,
        MIX,
        barrage,
        caption,
        chat,
        control,
        emote_chat,
        envelope,
        fetch_result,
        generic,
        gift,
        goal_update,
        hourly_rank_reward,
        im_delete,
        in_room_banner,
        like,
        link_mic_armies,
        link_mic_battle,
        live_intro,
        make_user,
        member,
        poll,
        push_frame,
        question,
        random_traffic,
        rank_update,
        room_pin,
        room_user_seq,
        social_follow,
        social_share,
        sub_notify,
    )
    from fastlive.testing.server import (
        ClientFrame,
        FakeRoom,
        FakeTikTok,
        RecordedRequest,
        SignPlan,
        Waf,
        WafHit,
        WafRules,
        WsConnection,
    )
