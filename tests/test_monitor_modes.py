"""The Monitor with 50 rooms split between the direct and the signed connection.

Half the rooms refuse every direct upgrade (DEVICE_BLOCKED), so ``auto`` must move
exactly those to the sign server; the other half stay direct. Every room's messages
arrive exactly once, whichever way its connection went.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from fastlive import CommentEvent, Monitor
from fastlive.cli.format import status_line
from fastlive.cli.stats import stats_table
from fastlive.monitor.limits import SignLimiter
from fastlive.testing import FakeTikTok, chat, make_user

BASE = 7_400_000_000_000_200_000
USER = make_user(7_300_000_000_000_000_002, "Bea B", "bea.b", fan_club_name="")


async def test_fifty_rooms_split_between_direct_and_signed():
    rooms = 50
    expected: set[int] = set()
    async with FakeTikTok() as fake:
        for i in range(rooms):
            room_id = BASE + i
            frames = []
            for k in range(3):
                msg_id = (room_id - BASE) * 100 + k + 1
                expected.add(msg_id)
                frames.append(
                    [
                        (
                            "WebcastChatMessage",
                            chat(f"r{i}m{k}", USER, msg_id=msg_id, room_id=room_id),
                            msg_id,
                        )
                    ]
                )
            fake.add_room(
                f"host{i}",
                room_id=room_id,
                frames=frames,
                interval=0.01,
                device_blocked=(i % 2 == 1),
            )
        settings = fake.settings(
            connect="auto",
            backoff_initial=0.02,
            backoff_max=0.1,
            device_blocked_delay=0.02,
            ttwid_retry_delay=0.01,
        )
        monitor = Monitor(
            [f"@host{i}" for i in range(rooms)],
            settings=settings,
            poll_interval=0.05,
            sign_limiter=SignLimiter(rate=500, burst=50),
        )
        got: Counter[int] = Counter()
        async with monitor:
            stream = monitor.events()

            async def consume() -> None:
                async for _room, event in stream:
                    if isinstance(event, CommentEvent):
                        got[event.msg_id] += 1
                        if set(got) >= expected:
                            return

            await asyncio.wait_for(consume(), 60)
            modes = {room.key: room.mode for room in monitor.rooms.values()}
            counts = monitor.modes()
            table = stats_table(monitor)
            status = status_line(monitor, 0.0, len(got))
            switches = sum(room.stats.mode_switches for room in monitor.rooms.values())
    assert set(got) == expected and max(got.values()) == 1  # each message exactly once
    blocked = {f"@host{i}" for i in range(1, rooms, 2)}
    assert {k for k, m in modes.items() if m == "signed"} == blocked
    assert {k for k, m in modes.items() if m == "direct"} == set(modes) - blocked
    assert switches >= len(blocked)
    assert counts == {"direct": rooms - len(blocked), "signed": len(blocked)}
    assert f"(direct {rooms - len(blocked)}, signed {len(blocked)})" in status
    assert sum(" signed " in line for line in table.splitlines()) == len(blocked)
