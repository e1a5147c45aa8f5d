"""``WebBudget``: one egress's request budget for TikTok's web side, and its WAF cool-down.

TikTok's WAF blocks an address that asks its web side too often (about 30
requests a minute, see ``_config``), for minutes, and every request during a
block prolongs it.  Every web request of :mod:`fastlive.web` from one egress
(the direct connection, or one proxy) draws from one budget: pages,
``api-live``, the webcast room and gift APIs.  Websockets and video are not
counted.

- a token bucket: ``rate`` requests per minute sustained, ``burst`` back to back;
- waiters are queued, never failed, and served by :class:`Priority`, then in
  arrival order: a room that was streaming reconnects before new rooms connect,
  which go before batched live checks, which go before room info and gifts;
- :meth:`WebBudget.blocked` (a WAF answer) closes the whole egress for a
  cool-down (jittered, doubling while blocks repeat, reset by a success); the
  bucket restarts empty after it, so no burst greets a WAF that just bit.

    budget = WebBudget(rate=20, burst=10)
    await budget.acquire(Priority.CONNECT, "room_id")
    ...   # the request; on a WAF answer:
    budget.blocked()
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from enum import IntEnum

import httpx
import msgspec

from fastlive._config import (
    DEFAULT_WAF_COOLDOWN,
    DEFAULT_WAF_JITTER,
    DEFAULT_WAF_MAX_COOLDOWN,
    DEFAULT_WEB_BURST,
    DEFAULT_WEB_RATE,
    Settings,
)
from fastlive.web._http import is_block, send, waf_error

__all__ = ["BudgetStats", "Priority", "WebBudget", "send_within"]

logger = logging.getLogger("fastlive.web.budget")


class Priority(IntEnum):
    """Who goes first when requests wait for the budget (lower first)."""

    RECONNECT = 0
    """A room that was streaming reconnects: what it sends in the gap is lost."""
    CONNECT = 1
    """A room that is live connects (room id, ttwid)."""
    LIVE_CHECK = 2
    """Batched live checks of waiting rooms."""
    INFO = 3
    """Room info and gift lists: nice to have."""


class BudgetStats(msgspec.Struct, kw_only=True):
    """What a budget let out: requests per kind, WAF blocks, waiting."""

    requests: dict[str, int] = {}
    """Requests granted, by kind (``room_id``, ``live_check``, ``ttwid``, ``room_info``...)."""
    blocks: int = 0
    """WAF blocks (each closed the egress for a cool-down)."""
    blocked_answers: int = 0
    """Blocked answers seen (several in-flight requests may see one block)."""
    waiting: int = 0
    """Callers waiting right now."""
    waited: float = 0.0
    """Seconds spent waiting, summed over callers."""
    blocked_for: float = 0.0
    """Seconds until the current block lifts (0: open); updated by ``WebBudget.stats``."""

    @property
    def total(self) -> int:
        """Requests granted, all kinds."""
        return sum(self.requests.values())


class WebBudget:
    """A priority-ordered token bucket for one egress, closed for a while by WAF blocks.

    Args:
        rate: requests per minute sustained; ``None`` or 0 for no rate (blocks still apply).
        burst: requests an idle budget lets out back to back.
        cooldown: seconds of the first block; doubles while blocks repeat.
        max_cooldown: the doubling stops here.
        jitter: each cool-down is lengthened by a random fraction in ``[0, jitter]``.
        name: the egress, for logs and the status line (``direct``, a proxy host).
        clock: monotonic seconds; sleep: ``await sleep(s)`` on the same time line
            (inject both for tests: a virtual clock makes waits exact and instant).
        rng: the random source of the jitter.
    """

    def __init__(
        self,
        rate: float | None = DEFAULT_WEB_RATE,
        burst: int = DEFAULT_WEB_BURST,
        *,
        cooldown: float = DEFAULT_WAF_COOLDOWN,
        max_cooldown: float = DEFAULT_WAF_MAX_COOLDOWN,
        jitter: float = DEFAULT_WAF_JITTER,
        name: str = "direct",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if rate is not None and rate < 0:
            raise ValueError("the web rate must not be negative (0 or None: unlimited)")
        if burst < 1:
            raise ValueError("the web burst must be at least 1")
        if cooldown < 0 or jitter < 0:
            raise ValueError("the WAF cool-down and its jitter must not be negative")
        self.rate = rate or None
        self.burst = burst
        self.cooldown = cooldown
        self.max_cooldown = max(cooldown, max_cooldown)
        self.jitter = jitter
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._per_second = self.rate / 60.0 if self.rate else 0.0
        self._tokens = float(burst)
        self._stamp = clock()
        self._blocked_until = 0.0
        self._next_cooldown = cooldown
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()
        self._stats = BudgetStats()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: object) -> WebBudget:
        """The budget ``settings`` describe (``web_rate``, ``web_burst``, ``waf_cooldown``)."""
        return cls(
            settings.web_rate,
            settings.web_burst,
            cooldown=settings.waf_cooldown,
            **kwargs,  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return (
            f"WebBudget(name={self.name!r}, rate={self.rate!r}/min, burst={self.burst}, "
            f"blocked_for={self.blocked_for:.1f}, waiting={self._stats.waiting})"
        )

    @property
    def stats(self) -> BudgetStats:
        """Counters, with ``blocked_for`` brought up to date."""
        self._stats.blocked_for = self.blocked_for
        return self._stats

    @property
    def blocked_for(self) -> float:
        """Seconds until the WAF cool-down ends (0 when the egress is open)."""
        return max(0.0, self._blocked_until - self._clock())

    @property
    def is_blocked(self) -> bool:
        """True during a WAF cool-down: no request leaves this egress."""
        return self.blocked_for > 0

    async def acquire(self, priority: Priority = Priority.INFO, kind: str = "other") -> None:
        """Wait for this egress's next request slot; ``kind`` is counted in the stats.

        Never fails: a waiter stays queued (by ``priority``) through blocks.
        """
        stats = self._stats
        started = self._clock()
        if not self._queue and self._delay() <= 0:
            self._take()
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (int(priority), next(self._seq), future)
            heapq.heappush(self._queue, entry)
            stats.waiting += 1
            self._signal()
            try:
                await self._serve(future)
            finally:
                stats.waiting -= 1
                if not future.done():  # cancelled: leave the queue
                    future.cancel()
                    self._queue.remove(entry)
                    heapq.heapify(self._queue)
                    self._signal()
        stats.requests[kind] = stats.requests.get(kind, 0) + 1
        stats.waited += self._clock() - started

    def blocked(self, retry_after: float | None = None) -> float:
        """A WAF answer: close the egress for the cool-down; return its length in seconds.

        A block seen while the egress is already closed (requests that were in
        flight) does not lengthen it; one after the cool-down doubles the next.
        """
        self._stats.blocked_answers += 1
        now = self._clock()
        if now < self._blocked_until:
            return self._blocked_until - now
        base = max(self._next_cooldown, float(retry_after or 0.0))
        wait = base * (1.0 + self._rng.uniform(0.0, self.jitter))
        self._next_cooldown = min(self.max_cooldown, base * 2)
        self._blocked_until = now + wait
        self._tokens, self._stamp = 0.0, self._blocked_until  # no burst after the block
        self._stats.blocks += 1
        logger.warning(
            "egress %s: TikTok's WAF blocked it; no web request for %.0f s", self.name, wait
        )
        self._signal()
        return wait

    def succeeded(self) -> None:
        """An answer that was not a block: the next block's cool-down starts over."""
        if not self.is_blocked:
            self._next_cooldown = self.cooldown

    # -- internals ------------------------------------------------------------------

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            if self._per_second:
                self._tokens = min(
                    float(self.burst), self._tokens + (now - self._stamp) * self._per_second
                )
            self._stamp = now

    def _delay(self) -> float:
        """Seconds until one request may leave (0: now)."""
        now = self._clock()
        if now < self._blocked_until:
            return self._blocked_until - now
        if not self._per_second:
            return 0.0
        self._refill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self._per_second

    def _take(self) -> None:
        if self._per_second:
            self._refill(self._clock())
            self._tokens -= 1.0

    async def _serve(self, future: asyncio.Future[None]) -> None:
        """Wait until ``future`` heads the queue and a slot is free, then take it."""
        while True:
            changed = self._changed
            head = self._queue[0][2] if self._queue else None
            if head is future:
                delay = self._delay()
                if delay <= 0:
                    heapq.heappop(self._queue)
                    self._take()
                    future.set_result(None)
                    self._signal()  # the next waiter is head now
                    return
                await self._wait(changed, delay)
            else:
                await changed.wait()

    async def _wait(self, changed: asyncio.Event, delay: float) -> None:
        """Sleep ``delay`` seconds, or until the queue or the block changes."""
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waiter = asyncio.ensure_future(changed.wait())
        try:
            await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waiter.cancel()

    def _signal(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()


async def send_within(
    budget: WebBudget | None,
    priority: Priority,
    kind: str,
    http: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One TikTok web GET drawn from ``budget`` (None: at once); a WAF answer closes it.

    The answer is returned whatever it is: the caller turns it into a result or
    an error (a block into ``WafBlockedError``, see :func:`fastlive.web._http.waf_error`).
    """
    if budget is not None:
        await budget.acquire(priority, kind)
    response = await send(http, url, params=params, headers=headers)
    if budget is not None:
        if is_block(response.status_code, response.content):
            budget.blocked(waf_error(response, url).retry_after)
        else:
            budget.succeeded()
    return response
