"""``WebBudget``: the token bucket, priority order, queued waiters, and the WAF cool-down."""

from __future__ import annotations

import asyncio
import random

import pytest

from fastlive._config import DEFAULT_WAF_COOLDOWN, DEFAULT_WEB_BURST, DEFAULT_WEB_RATE, Settings
from fastlive.web.budget import Priority, WebBudget


class VirtualTime:
    """A clock and its sleep: a sleep moves the clock on at once (waits are exact, instant)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)
        self.slept.append(seconds)
        self.now += seconds


def budget(vt: VirtualTime, **kwargs) -> WebBudget:
    kwargs.setdefault("jitter", 0.0)
    return WebBudget(clock=vt, sleep=vt.sleep, rng=random.Random(1), **kwargs)


def test_defaults_are_conservative():
    assert DEFAULT_WEB_RATE < 30 and DEFAULT_WEB_BURST <= 10 and DEFAULT_WAF_COOLDOWN == 300
    b = WebBudget.from_settings(Settings())
    assert (b.rate, b.burst, b.cooldown) == (DEFAULT_WEB_RATE, DEFAULT_WEB_BURST, 300.0)
    assert WebBudget.from_settings(Settings(web_rate=0)).rate is None
    with pytest.raises(ValueError):
        WebBudget(rate=-1)
    with pytest.raises(ValueError):
        WebBudget(burst=0)


async def test_burst_then_the_sustained_rate():
    vt = VirtualTime()
    b = budget(vt, rate=30, burst=10)
    start = vt.now
    times = []
    for _ in range(15):
        await b.acquire(Priority.CONNECT, "room_id")
        times.append(vt.now - start)
    assert times[:10] == [0.0] * 10  # the burst
    assert [round(t, 6) for t in times[10:]] == [2.0, 4.0, 6.0, 8.0, 10.0]  # then 30/min
    assert b.stats.requests == {"room_id": 15} and b.stats.total == 15


async def test_waiters_are_served_by_priority_then_in_order():
    vt = VirtualTime()
    b = budget(vt, rate=60, burst=1)
    await b.acquire()  # the bucket is empty now
    order: list[str] = []

    async def ask(name: str, priority: Priority) -> None:
        await b.acquire(priority, name)
        order.append(name)

    tasks = [
        asyncio.create_task(ask("info", Priority.INFO)),
        asyncio.create_task(ask("check1", Priority.LIVE_CHECK)),
        asyncio.create_task(ask("connect1", Priority.CONNECT)),
        asyncio.create_task(ask("check2", Priority.LIVE_CHECK)),
        asyncio.create_task(ask("reconnect", Priority.RECONNECT)),
        asyncio.create_task(ask("connect2", Priority.CONNECT)),
    ]
    await asyncio.gather(*tasks)
    assert order == ["reconnect", "connect1", "connect2", "check1", "check2", "info"]
    assert b.stats.waiting == 0 and b.stats.waited > 0


async def test_a_cancelled_waiter_leaves_the_queue():
    vt = VirtualTime()
    b = budget(vt, rate=60, burst=1)
    await b.acquire()
    first = asyncio.create_task(b.acquire(Priority.RECONNECT))
    second = asyncio.create_task(b.acquire(Priority.INFO))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.wait_for(second, 10)  # hang guard only
    assert b.stats.waiting == 0 and b.stats.requests == {"other": 2}


async def test_a_block_closes_the_egress_for_the_cooldown_then_no_burst():
    vt = VirtualTime()
    b = budget(vt, rate=60, burst=10, cooldown=300)
    await b.acquire()
    assert b.blocked() == 300.0
    assert b.is_blocked and b.stats.blocks == 1 and b.stats.blocked_for == 300.0
    assert b.blocked() == 300.0  # an in-flight request seeing the same block: not a new one
    assert b.stats.blocks == 1 and b.stats.blocked_answers == 2
    start = vt.now
    await b.acquire(Priority.RECONNECT)  # queued, never failed
    assert vt.now - start == pytest.approx(301.0)  # the block, then one interval: no burst
    assert not b.is_blocked


async def test_the_cooldown_doubles_while_blocks_repeat_and_resets_on_success():
    vt = VirtualTime()
    b = budget(vt, rate=None, cooldown=300, max_cooldown=1000)
    assert b.blocked() == 300
    vt.now += 300
    assert b.blocked() == 600  # blocked again at once after the cool-down
    vt.now += 600
    assert b.blocked() == 1000  # capped
    vt.now += 1000
    b.succeeded()
    assert b.blocked() == 300  # a success in between starts over
    vt.now += 300
    assert b.blocked(retry_after=900) == 900  # TikTok's Retry-After wins when longer


def test_the_cooldown_is_jittered():
    vt = VirtualTime()
    waits = set()
    for seed in range(5):
        b = WebBudget(clock=vt, cooldown=300, jitter=0.2, rng=random.Random(seed))
        wait = b.blocked()
        assert 300 <= wait <= 360
        waits.add(round(wait, 3))
    assert len(waits) > 1


async def test_unlimited_rate_still_honours_blocks():
    vt = VirtualTime()
    b = budget(vt, rate=0, cooldown=60)
    for _ in range(100):
        await b.acquire()
    assert vt.slept == []
    b.blocked()
    await b.acquire()
    assert sum(vt.slept) == pytest.approx(60.0)
