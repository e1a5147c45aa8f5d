"""TikTok's web pages and JSON API: room id, live checks, room info, gift list.

One :class:`TikTokWeb` speaks for one identity (one user agent, one cookie jar)
over one ``httpx.AsyncClient``, which it creates or is given.  Every failure
comes out as a :mod:`fastlive.exceptions` error; httpx's own exceptions never
escape.  Base URLs come from :class:`~fastlive._config.Settings`, so the same
code talks to TikTok or to :class:`fastlive.testing.FakeTikTok` on loopback.

    async with TikTokWeb() as web:
        room_id = await web.fetch_room_id("@someone")
        if await web.fetch_is_live(room_id=room_id):
            info = await web.fetch_room_info(room_id)
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from fastlive._config import Settings
from fastlive.exceptions import (
    AgeRestrictedError,
    UserNotFoundError,
    UserOfflineError,
    WafBlockedError,
    WebError,
)
from fastlive.web._http import (
    as_int,
    is_block,
    json_or_error,
    make_http_client,
    status_error,
    waf_error,
)
from fastlive.web.budget import Priority, WebBudget, send_within

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["TikTokWeb", "normalize_unique_id"]

logger = logging.getLogger("fastlive.web")

# The browser identity sent with every request (protocol.md §1.3, §1.4).  One
# location for the whole client; the user agent comes from Settings.
DEFAULT_LOCATION = {"lang": "en", "lang_country": "en-GB", "country": "GB", "tz": "Europe/London"}
DEFAULT_SCREEN = (1920, 1080)
DEFAULT_COOKIES = {"tt-target-idc": "useast1a"}
SESSION_COOKIES = ("sessionid", "sessionid_ss", "sid_tt")
"""The cookies that carry a logged-in session (secrets: never in a message)."""
CHECK_ALIVE_BATCH = 50
"""At most this many room ids per ``check_alive`` request."""
AGE_RESTRICTED_STATUS = 4003110
"""``status_code`` TikTok gives for a room that needs a logged-in session."""
ROOM_OFFLINE = 4
"""Room status 4: offline or ended (2 live, 3 paused)."""

_SIGI_RE = re.compile(r'<script id="SIGI_STATE" type="application/json">(.*?)</script>', re.DOTALL)


def normalize_unique_id(value: str) -> str:
    """Reduce ``@name``, ``name`` or a live page URL (on any host) to ``name``.

    Raises:
        ValueError: when nothing is left of the handle.
    """
    text = str(value).strip()
    if "://" in text:  # a URL on any host: drop scheme and host
        text = text.split("://", 1)[1].partition("/")[2]
    elif "/@" in text:  # a URL without its scheme
        text = text.split("/@", 1)[1]
    text = text.lstrip("/")
    text = text.removeprefix("@")
    handle = re.split(r"[/?#]", text, maxsplit=1)[0].strip()
    if not handle:
        raise ValueError(
            f"{value!r} is not a TikTok handle: pass 'name', '@name' or "
            "'https://www.tiktok.com/@name/live'"
        )
    return handle


def browser_params(user_agent: str) -> dict[str, str]:
    """Browser fields TikTok derives from the user agent (name, version, platform, os)."""
    name, _, version = user_agent.partition("/")
    mac = "Macintosh" in user_agent
    return {
        "browser_name": name,
        "browser_version": version,
        "browser_platform": "MacIntel" if mac else "Win32",
        "os": "mac" if mac else "windows",
    }


def default_params(user_agent: str, location: dict[str, str] = DEFAULT_LOCATION) -> dict[str, str]:
    """The web client query parameters of protocol.md §1.3 (TikTokLive's column)."""
    width, height = DEFAULT_SCREEN
    params = {
        "aid": "1988",
        "app_language": location["lang"],
        "app_name": "tiktok_web",
        "browser_language": location["lang_country"],
        "browser_online": "true",
        "cookie_enabled": "true",
        "device_platform": "web_pc",
        "focus_state": "true",
        "from_page": "",
        "history_len": str(random.randint(4, 14)),
        "is_fullscreen": "false",
        "is_page_visible": "true",
        "screen_height": str(height),
        "screen_width": str(width),
        "tz_name": location["tz"],
        "channel": "tiktok_web",
        "data_collection_enabled": "true",
        "priority_region": location["country"],
        "region": location["country"],
        "user_is_login": "false",
        "webcast_language": location["lang"],
        "msToken": "",
    }
    params.update(browser_params(user_agent))
    return params


def default_headers(user_agent: str, web_url: str) -> dict[str, str]:
    """The request headers of protocol.md §1.4, pointed at ``web_url``."""
    return {
        "Connection": "keep-alive",
        "Cache-Control": "max-age=0",
        "User-Agent": user_agent,
        "Accept": "text/html,application/json,application/protobuf",
        "Referer": f"{web_url}/",
        "Origin": web_url,
        "Accept-Language": "en-US,en;q=0.9",
        "Accept-Encoding": "gzip, deflate",
        "Sec-Fetch-Site": "same-site",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Dest": "empty",
        "Sec-Fetch-Ua-Mobile": "?0",
    }


class TikTokWeb:
    """TikTok's web API for one identity: one user agent, one cookie jar.

    Args:
        settings: base URLs, user agent and timeout; ``Settings.from_env()`` if None.
        http: a shared ``httpx.AsyncClient``; if None, one is created (and closed by
            :meth:`aclose`).
        proxy: proxy URL (``http://``, ``https://``, ``socks5://``) for the client
            created here; not allowed together with ``http``.
        cookies, headers, params: added to (and overriding) the defaults.
        budget: the :class:`~fastlive.web.budget.WebBudget` of this egress: every request
            waits for it, by priority, and a WAF block closes it.  None: no budget (each
            request goes at once; a block is still a ``WafBlockedError``).  A Monitor
            shares one per egress between all its rooms.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        proxy: str | None = None,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        budget: WebBudget | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.budget = budget
        """The egress's request budget (None: unlimited)."""
        if http is not None and proxy is not None:
            raise ValueError("pass proxy= to your own AsyncClient, or do not pass http=")
        self._owns_http = http is None
        self._http = http if http is not None else make_http_client(self.settings, proxy)
        ua = (headers or {}).get("User-Agent") or self.settings.user_agent
        self._headers: dict[str, str] = default_headers(ua, self.settings.web_url)
        self._headers.update(headers or {})
        self._params: dict[str, str] = default_params(ua)
        self._params.update({k: str(v) for k, v in (params or {}).items()})
        self._cookies: dict[str, str] = {**DEFAULT_COOKIES, **(cookies or {})}
        self.room_id: int | None = None
        """The room routes use when called without one (the client sets it once resolved)."""

    def __repr__(self) -> str:  # cookies may hold a session id: show names only
        return f"TikTokWeb(web_url={self.settings.web_url!r}, cookies={sorted(self._cookies)})"

    # -- identity ---------------------------------------------------------------

    @property
    def user_agent(self) -> str:
        """The one user agent of this client (also what the websocket must send)."""
        return self._headers["User-Agent"]

    @property
    def cookies(self) -> dict[str, str]:
        """The cookie jar itself: update it to change what later requests send."""
        return self._cookies

    @property
    def params(self) -> dict[str, str]:
        """The default query parameters sent to the JSON API."""
        return self._params

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying client, to share with :class:`fastlive.web.signer.SignClient`."""
        return self._http

    def set_session(self, session_id: str, tt_target_idc: str) -> None:
        """Log in: send ``sessionid`` (and its aliases) and the account's data centre.

        ``tt_target_idc`` is the data centre of the account, e.g. ``useast1a``.
        """
        if not session_id or not tt_target_idc:
            raise ValueError("set_session needs both a session id and its tt-target-idc")
        for name in SESSION_COOKIES:
            self._cookies[name] = session_id
        self._cookies["tt-target-idc"] = tt_target_idc
        self._params["user_is_login"] = "true"

    # -- lifecycle ------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- routes --------------------------------------------------------------------

    async def fetch_room_id(self, unique_id: str, *, priority: Priority = Priority.CONNECT) -> int:
        """The room id of ``@unique_id``: live page first, then ``api-live/user/room``.

        Returns the id TikTok gives even when the user is offline.

        Raises:
            UserNotFoundError: the handle does not exist.
            UserOfflineError: the user exists but TikTok gives no room id.
            WebError, RateLimitedError: TikTok failed or blocked both sources.
        """
        uid = normalize_unique_id(unique_id)
        try:
            room_id = await self._room_id_from_html(uid, priority)
        except WafBlockedError:
            raise  # the egress is blocked: asking the API too would prolong the block
        except WebError as exc:
            logger.debug("room id from the live page failed (%s); trying the API", exc)
            room_id = None
        if room_id:
            return room_id
        data = await self._user_room(uid, priority)
        room_id = as_int(_dig(data, "data", "user", "roomId"))
        if not room_id:
            raise UserOfflineError(uid, f"@{uid} has no live room now: try again when it goes live")
        return room_id

    async def fetch_is_live(
        self,
        *,
        room_id: int | None = None,
        unique_id: str | None = None,
        priority: Priority = Priority.LIVE_CHECK,
    ) -> bool:
        """Whether a room (by id, via ``check_alive``) or a user (by handle) is live now."""
        if (room_id is None) == (unique_id is None):
            raise ValueError("fetch_is_live needs exactly one of room_id= or unique_id=")
        if room_id is not None:
            return (await self.fetch_is_live_many([room_id], priority=priority))[0]
        data = await self._user_room(normalize_unique_id(unique_id or ""), priority)
        status = _dig(data, "data", "liveRoom", "status")
        return status is not None and status != ROOM_OFFLINE

    async def fetch_is_live_many(
        self, room_ids: Iterable[int], *, priority: Priority = Priority.LIVE_CHECK
    ) -> list[bool]:
        """Live or not for each room id, in order; ``check_alive`` in batches of 50.

        A room TikTok does not report on (unknown id, or a detected client) is False.
        """
        ids = [int(r) for r in room_ids]
        result: list[bool] = []
        url = f"{self.settings.webcast_url}/webcast/room/check_alive/"
        for start in range(0, len(ids), CHECK_ALIVE_BATCH):
            chunk = ids[start : start + CHECK_ALIVE_BATCH]
            body = await self._get_json(
                url, {"room_ids": ",".join(map(str, chunk))}, priority, "live_check"
            )
            entries = body.get("data") or []
            by_id = {}
            for pos, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                key = as_int(entry.get("room_id_str") or entry.get("room_id"))
                if not key and pos < len(chunk):
                    key = chunk[pos]  # no id in the entry: TikTok keeps request order
                by_id[key] = bool(entry.get("alive"))
            result.extend(by_id.get(r, False) for r in chunk)
        return result

    async def fetch_room_info(
        self,
        room_id: int | None = None,
        unique_id: str | None = None,
        *,
        priority: Priority = Priority.INFO,
    ) -> dict[str, Any]:
        """The ``data`` object of ``/webcast/room/info/`` (title, viewers, owner, stream urls).

        Without arguments, for ``self.room_id`` (the client's room), as TikTokLive does.

        Raises:
            AgeRestrictedError: the room needs a logged-in session (``set_session``).
            ValueError: both or neither of room_id / unique_id, and no room stored.
        """
        if room_id is not None and unique_id is not None:
            raise ValueError("pass room_id or unique_id, not both")
        if unique_id is not None:
            room_id = await self.fetch_room_id(unique_id, priority=priority)
        room_id = self._room(room_id)
        url = f"{self.settings.webcast_url}/webcast/room/info/"
        body = await self._get_json(url, {"room_id": str(room_id)}, priority, "room_info")
        data = body.get("data")
        data = data if isinstance(data, dict) else {}
        status = body.get("status_code") or 0
        restricted = data.get("age_restricted")
        if (
            status == AGE_RESTRICTED_STATUS
            or "prompts" in data
            or (isinstance(restricted, dict) and restricted.get("restricted"))
        ):
            raise AgeRestrictedError(
                f"Room {room_id} is age-restricted: log in with "
                "set_session(sessionid, tt_target_idc) to see it"
            )
        if status:
            raise WebError(
                f"TikTok refused room info for room {room_id} (status_code {status}: "
                f"{_reason(body, data)}): check the room id"
            )
        if len(data) <= 1:
            raise AgeRestrictedError(
                f"TikTok gave no room info for room {room_id}, which it does for age-restricted "
                "rooms: log in with set_session(sessionid, tt_target_idc) to see it"
            )
        return data

    def _room(self, room_id: int | None) -> int:
        if room_id is not None:
            return room_id
        if self.room_id is None:
            raise ValueError("no room id: pass room_id= or unique_id=, or start the client first")
        return self.room_id

    async def fetch_gift_list(
        self, room_id: int | None = None, *, priority: Priority = Priority.INFO
    ) -> list[dict[str, Any]]:
        """The gift catalogue (``data.gifts``: id, name, diamond_count, image...)."""
        url = f"{self.settings.webcast_url}/webcast/gift/list/"
        room_id = room_id if room_id is not None else self.room_id
        extra = {"room_id": str(room_id)} if room_id is not None else {}
        body = await self._get_json(url, extra, priority, "gift_list")
        gifts = _dig(body, "data", "gifts")
        if not isinstance(gifts, list):
            raise WebError(
                f"TikTok's gift list had no data.gifts ({_reason(body, {})}): TikTok may "
                "have changed the API or blocked this client; try later or through a proxy"
            )
        return gifts

    # -- internals --------------------------------------------------------------

    async def _room_id_from_html(
        self, uid: str, priority: Priority = Priority.CONNECT
    ) -> int | None:
        """Room id from the live page's ``SIGI_STATE``; None when the page has none."""
        url = f"{self.settings.web_url}/@{uid}/live"
        response = await self._request(url, None, priority, "live_page")
        if is_block(response.status_code, response.content):
            raise waf_error(response, url)
        if not response.is_success:
            raise status_error(response, url, secrets=self._secrets())
        match = _SIGI_RE.search(response.text)
        if match is None:
            raise WebError(
                f"The live page of @{uid} has no SIGI_STATE (a captcha or a block page): "
                "try later, through a proxy, or pass room_id="
            )
        try:
            state = json.loads(match.group(1))
        except ValueError:
            raise WebError(
                f"The live page of @{uid} has unreadable SIGI_STATE: pass room_id=, or update "
                "fastlive if this keeps happening"
            ) from None
        return as_int(_dig(state, "LiveRoom", "liveRoomUserInfo", "user", "roomId")) or None

    async def _user_room(self, uid: str, priority: Priority = Priority.CONNECT) -> dict[str, Any]:
        """``api-live/user/room`` JSON for ``uid``; raises UserNotFoundError."""
        url = f"{self.settings.web_url}/api-live/user/room/"
        params = {
            "uniqueId": uid,
            "sourceType": "54",
            "referer": f"{self.settings.web_url}/@{uid}/live",
            "root_referer": f"{self.settings.web_url}/@{uid}/live",
        }
        body = await self._get_json(url, params, priority, "user_room")
        message = body.get("message")
        if message == "user_not_found":
            raise UserNotFoundError(uid)
        if message == "params_error":
            raise WebError(
                "TikTok rejected the request (params_error): its web API may have changed; "
                "update fastlive, or pass room_id="
            )
        status = body.get("statusCode") or body.get("status_code") or 0
        if status:
            raise WebError(
                f"TikTok's user API refused @{uid} (statusCode {status}: {_reason(body, {})}): "
                "try again later, or pass room_id="
            )
        return body

    async def _get_json(
        self, url: str, extra: dict[str, str], priority: Priority, kind: str
    ) -> dict[str, Any]:
        """GET ``url`` with the default params plus ``extra``; the JSON object."""
        response = await self._request(url, {**self._params, **extra}, priority, kind)
        return json_or_error(response, url, secrets=self._secrets())

    async def _request(
        self, url: str, params: dict[str, str] | None, priority: Priority, kind: str
    ) -> httpx.Response:
        """One GET with this identity's headers and cookies, drawn from the budget; the
        answer, whatever its status (a WAF block also closes the budget)."""
        if params is not None:
            params = {**params, "device_id": str(random.randrange(10**19, 10**20))}
        headers = {**self._headers, "Cookie": self._cookie_header()}
        response = await send_within(
            self.budget, priority, kind, self._http, url, params=params, headers=headers
        )
        for name, value in response.cookies.items():
            self._cookies[name] = value
        return response

    def _secrets(self) -> list[str]:
        return [self._cookies[name] for name in SESSION_COOKIES if self._cookies.get(name)]

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self._cookies.items())


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _reason(body: dict[str, Any], data: dict[str, Any]) -> str:
    """TikTok's own words for a failure, kept short."""
    text = body.get("message") or data.get("message") or body.get("status_msg") or "no reason"
    return str(text)[:200]
