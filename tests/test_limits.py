"""``SignLimiter``: the token bucket, 429 blocks with reset times, and waiters spread out."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from fastlive.monitor.limits import SignLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate():
    clock = Clock()
    limiter = SignLimiter(rate=2.0, burst=3, jitter=0, clock=clock)
    assert [limiter.reserve() for _ in range(3)] == [0, 0, 0]  # the burst
    assert [round(limiter.reserve(), 6) for _ in range(3)] == [0.5, 1.0, 1.5]  # then 2 per s
    clock.now += 10  # idle: the bucket refills, up to the burst only
    assert [limiter.reserve() for _ in range(3)] == [0, 0, 0]
    assert round(limiter.reserve(), 6) == 0.5


def test_429_closes_the_gate_until_reset_then_no_burst():
    clock = Clock()
    limiter = SignLimiter(rate=10.0, burst=5, jitter=0, clock=clock, wallclock=lambda: 1_000.0)
    limiter.rate_limited(retry_after=1.0, reset_time=1_003.0)  # the reset time is later: wins
    assert limiter.blocked_for == pytest.approx(3.0)
    waits = [round(limiter.reserve(), 6) for _ in range(3)]
    assert waits == [3.0, 3.1, 3.2]  # after the block, one per interval: no burst
    assert limiter.stats.rate_limited == 1


def test_retry_after_wins_when_longer_and_blocks_are_capped():
    clock = Clock()
    limiter = SignLimiter(rate=None, jitter=0, clock=clock, wallclock=lambda: 0.0)
    limiter.rate_limited(retry_after=2.0, reset_time=None)
    assert limiter.reserve() == pytest.approx(2.0)
    limiter.rate_limited(retry_after=10**9, reset_time=None)
    assert limiter.blocked_for <= 3600.0


def test_no_rate_means_only_429s_limit():
    limiter = SignLimiter(rate=None, jitter=0, clock=Clock())
    assert all(limiter.reserve() == 0 for _ in range(1000))


def test_jitter_spreads_waiters():
    limiter = SignLimiter(rate=1.0, burst=1, jitter=0.5, clock=Clock(), rng=random.Random(1))
    limiter.reserve()
    waits = [limiter.reserve() for _ in range(4)]
    base = [1.0, 2.0, 3.0, 4.0]
    assert all(b <= w <= b + 0.5 for w, b in zip(waits, base))
    assert len({round(w - b, 6) for w, b in zip(waits, base)}) > 1


def test_bad_arguments():
    with pytest.raises(ValueError):
        SignLimiter(rate=-1)
    with pytest.raises(ValueError):
        SignLimiter(burst=0)


async def test_acquire_paces_real_waiters_in_order():
    limiter = SignLimiter(rate=50.0, burst=2, jitter=0)
    order: list[int] = []
    start = time.monotonic()

    async def one(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    await asyncio.gather(*(one(i) for i in range(6)))
    elapsed = time.monotonic() - start
    assert order == list(range(6))  # first come, first served
    assert 0.07 <= elapsed < 0.5  # 2 at once, then 4 more at 50/s
    assert limiter.stats.acquired == 6 and limiter.stats.waiting == 0


async def test_a_429_while_waiting_requeues_behind_the_block():
    limiter = SignLimiter(rate=20.0, burst=1, jitter=0)
    await limiter.acquire()
    start = time.monotonic()
    waiter = asyncio.ensure_future(limiter.acquire())  # due in 0.05 s
    await asyncio.sleep(0.01)
    limiter.rate_limited(retry_after=0.3, reset_time=None)
    await waiter
    assert time.monotonic() - start >= 0.3
