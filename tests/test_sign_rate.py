"""Signing at the plan's pace: the limiter adopts the ``RateLimit-*`` / ``X-RateLimit-*``
limits a sign server advertises, and ``--sign-rate`` / ``FASTLIVE_SIGN_RATE`` pin a known
plan.  Against ``fastlive.testing``'s sign server with a plan, on a virtual clock."""

from __future__ import annotations

import asyncio

import pytest

from fastlive._config import DEFAULT_SIGN_RATE, Settings
from fastlive.cli.common import settings as cli_settings
from fastlive.cli.watch import watch_args
from fastlive.client import TikTokLiveClient
from fastlive.monitor.limits import SignLimiter
from fastlive.testing import FakeTikTok
from fastlive.testing.server import SignPlan
from fastlive.web._http import AdvertisedLimits, advertised_limits
from virtual_time import VirtualTime

ROOM = 7_400_000_000_000_310_001


def plan_time(plan: SignPlan, limiter_box: list[SignLimiter]) -> VirtualTime:
    """A virtual clock that moves only once every fetch granted has been answered."""
    clock = VirtualTime(100.0)
    clock.settled = lambda: (
        not limiter_box or (plan.served + plan.refused >= limiter_box[0].stats.acquired)
    )
    return clock


def test_advertised_limits_are_read_in_both_forms():
    now = 1_700_000_000.0
    plain = {"RateLimit-Limit": "100", "RateLimit-Remaining": "7", "RateLimit-Reset": "30"}
    assert advertised_limits(plain, now) == AdvertisedLimits(100, 7, 30.0)
    x = {"X-RateLimit-Limit": "100;w=60", "X-RateLimit-Remaining": "0"}
    x["X-RateLimit-Reset"] = str(int(now) + 12)  # a Unix time
    assert advertised_limits(x, now) == AdvertisedLimits(100, 0, 12.0)
    assert advertised_limits({"Content-Type": "x"}, now) is None
    assert advertised_limits({"RateLimit-Remaining": "many"}, now) is None


def test_none_left_closes_the_gate_until_the_reset():
    clock = VirtualTime()
    limiter = SignLimiter(rate=10.0, burst=5, jitter=0, clock=clock)
    limiter.advertised(10, 0, 20.0)
    assert limiter.blocked_for == pytest.approx(20.0) and limiter.stats.rate_limited == 0
    assert limiter.reserve() == pytest.approx(20.0)


def test_what_is_left_is_spread_to_the_reset_and_never_exceeded():
    clock = VirtualTime()
    limiter = SignLimiter(rate=10.0, burst=5, jitter=0, clock=clock)
    limiter.advertised(10, 3, 30.0)
    assert limiter.rate == pytest.approx(0.1)  # 3 left over 30 s
    waits = [limiter.reserve() for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]  # the 3 left...
    assert waits[3] >= 30.0  # ...and the 4th waits for the reset


def test_a_known_plan_keeps_its_rate():
    pinned = SignLimiter.from_settings(Settings(sign_rate=120))
    assert pinned.rate == pytest.approx(2.0) and not pinned.adopt
    pinned.advertised(10, 5, 100.0)
    assert pinned.rate == pytest.approx(2.0)  # the plan's rate stays
    assert SignLimiter.from_settings(Settings(sign_rate=0)).rate is None  # unpaced
    default = SignLimiter.from_settings(Settings())
    assert default.rate == DEFAULT_SIGN_RATE and default.adopt
    with pytest.raises(ValueError):
        SignLimiter.from_settings(Settings(sign_rate=-1))


def test_the_rate_settings_come_from_the_environment_and_the_flags():
    env = {"FASTLIVE_SIGN_RATE": "30", "FASTLIVE_WEB_RATE": "12"}
    s = Settings.from_env(env)
    assert (s.sign_rate, s.web_rate) == (30.0, 12.0)
    with pytest.raises(ValueError, match="FASTLIVE_SIGN_RATE"):
        Settings.from_env({"FASTLIVE_SIGN_RATE": "fast"})
    args = watch_args(["@a", "--sign-rate", "0", "--web-rate", "15", "--web-burst", "4"])
    s = cli_settings(args)
    assert (s.sign_rate, s.web_rate, s.web_burst) == (0.0, 15.0, 4)
    for bad in (["--web-rate", "-3"], ["--web-burst", "0"], ["--sign-rate", "x"]):
        with pytest.raises(SystemExit):
            watch_args(["@a", *bad])


@pytest.mark.parametrize("x_headers", [False, True])
async def test_signed_rooms_follow_the_advertised_plan(x_headers):
    box: list[SignLimiter] = []
    plan = SignPlan(limit=5, window=60.0, x_headers=x_headers)
    plan.clock = clock = plan_time(plan, box)
    limiter = SignLimiter(burst=5, jitter=0, clock=clock, sleep=clock.sleep)
    box.append(limiter)
    rooms = 12
    async with FakeTikTok(sign_plan=plan) as fake:
        for i in range(rooms):
            fake.add_room(f"host{i}", room_id=ROOM + i)
        settings = fake.settings(connect="signed")
        clients = [
            TikTokLiveClient(f"@host{i}", settings=settings, sign_limiter=limiter)
            for i in range(rooms)
        ]
        start = clock.now
        try:
            await asyncio.wait_for(asyncio.gather(*(c.start() for c in clients)), 60)
            elapsed = clock.now - start
        finally:
            for client in clients:
                await client.disconnect()
    assert plan.served == rooms and plan.refused == 0  # not one 429
    assert limiter.stats.advertised >= rooms and limiter.stats.rate_limited == 0
    assert elapsed >= 120.0  # 12 fetches at 5 per minute: three windows


async def test_a_pinned_rate_paces_signed_rooms():
    box: list[SignLimiter] = []
    plan = SignPlan(limit=1000, window=60.0)
    plan.clock = clock = plan_time(plan, box)
    limiter = SignLimiter.from_settings(
        Settings(sign_rate=30), burst=1, jitter=0, clock=clock, sleep=clock.sleep
    )
    box.append(limiter)
    async with FakeTikTok(sign_plan=plan) as fake:
        for i in range(4):
            fake.add_room(f"host{i}", room_id=ROOM + i)
        settings = fake.settings(connect="signed")
        clients = [
            TikTokLiveClient(f"@host{i}", settings=settings, sign_limiter=limiter) for i in range(4)
        ]
        start = clock.now
        try:
            await asyncio.wait_for(asyncio.gather(*(c.start() for c in clients)), 60)
        finally:
            for client in clients:
                await client.disconnect()
    assert plan.served == 4 and limiter.rate == pytest.approx(0.5)  # 30/min, not the plan's
    assert clock.now - start == pytest.approx(6.0)  # 4 fetches 2 s apart
