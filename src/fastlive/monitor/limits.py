"""``SignLimiter``: one sign-server budget shared by every room of a process.

A sign server allows so many ``/webcast/fetch`` calls per minute per key and
answers 429 past that, with ``Retry-After`` and a reset time.  Many rooms that
connect (or reconnect after a network blip) at once would all hit that wall
together.  The limiter spreads them out instead:

- a token bucket (GCRA): ``rate`` fetches per second on average, at most
  ``burst`` back to back; each ``acquire()`` reserves the next free slot, so
  waiters go in turn (first come, first served) and never all at once;
- a 429 closes the gate for everyone until ``max(retry_after, reset_time - now)``,
  then waiters pass again at ``rate``, without a burst: the limit just bit;
- each wait gets a small random extra (``jitter`` of one interval), so several
  processes with the same limit do not fire on the same tick;
- the limits the server advertises on every answer (``RateLimit-Limit``,
  ``-Remaining``, ``-Reset`` and the ``X-RateLimit-*`` forms) are adopted
  (:meth:`SignLimiter.advertised`): the fetches left are spread over the time
  to the reset, and none left closes the gate until then.  A rate set for a
  known plan (``--sign-rate``, ``FASTLIVE_SIGN_RATE``) is kept as it is; only
  "none left" still closes the gate.

The client awaits ``acquire()`` before every sign-server fetch and calls
``rate_limited()`` on every 429; the Monitor hands one limiter to all its
clients.  Two limiters share nothing.

    limiter = SignLimiter(rate=10 / 60, burst=3)   # 10 per minute, 3 at once
    await limiter.acquire()
    ...
    limiter.rate_limited(retry_after=12.0, reset_time=None)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import msgspec

from fastlive._config import (
    DEFAULT_SIGN_BURST,
    DEFAULT_SIGN_JITTER,
    DEFAULT_SIGN_MAX_BLOCK,
    DEFAULT_SIGN_RATE,
    Settings,
)

__all__ = [
    "DEFAULT_SIGN_BURST",
    "DEFAULT_SIGN_RATE",
    "LimiterStats",
    "SignLimiter",
]


class LimiterStats(msgspec.Struct, kw_only=True):
    """What a limiter did: grants, 429s seen, seconds spent waiting (summed over waiters)."""

    acquired: int = 0
    rate_limited: int = 0
    waited: float = 0.0
    waiting: int = 0
    """Callers waiting right now."""
    advertised: int = 0
    """Answers whose rate-limit headers were adopted."""


class SignLimiter:
    """A token bucket for sign-server fetches that honours 429 reset times.

    Args:
        rate: fetches per second on average; ``None`` (or 0) for no rate, only 429s.
        burst: fetches allowed back to back.
        jitter: random extra wait as a fraction of one interval (0 for none).
        clock: monotonic seconds (injectable for tests).
        wallclock: Unix seconds, to read ``reset_time`` (injectable for tests).
        rng: a ``random.Random`` for the jitter.
        sleep: ``await sleep(seconds)``, on the same time line as ``clock`` (injectable
            for tests: a virtual clock and its sleep make waits exact and instant).
        adopt: follow the rate the server advertises (False: keep ``rate``, a known plan).
    """

    def __init__(
        self,
        rate: float | None = DEFAULT_SIGN_RATE,
        burst: int = DEFAULT_SIGN_BURST,
        *,
        jitter: float = DEFAULT_SIGN_JITTER,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        adopt: bool = True,
    ) -> None:
        if rate is not None and rate < 0:
            raise ValueError("rate must be positive (or None for no rate limit)")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if jitter < 0:
            raise ValueError("jitter must not be negative")
        self.rate = rate or None
        self.burst = burst
        self.jitter = jitter
        self.adopt = adopt
        self._clock = clock
        self._wallclock = wallclock
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._interval = 1.0 / self.rate if self.rate else 0.0
        self._tat = clock()  # theoretical arrival time of the next grant (GCRA)
        self._blocked_until = 0.0
        self._window_end: float | None = None
        self._window_left = 0
        self._changed = asyncio.Event()  # set (and replaced) by every 429
        self.stats = LimiterStats()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: object) -> SignLimiter:
        """The limiter ``settings.sign_rate`` asks for: per minute for a known plan (kept,
        not replaced by advertised rates), 0 unpaced, None the default that adopts what the
        server advertises."""
        per_minute = settings.sign_rate
        if per_minute is None:
            return cls(**kwargs)  # type: ignore[arg-type]
        if per_minute < 0:
            raise ValueError("--sign-rate / FASTLIVE_SIGN_RATE must be 0 (unpaced) or more")
        return cls(per_minute / 60.0 or None, adopt=False, **kwargs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"SignLimiter(rate={self.rate!r}, burst={self.burst}, "
            f"blocked_for={self.blocked_for:.1f}, waiting={self.stats.waiting})"
        )

    @property
    def blocked_for(self) -> float:
        """Seconds until a 429's block lifts (0 when open)."""
        return max(0.0, self._blocked_until - self._clock())

    def reserve(self) -> float:
        """Take the next free slot; return how many seconds to wait for it (no sleeping).

        ``acquire()`` is this plus the sleep; tests and custom schedulers can use it alone.
        """
        now = self._clock()
        tolerance = (self.burst - 1) * self._interval
        at = max(now, self._tat - tolerance, self._blocked_until)
        if self._window_end is not None:  # what the server advertised
            if at >= self._window_end:
                self._window_end = None  # that window is over; the next answer tells
            elif self._window_left <= 0:
                at, self._window_end = self._window_end, None  # none left: wait for the reset
            else:
                self._window_left -= 1
        self._tat = max(self._tat, at) + self._interval
        delay = at - now
        if delay > 0 and self.jitter and self._interval:
            delay += self._rng.uniform(0.0, self.jitter * self._interval)
        return delay

    async def acquire(self) -> None:
        """Wait for a slot.  A 429 during the wait re-queues the caller behind the block."""
        self.stats.waiting += 1
        started = self._clock()
        try:
            while True:
                changed = self._changed
                delay = self.reserve()
                if delay <= 0:
                    break
                if not await self._wait(changed, delay):
                    break  # the slot came without a 429 in between
                # a 429 arrived while waiting: the old slot is void, take a new one
        finally:
            self.stats.waiting -= 1
        self.stats.acquired += 1
        self.stats.waited += self._clock() - started

    async def _wait(self, changed: asyncio.Event, delay: float) -> bool:
        """Sleep ``delay`` seconds or until a 429 sets ``changed``; True if one did."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waiter = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()
        return changed.is_set()

    def rate_limited(self, retry_after: float, reset_time: float | None = None) -> None:
        """The sign server answered 429: close the gate until it resets.

        Args:
            retry_after: seconds the server asked to wait.
            reset_time: when the limit resets, in Unix seconds, if the server said.
        """
        wait = max(0.0, float(retry_after or 0.0))
        if reset_time is not None:
            wait = max(wait, float(reset_time) - self._wallclock())
        wait = min(wait, DEFAULT_SIGN_MAX_BLOCK)
        now = self._clock()
        self.stats.rate_limited += 1
        self._blocked_until = max(self._blocked_until, now + wait)
        # After the block, go at the rate from its end: no burst into a limit that just bit.
        self._tat = self._blocked_until + (self.burst - 1) * self._interval
        self._reopen()

    def advertised(self, limit: int | None, remaining: int | None, reset: float | None) -> None:
        """Adopt the limits the server advertised on an answer (``reset``: seconds from now).

        None left closes the gate until the reset (not counted as a 429); no more than
        ``remaining`` are granted before it.  Unless the rate is pinned (``adopt=False``),
        the fetches left are spread evenly over the time to the reset.
        """
        if remaining is None or reset is None:
            return
        self.stats.advertised += 1
        now = self._clock()
        wait = min(max(0.0, reset), DEFAULT_SIGN_MAX_BLOCK)
        self._window_end, self._window_left = now + wait, remaining
        if remaining <= 0:
            if now + wait > self._blocked_until:
                self._blocked_until = now + wait
                self._tat = self._blocked_until + (self.burst - 1) * self._interval
                self._reopen()
            return
        if not self.adopt or wait <= 0:
            return
        # Slots already reserved stand (waking every waiter on every answer would re-queue
        # them all); new ones go at the advertised pace.
        self.rate = remaining / wait
        self._interval = 1.0 / self.rate

    def _reopen(self) -> None:
        """Wake the waiters: their slots are void, each takes a new one."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
