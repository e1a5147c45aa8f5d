"""One way to turn an HTTP answer into a result or a typed fastlive error.

Every request of :mod:`fastlive.web` goes through :func:`send` (httpx's
exceptions become fastlive errors) and its answer through :func:`status_error`
or :func:`json_or_error`, so TikTok and the sign server fail with the same
words everywhere: what happened, on which URL (:func:`safe_url`: no query, no
credentials), and what the user can do.  No message, and no exception chained
under one, carries a secret: httpx's exceptions hold the request with its
headers (cookies, the sign API key), so they are never chained, and the
server's own words are redacted of every secret the caller names.

    response = await send(http, url, params=params, headers=headers)
    body = json_or_error(response, url)            # a dict, or RateLimitedError...
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx

from fastlive._config import DEFAULT_SIGN_RETRY_AFTER, Settings
from fastlive.exceptions import (
    FastLiveError,
    SignAPIError,
    SignatureRateLimitError,
    SignServerUnavailableError,
    TikTokBlockedError,
    WafBlockedError,
    WebError,
)

__all__ = [
    "AdvertisedLimits",
    "Peer",
    "advertised_limits",
    "as_int",
    "is_block",
    "is_waf_page",
    "json_object",
    "json_or_error",
    "make_http_client",
    "parse_retry_after",
    "rate_limit_wait",
    "redact",
    "safe_url",
    "send",
    "status_error",
    "waf_error",
]

MAX_SERVER_WORDS = 300
"""A server's own words are cut to this many characters in a message."""
WAF_MARKERS = (b'id="slardar-config"', b"SlardarWAF")
"""Both are in the head of TikTok's WAF block page (``"slardarClient": "SlardarWAF"``)."""
WAF_SCAN = 64 * 1024
"""Bytes of a body searched for the WAF page (its head comes first)."""
_RESET_IS_TIMESTAMP = 1e9
"""A rate-limit reset above this is a Unix time; below, seconds from now (protocol.md §2.6)."""


class Peer(Enum):
    """Who answered: its failures are told apart in the error tree."""

    TIKTOK = "TikTok"
    """TikTok's pages and JSON API: ``WebError`` and its subclasses."""
    SIGN_SERVER = "the sign server"
    """A sign server (Euler Stream...): ``SignAPIError`` and its subclasses."""


TIKTOK = Peer.TIKTOK
SIGN_SERVER = Peer.SIGN_SERVER


def safe_url(url: str | httpx.URL) -> str:
    """``url`` without query, fragment or credentials: safe for messages and logs."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date).

    None when the header is absent or unreadable (``inf`` and ``nan`` included).
    ``now`` (a Unix time, ``time.time()`` by default) dates an HTTP date.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def rate_limit_wait(headers: Mapping[str, str], now: float) -> tuple[float | None, float | None]:
    """``(seconds to wait, reset as a Unix time)`` from a 429's headers; None when not said.

    ``Retry-After`` says how long; ``RateLimit-Reset`` or ``X-RateLimit-Reset``
    (seconds from now, or a Unix time) say when the limit resets, and how long
    to wait when ``Retry-After`` is missing.
    """
    retry = parse_retry_after(headers.get("Retry-After"), now)
    reset = _reset_time(headers.get("RateLimit-Reset") or headers.get("X-RateLimit-Reset"), now)
    if retry is None and reset is not None:
        retry = max(0.0, reset - now)
    return retry, reset


class AdvertisedLimits(NamedTuple):
    """What a server's ``RateLimit-*`` (or ``X-RateLimit-*``) headers say; None when not said."""

    limit: int | None
    """Requests allowed per window."""
    remaining: int | None
    """Requests left in the current window."""
    reset: float | None
    """Seconds until the window resets."""


def advertised_limits(headers: Mapping[str, str], now: float) -> AdvertisedLimits | None:
    """The rate limits a sign server advertises in its headers (any answer); None if none.

    ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``, or their
    ``X-RateLimit-*`` forms; a reset is seconds from now, or a Unix time (§2.6).
    """

    def field(name: str) -> str | None:
        return headers.get(f"RateLimit-{name}") or headers.get(f"X-RateLimit-{name}")

    limit = _count(field("Limit"))
    remaining = _count(field("Remaining"))
    reset_at = _reset_time(field("Reset"), now)
    reset = None if reset_at is None else max(0.0, reset_at - now)
    if limit is None and remaining is None and reset is None:
        return None
    return AdvertisedLimits(limit, remaining, reset)


def _count(value: str | None) -> int | None:
    """A header's request count (``100``, or the first of ``100;w=60``); None if unreadable."""
    if not value:
        return None
    try:
        return max(0, int(value.split(";", 1)[0].split(",", 1)[0].strip()))
    except ValueError:
        return None


def make_http_client(settings: Settings, proxy: str | None = None) -> httpx.AsyncClient:
    """An AsyncClient with fastlive's timeout, following redirects, through ``proxy``.

    Raises:
        ImportError: a ``socks5://`` proxy without the ``fastlive[socks]`` extra.
    """
    try:
        return httpx.AsyncClient(proxy=proxy, timeout=settings.http_timeout, follow_redirects=True)
    except ImportError as exc:  # httpx lacks socksio
        raise ImportError(
            "SOCKS proxies need the optional socks support: pip install 'fastlive[socks]'"
        ) from exc


async def send(
    http: httpx.AsyncClient,
    url: str,
    *,
    peer: Peer = TIKTOK,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One GET; a request that gets no answer is a fastlive error.

    Raises:
        WebError: TikTok could not be reached (network, DNS, TLS, proxy, timeout).
        SignServerUnavailableError: the same for the sign server.
    """
    try:
        return await http.get(url, params=params, headers=headers)
    except httpx.HTTPError as exc:  # not chained: exc.request holds the headers (secrets)
        why = type(exc).__name__
        if peer is SIGN_SERVER:
            raise SignServerUnavailableError(
                f"Could not reach the sign server at {safe_url(url)} ({why}): "
                "check SIGN_API_URL (Settings.sign_api_url) and that the server is up"
            ) from None
        raise WebError(
            f"Could not reach {safe_url(url)} ({why}): "
            "check your network connection and proxy settings"
        ) from None


def status_error(
    response: httpx.Response,
    url: str,
    *,
    peer: Peer = TIKTOK,
    secrets: Iterable[str] = (),
    now: float | None = None,
) -> FastLiveError:
    """The fastlive error for an answer the caller cannot use, by its HTTP status.

    TikTok: 429 and 403 (or the WAF page) ``WafBlockedError``, which is both a
    ``RateLimitedError`` (``retry_after`` when said) and a ``TikTokBlockedError``;
    else ``WebError``.  The sign server: 429
    ``SignatureRateLimitError`` (``retry_after`` always set), else ``SignAPIError``.
    The server's own words (a JSON ``message``) are kept, with ``secrets`` blanked.

    Args:
        response: the answer.
        url: the URL asked (shown without its query).
        peer: who answered.
        secrets: strings that must not appear in the message (keys, session ids).
        now: the Unix time, to read rate-limit resets (``time.time()`` by default).
    """
    status = response.status_code
    target = safe_url(url)
    info = json_object(response.content) or {}
    words = info.get("message") or info.get("error") or info.get("status_msg") or ""
    said = redact(str(words), secrets)
    said_part = f" Server says: {said}" if said else ""
    if status == 429:
        now = time.time() if now is None else now
        retry, reset = rate_limit_wait(response.headers, now)
        if peer is SIGN_SERVER:
            retry = DEFAULT_SIGN_RETRY_AFTER if retry is None else retry
            label = redact(str(info.get("limit_label") or ""), secrets)
            label_part = f"({label}) " if label else ""
            return SignatureRateLimitError(
                f"{label_part}Sign server rate limit reached: try again in {retry:g} s, "
                f"or use an API key with a higher limit.{said_part}",
                retry_after=retry,
                reset_time=reset,
            )
        wait = f"try again in {retry:g} s" if retry is not None else "slow down and try later"
        return WafBlockedError(
            f"TikTok rate-limited {target} (HTTP 429), a WAF block of this address: {wait} "
            f"without sending requests, lower --web-rate, or use a proxy.{said_part}",
            status=429,
            retry_after=retry,
        )
    if peer is SIGN_SERVER:
        if status in (401, 402, 403):
            return SignAPIError(
                f"The sign server refused the request (HTTP {status}): it needs an API key, "
                "or a plan that includes this; set SIGN_API_KEY (Settings.sign_api_key)."
                f"{said_part}",
                status=status,
            )
        return SignAPIError(
            f"The sign server answered HTTP {status}: try again later.{said_part}", status=status
        )
    if status == 403 or is_waf_page(response.content):
        return WafBlockedError(
            f"TikTok refused {target} (HTTP {status}): this IP or browser identity is blocked "
            "(WAF); wait for the cool-down without sending requests, lower --web-rate, use "
            f"another network or proxy, or a sign server (connect='signed').{said_part}",
            status=status,
        )
    return WebError(
        f"TikTok answered HTTP {status} for {target}: try again later, or through a proxy "
        f"if this keeps happening.{said_part}",
        status=status,
    )


def is_waf_page(body: bytes | str) -> bool:
    """True when ``body`` is TikTok's SlardarWAF block page (an HTML page, not the answer)."""
    head = body[:WAF_SCAN]
    if isinstance(head, str):
        head = head.encode("utf-8", "replace")
    return all(marker in head for marker in WAF_MARKERS)


def is_block(status: int, body: bytes | str) -> bool:
    """True when a TikTok web answer is a WAF block: a 403, a 429, or the block page."""
    return status in (403, 429) or is_waf_page(body)


def waf_error(response: httpx.Response, url: str, *, now: float | None = None) -> WafBlockedError:
    """The :class:`WafBlockedError` for a blocked answer (see :func:`is_block`)."""
    status = response.status_code
    retry = None
    if status == 429:
        retry, _ = rate_limit_wait(response.headers, time.time() if now is None else now)
    what = "its WAF block page" if is_waf_page(response.content) else f"HTTP {status}"
    return WafBlockedError(
        f"TikTok's WAF blocked this address: {safe_url(url)} answered {what}. "
        "Wait for the cool-down without sending requests (each request during a block "
        "prolongs it), lower the web request rate (--web-rate, Settings.web_rate), "
        "or spread the rooms over proxies",
        status=status,
        retry_after=retry,
    )


def json_or_error(
    response: httpx.Response,
    url: str,
    *,
    secrets: Iterable[str] = (),
    now: float | None = None,
) -> dict[str, Any]:
    """The JSON object of a 2xx answer from TikTok, or the typed error.

    Raises:
        RateLimitedError, TikTokBlockedError, WebError: an error status
            (see :func:`status_error`).
        TikTokBlockedError: a 2xx whose body is not a JSON object (a captcha or
            block page).
    """
    status = response.status_code
    if not 200 <= status < 300:
        raise status_error(response, url, secrets=secrets, now=now)
    if is_waf_page(response.content):
        raise waf_error(response, url, now=now)
    body = json_object(response.content)
    if body is None:
        raise TikTokBlockedError(
            f"TikTok answered {safe_url(url)} with HTTP {status} and not JSON (a captcha "
            "or a block page): wait, use another network or proxy, or pass room_id=",
            status=status,
        )
    return body


def json_object(text: str | bytes | bytearray) -> dict[str, Any] | None:
    """The JSON object in ``text``; None when it is empty, not JSON, or not an object."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError included; absurd nesting
        return None
    return value if isinstance(value, dict) else None


def as_int(value: Any) -> int | None:
    """``value`` as an int (TikTok sends ids as numbers or strings); None if it is none.

    Zero stays zero: a caller to whom 0 means "no room" says so (``if not room_id``).
    """
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` (a server's words) with every secret blanked out, cut to a few hundred chars."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:MAX_SERVER_WORDS]


def _reset_time(value: str | None, now: float) -> float | None:
    """A rate-limit reset as a Unix time; small numbers are seconds from now (§2.6)."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return number if number > _RESET_IS_TIMESTAMP else now + number
