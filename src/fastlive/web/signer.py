"""The sign server: the first batch of a room and where its websocket is.

TikTok's request signatures are not computed here; like every peer, fastlive
asks a sign server (Euler Stream by default, ``SIGN_API_URL`` to change it) for
``GET /webcast/fetch``, which answers with a raw ``ProtoMessageFetchResult``
and the cookies the websocket must carry (protocol.md §2.2).  The API key and
any session id are secrets: they never appear in an error, a repr or a log.

    signer = SignClient(settings, http)
    signed = await signer.fetch(room_id, user_agent=web.user_agent)
    # signed.ws_url, signed.cookies, signed.batch (the backlog)
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from urllib.parse import quote, urlsplit

import httpx
import msgspec

from fastlive._config import DEFAULT_USER_AGENT, Settings
from fastlive._decode import decode_fetch_result
from fastlive.batch import Batch
from fastlive.exceptions import DecodeError, SignAPIError, SignatureMissingTokensError
from fastlive.web._http import (
    SIGN_SERVER,
    AdvertisedLimits,
    advertised_limits,
    safe_url,
    send,
    status_error,
)
from fastlive.web.api import DEFAULT_LOCATION, DEFAULT_SCREEN, browser_params

__all__ = ["SignClient", "SignedFetch", "build_ws_url", "parse_tt_cookies"]

logger = logging.getLogger("fastlive.web.signer")

SIGN_CLIENT_NAME = "fastlive"
"""Sent as ``client=`` so the sign server can tell which library is calling."""
WS_VERSION_SUFFIX = "&version_code=270000"
"""Appended verbatim: TikTok's web client sends ``version_code`` twice (§3.1)."""
_COOKIE_ATTRIBUTES = frozenset(
    {
        "path",
        "domain",
        "expires",
        "max-age",
        "secure",
        "httponly",
        "samesite",
        "priority",
        "partitioned",
        "comment",
        "version",
    }
)


class SignedFetch(msgspec.Struct, frozen=True):
    """What a connection needs from the sign server.

    Attributes:
        batch: the first ``Batch`` (the room's backlog, ``cursor``, ``push_server``...).
        cookies: the cookies of ``X-Set-TT-Cookie``, to send on the websocket upgrade.
        user_agent: the user agent that was signed: the websocket must present it.
        ws_url: the websocket URL (short-lived: connect at once, never reuse it).
        body: the raw ``ProtoMessageFetchResult`` the sign server sent (to record it).
    """

    batch: Batch
    cookies: dict[str, str]
    user_agent: str
    ws_url: str
    body: bytes = b""

    def __repr__(self) -> str:  # cookies are credentials: names only
        return (
            f"SignedFetch(ws_url={safe_url(self.ws_url)!r}, cookies={sorted(self.cookies)}, "
            f"events={len(getattr(self.batch, 'events', ()) or ())})"
        )


def ws_fixed_params(
    user_agent: str = DEFAULT_USER_AGENT, location: Mapping[str, str] = DEFAULT_LOCATION
) -> dict[str, str]:
    """The fixed websocket query parameters of protocol.md §3.1 (TikTokLive's column)."""
    browser = browser_params(user_agent)
    width, height = DEFAULT_SCREEN
    return {
        "aid": "1988",
        "app_language": location["lang"],
        "app_name": "tiktok_web",
        "browser_platform": browser["browser_platform"],
        "browser_language": location["lang_country"],
        "browser_name": browser["browser_name"],
        "browser_version": browser["browser_version"],
        "browser_online": "true",
        "cookie_enabled": "true",
        "tz_name": location["tz"],
        "device_platform": "web",
        "identity": "audience",
        "live_id": "12",
        "sup_ws_ds_opt": "1",
        "update_version_code": "2.0.0",
        "version_code": "180800",
        "client_enter": "1",
        "ws_direct": "1",
        "did_rule": "3",
        "webcast_language": location["lang"],
        "screen_height": str(height),
        "screen_width": str(width),
        "heartbeat_duration": "10000",
        "resp_content_type": "protobuf",
        "history_comment_count": "6",
        "last_rtt": str(random.randint(100, 200)),
    }


def build_ws_url(
    push_server: str,
    route_params: Mapping[str, str],
    room_id: int,
    *,
    compress: bool = True,
    user_agent: str = DEFAULT_USER_AGENT,
    params: Mapping[str, str] | None = None,
) -> str:
    """The websocket URL: ``push_server`` + route params + fixed params (§3.1).

    Route params with empty values are dropped; on a name clash the fixed params
    win, then ``params`` (overrides), then ``room_id`` and ``compress``.  Every
    value is percent-encoded.  The literal ``&version_code=270000`` ends the URL.
    """
    query: dict[str, str] = {k: str(v) for k, v in route_params.items() if v}
    query.update(ws_fixed_params(user_agent))
    query.update({k: str(v) for k, v in (params or {}).items()})
    query["room_id"] = str(room_id)
    query["compress"] = "gzip" if compress else ""
    encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    joiner = "&" if "?" in push_server else "?"
    return f"{push_server}{joiner}{encoded}{WS_VERSION_SUFFIX}"


def parse_tt_cookies(header: str) -> dict[str, str]:
    """Every ``name=value`` pair of an ``X-Set-TT-Cookie`` header, attributes skipped."""
    cookies: dict[str, str] = {}
    for part in header.replace("\n", ";").split(";"):
        name, sep, value = part.strip().partition("=")
        name = name.strip()
        if not sep or not name or name.lower() in _COOKIE_ATTRIBUTES:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies


def _library_version() -> str:
    try:
        return metadata.version("fastlive")
    except metadata.PackageNotFoundError:
        return "dev"


def _default_decode(body: bytes) -> Batch:
    return decode_fetch_result(body)


class SignClient:
    """Client of a sign server's ``/webcast/fetch`` over a shared AsyncClient.

    Args:
        settings: ``sign_api_url`` and ``sign_api_key`` are used.
        http: the AsyncClient to send through (not closed here).
        decode: turns the body into a ``Batch``; ``fastlive.decode_fetch_result``
            by default.
        client_name: the ``client=`` value the sign server sees.
        clock: the Unix time (``time.time``), to read a 429's rate-limit reset.

    Attributes:
        limits: the rate limits the server advertised on its last answer
            (``RateLimit-*`` / ``X-RateLimit-*`` headers), or None; a shared limiter
            adopts them (:meth:`fastlive.monitor.limits.SignLimiter.advertised`).
    """

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        *,
        decode: Callable[[bytes], Batch] | None = None,
        client_name: str = SIGN_CLIENT_NAME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._http = http
        self._decode = decode or _default_decode
        self._client_name = client_name
        self._own_agent = f"fastlive/{_library_version()}"
        self.limits: AdvertisedLimits | None = None

    def __repr__(self) -> str:
        key = "set" if self.settings.sign_api_key else None
        return f"SignClient(sign_api_url={self.settings.sign_api_url!r}, sign_api_key={key!r})"

    async def fetch(
        self,
        room_id: int,
        *,
        user_agent: str,
        session_id: str | None = None,
        tt_target_idc: str | None = None,
        allow_authenticated: bool = False,
        compress: bool = True,
    ) -> SignedFetch:
        """Ask the sign server for the room's first batch and websocket coordinates.

        Args:
            room_id: the room to join.
            user_agent: the user agent the websocket will present (signed with it).
            session_id, tt_target_idc: a logged-in session; sent (in the
                ``x-cookie-header`` header, never in the URL) only when
                ``allow_authenticated`` is True, because the sign server then holds
                full access to the account.
            compress: ask for gzip frames on the websocket.

        Raises:
            ValueError: a session id without ``allow_authenticated`` or without its idc.
            SignatureRateLimitError: 429; wait ``retry_after`` seconds.
            SignServerUnavailableError: the sign server could not be reached.
            SignatureMissingTokensError: 200 without a batch, cursor, push server or cookies.
            SignAPIError: any other refusal (``status`` says which).
        """
        base = self.settings.sign_api_url
        params = {
            "client": self._client_name,
            "room_id": str(room_id),
            "user_agent": user_agent,
            "client_enter": "true",
        }
        if session_id:
            if not allow_authenticated:
                raise ValueError(
                    "A session id is set, but it is only sent to the sign server at "
                    f"{urlsplit(base).hostname} with allow_authenticated=True: the sign "
                    "server could then act as your TikTok account, so allow it only for a "
                    "server you trust"
                )
            if not tt_target_idc:
                raise ValueError("A session id needs its tt-target-idc (the account's data centre)")
        headers = {"User-Agent": self._own_agent, "Accept": "application/x-protobuf, */*"}
        if self.settings.sign_api_key:
            headers["X-Api-Key"] = self.settings.sign_api_key
        if session_id:
            # A header, not the query: URLs end up in logs (httpx logs each one at INFO).
            headers["x-cookie-header"] = f"sessionid={session_id}; tt-target-idc={tt_target_idc}"
        secrets = [s for s in (self.settings.sign_api_key, session_id) if s]

        url = f"{base}/webcast/fetch"
        response = await send(self._http, url, peer=SIGN_SERVER, params=params, headers=headers)
        status = response.status_code
        self.limits = advertised_limits(response.headers, self._clock())
        logger.debug(
            "sign server %s: HTTP %d, request id %s, agent id %s, log code %s",
            safe_url(url),
            status,
            response.headers.get("X-Request-Id"),
            response.headers.get("X-Agent-Id"),
            response.headers.get("X-Log-Code"),
        )
        if status != 200:
            raise status_error(response, url, peer=SIGN_SERVER, secrets=secrets, now=self._clock())
        body = response.content
        if not body:
            raise SignatureMissingTokensError(
                "The sign server answered 200 with an empty body: TikTok may be blocking it "
                "or this room; try again later",
                status=status,
            )
        try:
            batch = self._decode(body)
        except DecodeError as exc:
            raise SignAPIError(
                f"The sign server's answer is not a fetch result ({exc.reason}): "
                "is SIGN_API_URL a sign server?",
                status=status,
            ) from None
        if not getattr(batch, "push_server", None):
            raise SignatureMissingTokensError(
                "The sign server's batch has no push_server (no websocket to connect to)",
                status=status,
            )
        if not getattr(batch, "cursor", None):
            raise SignatureMissingTokensError(
                "The sign server's batch has no cursor", status=status
            )
        header = response.headers.get("X-Set-TT-Cookie")
        cookies = parse_tt_cookies(header) if header else {}
        if not cookies:
            raise SignatureMissingTokensError(
                "The sign server sent no cookies (X-Set-TT-Cookie): the websocket would "
                "be refused; try again later",
                status=status,
            )
        ws_url = build_ws_url(
            batch.push_server,
            batch.route_params or {},
            room_id,
            compress=compress,
            user_agent=user_agent,
        )
        return SignedFetch(
            batch=batch, cookies=cookies, user_agent=user_agent, ws_url=ws_url, body=body
        )
