"""TikTok's web application firewall as the fake plays it: a per-address budget over the
web routes, the SlardarWAF block page, and a block that lasts and extends on every hit.

Reports (issue 11) say TikTok blocks an address that asks its web side about 30
times a minute, for 5 minutes or more, and that requests during a block prolong
it.  ``FakeTikTok(waf=WafRules(...))`` does the same, so a client can be tested
against it.  The clock is injectable: a test advances time instead of waiting.

    clock = FakeClock()
    async with FakeTikTok(waf=WafRules(rate_per_minute=30, burst=10, clock=clock)) as fake:
        ...
        assert fake.waf.blocks == 0
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastlive.testing.server.responses import response

if TYPE_CHECKING:
    from websockets.http11 import Response

__all__ = ["WAF_PAGE", "Waf", "WafHit", "WafRules", "is_web_route"]

WAF_PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Access Denied</title>"
    b'<script id="slardar-config" type="application/json">'
    b'{"bid":"tiktok_waf","slardarClient":"SlardarWAF","env":"production"}</script>'
    b"</head><body><h1>Your IP is blocked by TikTok WAF</h1>"
    b"<p>Please try again later.</p></body></html>"
)
"""The block page: HTML whose head holds the SlardarWAF ``slardar-config`` script."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class WafRules:
    """How the fake's WAF behaves (per client address).

    Attributes:
        rate_per_minute: web requests per minute an address may make, sustained.
        burst: requests an idle address may make back to back.
        block_seconds: how long a block lasts from its last hit.
        extend_on_hit: every request during a block restarts it (as TikTok's do).
        status: the block page's HTTP status (TikTok sends 200 or 403).
        clock: monotonic seconds; inject one to advance time in tests.
    """

    rate_per_minute: float = 30.0
    burst: int = 10
    block_seconds: float = 300.0
    extend_on_hit: bool = True
    status: int = 200
    clock: Callable[[], float] = time.monotonic


@dataclasses.dataclass(frozen=True)
class WafHit:
    """One web request the WAF saw: when, from where, for what, and whether it was blocked."""

    at: float
    address: str
    path: str
    blocked: bool


@dataclasses.dataclass
class _Address:
    tokens: float
    stamp: float
    blocked_until: float = 0.0


class Waf:
    """The fake's WAF state: one token bucket and one block per client address.

    Attributes:
        rules: the :class:`WafRules`.
        hits: every web request seen, in order (:class:`WafHit`).
        blocks: blocks started (a hit during a block extends it, it is not a new one).
    """

    def __init__(self, rules: WafRules) -> None:
        self.rules = rules
        self.hits: list[WafHit] = []
        self.blocks = 0
        self._addresses: dict[str, _Address] = {}

    def blocked_until(self, address: str) -> float:
        """When ``address``'s block ends on the WAF's clock (0: never blocked)."""
        state = self._addresses.get(address)
        return state.blocked_until if state is not None else 0.0

    def blocked_hits(self, since: float | None = None) -> list[WafHit]:
        """Requests answered with the block page (those at or after ``since``)."""
        return [h for h in self.hits if h.blocked and (since is None or h.at >= since)]

    def check(self, address: str, path: str) -> Response | None:
        """The block page if ``address`` is (or now becomes) blocked; None to serve it."""
        rules = self.rules
        now = rules.clock()
        state = self._addresses.get(address)
        if state is None:
            state = self._addresses[address] = _Address(tokens=float(rules.burst), stamp=now)
        blocked = False
        if now < state.blocked_until:
            blocked = True
            if rules.extend_on_hit:
                state.blocked_until = now + rules.block_seconds
        else:
            if now > state.stamp:
                refill = (now - state.stamp) * rules.rate_per_minute / 60.0
                state.tokens = min(float(rules.burst), state.tokens + refill)
                state.stamp = now
            if state.tokens >= 1.0:
                state.tokens -= 1.0
            else:
                blocked = True
                self.blocks += 1
                state.blocked_until = now + rules.block_seconds
                state.tokens = 0.0
        self.hits.append(WafHit(now, address, path, blocked))
        if not blocked:
            return None
        return response(rules.status, WAF_PAGE, "text/html; charset=utf-8")


def is_web_route(path: str) -> bool:
    """A route the WAF guards: pages, ``api-live``, webcast room and gift APIs (not the sign
    server's ``/webcast/fetch``, not websockets, not video)."""
    if path.startswith("/@") or path == "/":
        return True
    route = path.rstrip("/")
    return route.startswith("/api-live/") or route in (
        "/webcast/room/check_alive",
        "/webcast/room/info",
        "/webcast/gift/list",
    )
