"""``SignLimiter``: the token bucket, 429 blocks with reset times, and waiters spread out."""

from __future__ import annotations

import asyncio
import heapq
import itertools
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


class VirtualTime:
    """A clock and its ``sleep``: time moves only when every task waits on a sleep.

    ``run(coro)`` runs ``coro`` and, each time the loop has nothing else to do, jumps
    the clock to the earliest pending wake-up.  Waits are exact and take no real time.
    """

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(delay, 0.0), next(self._seq), future))
        await future

    async def run(self, coro):
        task = asyncio.ensure_future(coro)
        while not task.done():
            for _ in range(20):  # let every runnable task run to its next wait
                await asyncio.sleep(0)
            while self._timers and self._timers[0][2].cancelled():
                heapq.heappop(self._timers)
            if self._timers and not task.done():
                when, _, future = heapq.heappop(self._timers)
                self.now = max(self.now, when)
                future.set_result(None)
        return task.result()


async def test_acquire_paces_waiters_in_order_on_a_virtual_clock():
    clock = VirtualTime()
    limiter = SignLimiter(rate=50.0, burst=2, jitter=0, clock=clock, sleep=clock.sleep)
    granted: list[tuple[int, float]] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        granted.append((i, clock.now))

    await clock.run(asyncio.gather(*(one(i) for i in range(6))))
    assert [i for i, _ in granted] == list(range(6))  # first come, first served
    times = [round(t - 100.0, 6) for _, t in granted]
    assert times == [0.0, 0.0, 0.02, 0.04, 0.06, 0.08]  # 2 at once, then 4 more at 50/s
    assert limiter.stats.acquired == 6 and limiter.stats.waiting == 0
    assert limiter.stats.waited == pytest.approx(0.02 + 0.04 + 0.06 + 0.08)


async def test_a_429_while_waiting_requeues_behind_the_block():
    clock = VirtualTime()
    limiter = SignLimiter(rate=20.0, burst=1, jitter=0, clock=clock, sleep=clock.sleep)

    async def scenario() -> float:
        await limiter.acquire()  # at once; the next slot is 0.05 s later
        waiter = asyncio.ensure_future(limiter.acquire())
        await clock.sleep(0.01)
        assert not waiter.done() and limiter.stats.waiting == 1
        limiter.rate_limited(retry_after=0.3, reset_time=None)  # the old slot is void
        await waiter
        return clock.now

    granted = await clock.run(scenario())
    assert round(granted - 100.0, 6) == 0.31  # the block's end, not the old slot (0.05)
    assert limiter.stats.rate_limited == 1 and limiter.stats.waiting == 0


async def test_acquire_waits_on_the_real_clock_by_default():
    limiter = SignLimiter(rate=100.0, burst=1, jitter=0)
    start = time.monotonic()
    for _ in range(3):
        await limiter.acquire()
    assert time.monotonic() - start >= 0.02 - 1e-3  # two intervals of 10 ms (no upper bound)
