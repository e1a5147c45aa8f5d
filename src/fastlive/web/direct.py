"""The direct connection without a sign server: URL, handshake, room lookup (§2.8).

Instead of a sign server's first batch and ``push_server``, a direct
connection builds the websocket URL itself from a fixed host and 28 fixed
parameters, and presents one anonymous ``ttwid`` cookie (see
:mod:`fastlive.web.ttwid`) with the same user agent that minted it.  The room id
and live state come from TikTok's unsigned ``api-live/user/room`` JSON.

Everything here is a pure function except :func:`fetch_direct_room` (one GET
over an injected ``httpx.AsyncClient``).  The ``ttwid`` is a credential: it
goes into the ``Cookie`` header and nowhere else (no error, log or repr).

    room = await fetch_direct_room(http, settings.web_url, "someone", user_agent=ua)
    url = build_direct_ws_url(settings.ws_url, room.room_id)
    headers = direct_handshake_headers(ua, ttwid)
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import msgspec

from fastlive._config import DEFAULT_WEB_URL, resolve_ws_url
from fastlive.exceptions import (
    AgeRestrictedError,
    ConnectError,
    DeviceBlockedError,
    UserNotFoundError,
    WebcastBlockedError,
    WebError,
)
from fastlive.web._http import as_int, json_or_error, safe_url
from fastlive.web.api import normalize_unique_id
from fastlive.web.budget import Priority, WebBudget, send_within

__all__ = [
    "DIRECT_WS_PATH",
    "DirectRoom",
    "build_direct_ws_url",
    "direct_handshake_headers",
    "direct_upgrade_error",
    "fetch_direct_room",
    "is_device_blocked",
]

DIRECT_WS_PATH = "/webcast/im/ws_proxy/ws_reuse_supplement/"
"""Path of the direct websocket on ``webcast-ws.tiktok.com`` (and its EU/US twins)."""
DEVICE_BLOCKED = "DEVICE_BLOCKED"
DEVICE_BLOCKED_STATUS = 415
"""Handshake status (and sometimes HTTP status) of a blocked device: a flagged ttwid."""
USER_NOT_FOUND_CODE = 19881007
AGE_RESTRICTED_CODE = 4003110
ROOM_LIVE = 2
"""Room or user status 2: live.  3 (paused) and 4 (ended) are not live here (§2.8.3)."""
_NO_ROOM = frozenset({"", "0"})
_RETRYABLE_UPGRADE = range(500, 600)

FastLiveUpgradeError = WebcastBlockedError | ConnectError
"""What :func:`direct_upgrade_error` returns (``DeviceBlockedError`` is a ``WebcastBlockedError``)."""


class DirectRoom(msgspec.Struct, frozen=True, gc=False):
    """What ``api-live/user/room`` says about a user, for a direct connection.

    Attributes:
        room_id: the current room (0 when the user has none).
        anchor_id: the host's numeric user id (0 when TikTok omitted it).
        live: True when the room is live now (status 2).
    """

    room_id: int
    anchor_id: int
    live: bool


def build_direct_ws_url(
    ws_base: str,
    room_id: int,
    *,
    heartbeat_ms: int = 10000,
    compress: bool = True,
    lang: str = "en",
    region: str = "US",
    tz: str = "UTC",
    rng: random.Random | None = None,
) -> str:
    """The direct websocket URL: ``{ws_base}/webcast/im/ws_proxy/ws_reuse_supplement/?…``.

    Args:
        ws_base: ``wss://webcast-ws.tiktok.com``, a preset name (``eu``, ``us``) or
            any ``ws://``/``wss://`` base (a path already ending in the direct path is kept).
        room_id: the room to join (also joined over the socket, by ``im_enter_room``).
        heartbeat_ms: the client heartbeat period the server is told, in milliseconds.
        compress: ask for gzip payloads (``compress=gzip``), else raw (``compress=``).
        lang, region, tz: the browser's language, country and IANA time zone.
        rng: source of the random ``last_rtt`` (injectable for reproducible URLs).

    Raises:
        ValueError: the base is not a ``ws://`` or ``wss://`` URL.
    """
    base = urlsplit(resolve_ws_url(ws_base))
    if base.scheme not in ("ws", "wss") or not base.netloc:
        raise ValueError(
            f"{ws_base!r} is not a websocket base URL: use wss://webcast-ws.tiktok.com, "
            "a preset (default, eu, us) or a ws:// URL for a local server"
        )
    path = base.path.rstrip("/")
    if not (path + "/").endswith(DIRECT_WS_PATH):
        path += DIRECT_WS_PATH
    else:
        path += "/"
    rtt = (rng or random).uniform(100.0, 200.0)
    params = (
        ("version_code", "180800"),
        ("device_platform", "web"),
        ("cookie_enabled", "true"),
        ("screen_width", "1920"),
        ("screen_height", "1080"),
        ("browser_language", f"{lang}-{region}"),
        ("browser_platform", "Linux x86_64"),
        ("browser_name", "Mozilla"),
        ("browser_version", "5.0 (X11)"),
        ("browser_online", "true"),
        ("tz_name", tz or "UTC"),
        ("app_name", "tiktok_web"),
        ("sup_ws_ds_opt", "1"),
        ("update_version_code", "2.0.0"),
        ("compress", "gzip" if compress else ""),
        ("webcast_language", lang),
        ("ws_direct", "1"),
        ("aid", "1988"),
        ("live_id", "12"),
        ("app_language", lang),
        ("client_enter", "1"),
        ("room_id", str(int(room_id))),
        ("identity", "audience"),
        ("history_comment_count", "6"),
        ("last_rtt", f"{rtt:.3f}"),
        ("heartbeat_duration", str(int(heartbeat_ms))),
        ("resp_content_type", "protobuf"),
        ("did_rule", "3"),
    )
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return urlunsplit((base.scheme, base.netloc, path, query, ""))


def direct_handshake_headers(
    user_agent: str,
    ttwid: str,
    *,
    extra_cookies: Mapping[str, str] | None = None,
    lang: str = "en",
    region: str = "US",
    web_url: str = DEFAULT_WEB_URL,
) -> dict[str, str]:
    """The upgrade request headers of a direct websocket (§2.8.5).

    The ``Cookie`` is ``ttwid={ttwid}`` (verbatim), then ``extra_cookies`` (a
    logged-in ``sessionid``...), never ``tt-target-idc``.  Pass these as the
    websockets client's ``additional_headers`` with ``user_agent_header=None``.

    Raises:
        ValueError: no user agent (TikTok blocks an upgrade without one) or no ttwid.
    """
    if not user_agent:
        raise ValueError("a direct websocket needs a User-Agent: TikTok blocks it without one")
    if not ttwid:
        raise ValueError("a direct websocket needs a ttwid cookie: mint one with TtwidMinter")
    cookies = [f"ttwid={ttwid}"]
    for name, value in (extra_cookies or {}).items():
        if name not in ("ttwid", "tt-target-idc") and value:
            cookies.append(f"{name}={value}")
    return {
        "User-Agent": user_agent,
        "Cookie": "; ".join(cookies),
        "Origin": web_url,
        "Referer": f"{web_url}/",
        "Accept-Language": f"{lang}-{region},{lang};q=0.9",
        "Cache-Control": "no-cache",
    }


def is_device_blocked(status: int, headers: Any) -> bool:
    """Whether a refused upgrade is ``DEVICE_BLOCKED``.

    Any of: ``Handshake-Msg`` naming it, ``Handshake-Status: 415``, HTTP 415.
    ``headers`` is any mapping (websockets or httpx headers, or a plain dict).
    """
    if status == DEVICE_BLOCKED_STATUS:
        return True
    if DEVICE_BLOCKED in (_header(headers, "Handshake-Msg") or "").upper():
        return True
    return (_header(headers, "Handshake-Status") or "").strip() == str(DEVICE_BLOCKED_STATUS)


def direct_upgrade_error(status: int, headers: Any, url: str) -> FastLiveUpgradeError:
    """The fastlive error for a refused direct upgrade (anything but 101).

    ``DeviceBlockedError`` for DEVICE_BLOCKED, ``ConnectError`` for a 5xx
    (TikTok's trouble), ``WebcastBlockedError`` otherwise.  ``url`` is shown
    without its query.
    """
    target = safe_url(url)
    message = (_header(headers, "Handshake-Msg") or "")[:200]
    if is_device_blocked(status, headers):
        return DeviceBlockedError(
            f"TikTok answered DEVICE_BLOCKED (HTTP {status}) on {target}: the ttwid or user "
            "agent was flagged; fastlive mints a new pair, or use a sign server "
            "(connect='signed') or another network",
            status=status,
            handshake_msg=message,
        )
    if status in _RETRYABLE_UPGRADE:
        return ConnectError(f"direct websocket upgrade to {target} failed with HTTP {status}")
    why = f'"{message}"' if message else "no reason given"
    return WebcastBlockedError(
        f"TikTok refused the direct websocket {target} with HTTP {status} ({why}): "
        "try again later, another network, or a sign server (connect='signed')",
        status=status,
        handshake_msg=message,
    )


async def fetch_direct_room(
    http: httpx.AsyncClient,
    web_url: str,
    unique_id: str,
    *,
    user_agent: str,
    lang: str = "en",
    region: str = "US",
    budget: WebBudget | None = None,
    priority: Priority = Priority.CONNECT,
) -> DirectRoom:
    """Room id and live state of ``@unique_id`` from ``api-live/user/room`` (§2.8.3).

    Sends no cookies of its own (only the client's jar, if any): the direct
    path needs none.  An offline user is a ``DirectRoom`` with ``live=False``.

    Raises:
        UserNotFoundError: the handle does not exist (``statusCode`` 19881007).
        AgeRestrictedError: TikTok wants a logged-in session (``statusCode`` 4003110).
        WafBlockedError: HTTP 403 or 429 (``retry_after`` when TikTok says), or the WAF
            page; it is a ``RateLimitedError`` and a ``TikTokBlockedError``; ``budget``,
            if given, is closed for its cool-down.
        TikTokBlockedError: a body that is not JSON (a captcha page).
        WebError: TikTok could not be reached, or another error status or code.
    """
    uid = normalize_unique_id(unique_id)
    url = f"{web_url.rstrip('/')}/api-live/user/room"
    params = {
        "aid": "1988",
        "app_name": "tiktok_web",
        "device_platform": "web_pc",
        "app_language": lang,
        "browser_language": f"{lang}-{region}",
        "region": region,
        "user_is_login": "false",
        "sourceType": "54",
        "staleTime": "600000",
        "uniqueId": uid,
    }
    headers = {"User-Agent": user_agent, "Referer": f"{web_url.rstrip('/')}/"}
    response = await send_within(
        budget, priority, "user_room", http, url, params=params, headers=headers
    )
    status = response.status_code
    body = json_or_error(response, url)
    code = body.get("statusCode", body.get("status_code"))
    if code == USER_NOT_FOUND_CODE or body.get("message") == "user_not_found":
        raise UserNotFoundError(uid)
    if code == AGE_RESTRICTED_CODE:
        raise AgeRestrictedError(
            f"@{uid}'s room is age-restricted: log in with a session (session_id=) to see it",
            status=status,
        )
    if code != 0:
        reason = str(body.get("message") or "no reason")[:200]
        raise WebError(
            f"TikTok's user API refused @{uid} (statusCode {code}: {reason}): "
            "try again later, or pass room_id=",
            status=status,
        )
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    user = data.get("user") if isinstance(data.get("user"), dict) else {}
    live_room = data.get("liveRoom") if isinstance(data.get("liveRoom"), dict) else {}
    room_text = str(user.get("roomId") or "").strip()
    anchor_id = as_int(user.get("id")) or 0
    if room_text in _NO_ROOM:
        return DirectRoom(room_id=0, anchor_id=anchor_id, live=False)
    room_id = as_int(room_text)
    if not room_id:
        raise WebError(
            f"TikTok's user API gave @{uid} an unreadable room id (its API may have "
            "changed): pass room_id=, or update fastlive"
        )
    live = as_int(live_room.get("status")) == ROOM_LIVE or as_int(user.get("status")) == ROOM_LIVE
    return DirectRoom(room_id=room_id, anchor_id=anchor_id, live=live)


def _header(headers: Any, name: str) -> str | None:
    """A header by name, case-insensitively, from any mapping (or None)."""
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        for key, val in headers.items():
            if key.lower() == lower:
                return str(val)
    return None if value is None else str(value)
