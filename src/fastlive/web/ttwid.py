"""The anonymous ``ttwid`` cookie of a direct connection: minting and sharing (§2.8.2).

TikTok sets ``ttwid`` on some anonymous profile-page GETs and answers the rest
with a challenge page (200, no cookie, ``X-TT-System-Error: 3``).
:class:`TtwidMinter` asks until it gets one; :class:`TtwidPool` hands the
resulting ``(ttwid, user agent)`` sessions to rooms, several rooms per
session, and replaces a session when TikTok flags it.

The ``ttwid`` is a credential: it is kept verbatim for the websocket's
``Cookie`` header and never appears in a log, an error or a repr.

    async with TtwidMinter(settings) as minter:
        pool = TtwidPool(settings.ttwid_share_cap, minter)
        session = await pool.acquire(room_id, unique_id="someone")
        # session.ttwid, session.user_agent: the websocket presents both
        session = await pool.rotate(session, room_id)   # after DEVICE_BLOCKED
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import logging
import random
from collections.abc import Awaitable, Callable, Hashable, Sequence
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urljoin

import httpx

from fastlive._config import Settings
from fastlive.exceptions import TtwidMissingError, WafBlockedError
from fastlive.web._http import is_block, is_waf_page, safe_url
from fastlive.web.api import normalize_unique_id
from fastlive.web.budget import Priority, WebBudget

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "CHROME_USER_AGENTS",
    "DESKTOP_USER_AGENTS",
    "TtwidMinter",
    "TtwidPool",
    "TtwidSession",
    "parse_ttwid",
]

logger = logging.getLogger("fastlive.web.ttwid")

CHROME_USER_AGENTS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36"
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36"
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36"
    ),
)
"""Chrome user agents: what an impersonated (Chrome TLS) mint must claim to be."""
DESKTOP_USER_AGENTS = (
    *CHROME_USER_AGENTS,
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36 Edg/147.0.0.0"
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:150.0) Gecko/20100101 Firefox/150.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:150.0) Gecko/20100101 Firefox/150.0",
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/26.0 Safari/605.1.15"
    ),
)
"""Current desktop browsers; one is drawn per session unless a user agent is pinned."""
IMPERSONATE_TARGET = "chrome"
"""curl_cffi's name for its newest Chrome fingerprint."""
MAX_REDIRECTS = 5
FALLBACK_PROFILE = "tiktok"
"""The profile asked second in each round: it always exists."""


def parse_ttwid(set_cookie_headers: Sequence[str]) -> str | None:
    """The ``ttwid`` value from ``Set-Cookie`` headers, verbatim; None if absent or empty.

    The value stays URL-encoded as received (``1%7C…%7C…``): the websocket
    ``Cookie`` header must carry exactly it.
    """
    found = None
    for header in set_cookie_headers:
        pair = header.split(";", 1)[0]
        name, sep, value = pair.partition("=")
        if sep and name.strip() == "ttwid" and value.strip():
            found = value.strip()
    return found


Hop = tuple[int, list[str], str, bool]
"""One hop of a mint GET: status, ``Set-Cookie`` headers, ``X-TT-System-Error``, WAF page."""


class _Backend(Protocol):
    async def get(self, url: str, user_agent: str) -> list[Hop]: ...

    async def aclose(self) -> None: ...


class _HttpxBackend:
    """Plain httpx, with a cookie jar that accepts nothing: no cookie is ever sent."""

    def __init__(self, settings: Settings, proxy: str | None) -> None:
        self._client = httpx.AsyncClient(
            proxy=proxy,
            timeout=settings.http_timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            # a bare CookieJar is kept as the client's jar (httpx.Cookies would be copied)
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        )

    async def get(self, url: str, user_agent: str) -> list[Hop]:
        """Each hop of the GET: (status, Set-Cookie headers, X-TT-System-Error, WAF page)."""
        response = await self._client.get(url, headers={"User-Agent": user_agent})
        return [
            (
                hop.status_code,
                hop.headers.get_list("set-cookie"),
                hop.headers.get("x-tt-system-error", ""),
                is_waf_page(hop.content),
            )
            for hop in (*response.history, response)
        ]

    async def aclose(self) -> None:
        await self._client.aclose()


class _CurlBackend:
    """curl_cffi with Chrome's TLS and HTTP/2 fingerprint; redirects followed here,
    so that no cookie from one hop is sent on the next."""

    def __init__(self, curl: ModuleType, settings: Settings, proxy: str | None) -> None:
        self._curl = curl
        self._session = curl.AsyncSession(
            impersonate=IMPERSONATE_TARGET, timeout=settings.http_timeout, proxy=proxy
        )

    async def get(self, url: str, user_agent: str) -> list[Hop]:
        hops: list[Hop] = []
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._session.get(
                url,
                headers={"User-Agent": user_agent},
                allow_redirects=False,
                discard_cookies=True,
            )
            headers = response.headers
            hops.append(
                (
                    response.status_code,
                    list(headers.get_list("set-cookie") or []),
                    headers.get("x-tt-system-error") or "",
                    is_waf_page(response.content or b""),
                )
            )
            location = headers.get("location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                break
            url = urljoin(url, location)
        return hops

    async def aclose(self) -> None:
        await self._session.close()


def _load_curl() -> ModuleType | None:
    """``curl_cffi.requests`` when installed (``pip install fastlive[impersonate]``)."""
    try:
        return importlib.import_module("curl_cffi.requests")
    except ImportError:
        return None


class TtwidMinter:
    """Mints ``ttwid`` cookies from TikTok's profile pages.

    Each round GETs ``{web_url}/@{name}`` then ``{web_url}/@tiktok`` (redirects
    followed, no cookies, only a ``User-Agent``); the first ``Set-Cookie:
    ttwid=…`` wins.  A 200 without it is a miss; after ``ttwid_attempts``
    rounds ``ttwid_retry_delay`` seconds apart, :class:`TtwidMissingError`.
    Transport errors are raised at once, and so is a WAF block (the SlardarWAF
    page, 403 or 429): :class:`WafBlockedError`, never retried, since every
    request during a block prolongs it.  Each GET draws from ``budget``.  With curl_cffi installed and
    ``Settings.impersonate`` on, requests carry Chrome's TLS fingerprint.

    Args:
        settings: ``web_url``, timeout, retry counts; ``Settings.from_env()`` if None.
        proxy: proxy URL for the minting requests.
        impersonate: override ``settings.impersonate`` (False: plain httpx).
        sleep: waits between rounds (``asyncio.sleep``; injectable so tests need no clock).
        budget: the egress's :class:`~fastlive.web.budget.WebBudget` (None: unlimited).

    Attributes:
        mints: ttwid cookies minted.
        misses: responses without a ttwid (challenge pages included).
        failures: mints given up (misses exhausted, or TikTok unreachable).
        blocks: mints stopped by a WAF block.
        requests: profile-page GETs sent.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        proxy: str | None = None,
        impersonate: bool | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        budget: WebBudget | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self._sleep = sleep
        self.budget = budget
        want = self.settings.impersonate if impersonate is None else impersonate
        self._curl = _load_curl() if want else None
        self._proxy = proxy
        self._backend: _Backend | None = None
        self.mints = 0
        self.misses = 0
        self.failures = 0
        self.blocks = 0
        self.requests = 0

    def __repr__(self) -> str:
        return (
            f"TtwidMinter(web_url={self.settings.web_url!r}, impersonating={self.impersonating},"
            f" mints={self.mints}, misses={self.misses}, failures={self.failures})"
        )

    @property
    def impersonating(self) -> bool:
        """True when mints go through curl_cffi's Chrome impersonation."""
        return self._curl is not None

    async def mint(
        self,
        user_agent: str,
        unique_id: str | None = None,
        *,
        priority: Priority = Priority.CONNECT,
    ) -> str:
        """A fresh ``ttwid`` minted with ``user_agent`` (the websocket must send the same).

        Raises:
            WafBlockedError: TikTok's WAF blocked this egress (not retried; the budget,
                if any, is closed for its cool-down).
            TtwidMissingError: no ttwid after every round (``unreachable`` False), or
                TikTok could not be reached (``unreachable`` True).
        """
        settings = self.settings
        web = settings.web_url.rstrip("/")
        names = [FALLBACK_PROFILE]
        if unique_id:
            name = normalize_unique_id(unique_id)
            if name.lower() != FALLBACK_PROFILE:
                names.insert(0, name)
        urls = [f"{web}/@{quote(name, safe='')}" for name in names]
        attempts = max(1, settings.ttwid_attempts)
        last_status = 0
        challenged = False
        for attempt in range(1, attempts + 1):
            for url in urls:
                hops = await self._get(url, user_agent, attempt, priority)
                blocked = any(waf or is_block(status, b"") for status, _, _, waf in hops)
                if self.budget is not None and not blocked:
                    self.budget.succeeded()
                for status, set_cookies, system_error, waf in hops:
                    if waf or is_block(status, b""):
                        raise self._blocked(url, status, waf)
                    last_status = status
                    value = parse_ttwid(set_cookies)
                    if value:
                        self.mints += 1
                        logger.debug("ttwid minted in round %d of %d", attempt, attempts)
                        return value
                self.misses += 1
                challenged = challenged or bool(system_error)
            if attempt < attempts:
                await self._sleep(settings.ttwid_retry_delay)
        self.failures += 1
        challenge = ", challenge pages" if challenged else ""
        hint = (
            "use another network or proxy"
            if self.impersonating
            else "pip install 'fastlive[impersonate]' for Chrome TLS impersonation, "
            "or use another network or proxy"
        )
        raise TtwidMissingError(
            f"TikTok set no ttwid cookie in {attempts} rounds of requests to {urls[0]}"
            f"{' and /@tiktok' if len(urls) > 1 else ''} (last HTTP {last_status}{challenge}): "
            f"{hint}, or connect through a sign server (connect='signed')",
            attempts=attempts,
        )

    def _blocked(self, url: str, status: int, waf: bool) -> WafBlockedError:
        """Count a WAF block, close the budget, and the error to raise (never a miss)."""
        self.blocks += 1
        self.failures += 1
        if self.budget is not None:
            self.budget.blocked()
        what = "its WAF block page" if waf else f"HTTP {status}"
        return WafBlockedError(
            f"TikTok's WAF blocked this address while minting a ttwid ({safe_url(url)} "
            f"answered {what}): wait for the cool-down without sending requests, lower "
            "--web-rate (Settings.web_rate), or use proxies",
            status=status,
        )

    async def _get(self, url: str, user_agent: str, attempt: int, priority: Priority) -> list[Hop]:
        if self.budget is not None:
            await self.budget.acquire(priority, "ttwid")
        self.requests += 1
        backend = self._backend
        if backend is None:
            if self._curl is not None:
                backend = _CurlBackend(self._curl, self.settings, self._proxy)
            else:
                backend = _HttpxBackend(self.settings, self._proxy)
            self._backend = backend
        try:
            return await backend.get(url, user_agent)
        except Exception as exc:  # httpx or curl_cffi errors: translated here
            if not _is_transport_error(exc, self._curl):
                raise
            self.failures += 1
            raise TtwidMissingError(
                f"Could not reach {safe_url(url)} to mint a ttwid ({type(exc).__name__}): "
                "check your network connection and proxy settings",
                attempts=attempt,
                unreachable=True,
            ) from exc

    async def aclose(self) -> None:
        """Close the HTTP session (the minter can be used again: it reopens)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            await backend.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _is_transport_error(exc: BaseException, curl: ModuleType | None) -> bool:
    if isinstance(exc, (httpx.HTTPError, OSError)):
        return True
    return curl is not None and isinstance(exc, curl.RequestsError)


class TtwidSession:
    """One ``(ttwid, user agent)`` pair, and the rooms using it.

    Attributes:
        id: this pool's sequence number of the session (newer is larger).
        ttwid: the cookie value (a secret: never logged or shown by repr).
        user_agent: the user agent that minted it; the websocket sends the same.
        rooms: the rooms currently using it.
        bad: TikTok flagged it; no room is given it any more.
    """

    __slots__ = ("bad", "id", "rooms", "ttwid", "user_agent")

    def __init__(self, id: int, ttwid: str, user_agent: str) -> None:
        self.id = id
        self.ttwid = ttwid
        self.user_agent = user_agent
        self.rooms: set[Hashable] = set()
        self.bad = False

    def __repr__(self) -> str:
        return f"TtwidSession(id={self.id}, rooms={len(self.rooms)}, bad={self.bad})"


class TtwidPool:
    """Hands out ``(ttwid, user agent)`` sessions, each shared by up to ``cap`` rooms.

    A room keeps its session across reconnects.  :meth:`rotate` (after
    DEVICE_BLOCKED, a failed mint or a socket that died young) marks the
    session bad and gives that room a newer one; the other rooms on the bad
    session keep it until they fail or reconnect, then move too.  Rooms on
    other sessions are not touched.

    Args:
        cap: rooms per session (at least 1).
        minter: a :class:`TtwidMinter` (anything with ``mint(user_agent, unique_id)``).
        user_agent: pin one user agent for every session; else a random one each.
        user_agents: the pool to draw from; Chrome ones when the minter impersonates.
        rng: the random source (injectable for tests).

    Attributes:
        rotations: sessions marked bad.
    """

    def __init__(
        self,
        cap: int,
        minter: Any,
        *,
        user_agent: str | None = None,
        user_agents: Sequence[str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if cap < 1:
            raise ValueError("the ttwid share cap must be at least 1")
        self.cap = cap
        self.minter = minter
        self._pinned = user_agent
        if user_agents is None:
            chrome = getattr(minter, "impersonating", False)
            user_agents = CHROME_USER_AGENTS if chrome else DESKTOP_USER_AGENTS
        self._agents = tuple(user_agents)
        self._rng = rng or random.Random()
        self._ids = itertools.count(1)
        self._sessions: list[TtwidSession] = []
        self._by_room: dict[Hashable, TtwidSession] = {}
        self._lock = asyncio.Lock()
        self.rotations = 0

    def __repr__(self) -> str:
        return (
            f"TtwidPool(cap={self.cap}, sessions={len(self._sessions)}, rooms={len(self._by_room)})"
        )

    @property
    def sessions(self) -> list[TtwidSession]:
        """Sessions in use, oldest first."""
        return list(self._sessions)

    def session_of(self, room: Hashable) -> TtwidSession | None:
        """The session ``room`` holds, if any."""
        return self._by_room.get(room)

    async def acquire(self, room: Hashable, unique_id: str | None = None) -> TtwidSession:
        """The session ``room`` should connect with: its own unless it went bad,
        else one with room to share, else a newly minted one.

        Raises:
            TtwidMissingError: a mint was needed and failed (call again to retry).
        """
        async with self._lock:
            current = self._by_room.get(room)
            if current is not None and not current.bad:
                return current
            self._detach(room)
            return await self._place(room, unique_id, newer_than=current.id if current else 0)

    async def rotate(
        self, session: TtwidSession | None, room: Hashable, unique_id: str | None = None
    ) -> TtwidSession:
        """Mark ``session`` bad and give ``room`` a newer session (minted if none has room).

        Raises:
            TtwidMissingError: the new mint failed; ``room`` then holds no session.
        """
        async with self._lock:
            if session is not None and not session.bad:
                session.bad = True
                self.rotations += 1
                logger.debug(
                    "ttwid session %d rotated (%d rooms used it)", session.id, len(session.rooms)
                )
            self._detach(room)
            newer = session.id if session is not None else 0
            return await self._place(room, unique_id, newer_than=newer)

    def discard(self, session: TtwidSession | None, room: Hashable) -> None:
        """Mark ``session`` bad and free ``room``'s place without minting (it goes signed)."""
        if session is not None and not session.bad:
            session.bad = True
            self.rotations += 1
        self._detach(room)

    def release(self, room: Hashable) -> None:
        """``room`` is done (stopped for good): free its place."""
        self._detach(room)

    async def _place(self, room: Hashable, unique_id: str | None, newer_than: int) -> TtwidSession:
        for session in self._sessions:
            if not session.bad and session.id > newer_than and len(session.rooms) < self.cap:
                return self._attach(session, room)
        user_agent = self._pinned or self._rng.choice(self._agents)
        ttwid = await self.minter.mint(user_agent, unique_id)
        session = TtwidSession(next(self._ids), ttwid, user_agent)
        self._sessions.append(session)
        return self._attach(session, room)

    def _attach(self, session: TtwidSession, room: Hashable) -> TtwidSession:
        session.rooms.add(room)
        self._by_room[room] = session
        return session

    def _detach(self, room: Hashable) -> None:
        session = self._by_room.pop(room, None)
        if session is None:
            return
        session.rooms.discard(room)
        if not session.rooms:
            self._sessions.remove(session)
