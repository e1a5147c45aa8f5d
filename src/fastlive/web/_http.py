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
from typing import Any
from urllib.parse import urlsplit

import httpx

from fastlive._config import DEFAULT_SIGN_RETRY_AFTER, Settings
from fastlive.exceptions import (
    FastLiveError,
    RateLimitedError,
    SignAPIError,
    SignatureRateLimitError,
    SignServerUnavailableError,
    TikTokBlockedError,
    WebError,
)

__all__ = [
    "Peer",
    "as_int",
    "json_object",
    "json_or_error",
    "make_http_client",
    "parse_retry_after",
    "rate_limit_wait",
    "redact",
    "safe_url",
    "send",
    "status_error",
]

MAX_SERVER_WORDS = 300
"""A server's own words are cut to this many characters in a message."""
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

    TikTok: 429 ``RateLimitedError`` (``retry_after`` when said), 403
    ``TikTokBlockedError``, else ``WebError``.  The sign server: 429
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
        return RateLimitedError(
            f"TikTok rate-limited {target} (HTTP 429): {wait}, or use a proxy.{said_part}",
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
    if status == 403:
        return TikTokBlockedError(
            f"TikTok refused {target} (HTTP 403): this IP or browser identity is blocked; "
            "wait, use another network or proxy, or a sign server (connect='signed')."
            f"{said_part}",
            status=status,
        )
    return WebError(
        f"TikTok answered HTTP {status} for {target}: try again later, or through a proxy "
        f"if this keeps happening.{said_part}",
        status=status,
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
