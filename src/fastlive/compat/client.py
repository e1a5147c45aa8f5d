"""``TikTokLiveClient`` with TikTokLive 7's constructor (``TikTokLive.client.client``).

The fastlive client already speaks TikTokLive's API (``on``, ``add_listener``,
``start``, ``connect``, ``run``, ``disconnect``, ``is_live``, ``room_id``,
``web``...); this subclass adds TikTokLive's positional constructor arguments,
its ``web_kwargs`` shape, ``is_user_id=True`` and ``WebsocketResponseEvent``.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import re
from typing import Any

import httpx

from fastlive._decode import decode, decode_fetch_result
from fastlive.batch import Batch
from fastlive.client import TikTokLiveClient as _Client
from fastlive.compat.events import WebsocketResponseEvent
from fastlive.events import BaseEvent
from fastlive.exceptions import DecodeError, UserNotFoundError, WebError
from fastlive.session import FETCH, FRAME
from fastlive.web import normalize_unique_id, safe_url

__all__ = ["LogLevel", "TikTokLiveClient"]

logger = logging.getLogger("fastlive.compat")

# TikTokWeb keywords that TikTokLive's web_kwargs may carry; the rest were httpx options.
_WEB_KEYS = ("headers", "params", "cookies")

# A profile page's state, where TikTok names the user behind a numeric id.
_UNIVERSAL_DATA_RE = re.compile(
    r'<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">(.*?)</script>',
    re.DOTALL,
)


class LogLevel(enum.IntEnum):
    """TikTokLive's ``LogLevel`` (``client.logger.setLevel(LogLevel.INFO.value)``)."""

    CRITICAL = logging.CRITICAL
    ERROR = logging.ERROR
    WARNING = logging.WARNING
    INFO = logging.INFO
    DEBUG = logging.DEBUG
    NOTSET = logging.NOTSET


class TikTokLiveClient(_Client):
    """TikTokLive's ``TikTokLiveClient(unique_id, platform, web_proxy, ws_proxy, web_kwargs,
    ws_kwargs, is_user_id)``; any fastlive keyword (``settings=``, ``room_id=``...) also works.

    ``platform`` is accepted and ignored (fastlive signs for the web platform).
    ``is_user_id=True``: a numeric ``unique_id`` is the user's numeric id; ``start()``
    and ``is_live()`` first look up the @handle from the user's profile page.
    """

    def __init__(
        self,
        unique_id: str | int,
        platform: Any = None,
        web_proxy: str | httpx.Proxy | None = None,
        ws_proxy: str | httpx.Proxy | None = None,
        web_kwargs: dict[str, Any] | None = None,
        ws_kwargs: dict[str, Any] | None = None,
        is_user_id: bool | None = False,
        **kwargs: Any,
    ) -> None:
        web_kwargs = dict(web_kwargs or {})
        web_proxy = web_proxy or web_kwargs.pop("web_proxy", None)
        dropped = sorted(k for k in web_kwargs if k not in _WEB_KEYS)
        if dropped:
            logger.warning("web_kwargs ignored by fastlive: %s", ", ".join(dropped))
        super().__init__(
            unique_id,
            web_proxy=web_proxy,
            ws_proxy=ws_proxy,
            web_kwargs={k: v for k, v in web_kwargs.items() if k in _WEB_KEYS},
            ws_kwargs=ws_kwargs,
            **kwargs,
        )
        self._is_user_id = bool(is_user_id)
        self._batch: Batch | None = None  # the fetch result of the frame being delivered
        self._tapping = False

    @classmethod
    def parse_unique_id(cls, unique_id: str | int) -> str:
        """TikTokLive's helper: ``@name`` or a live URL to ``name``."""
        return normalize_unique_id(str(unique_id))

    # -- is_user_id ------------------------------------------------------------------------

    async def start(self, **kwargs: Any) -> asyncio.Task[None]:
        """``start()``, after looking up the @handle of a numeric id (``is_user_id=True``)."""
        self._unique_id = await self._resolve_user_id(self._unique_id)
        return await super().start(**kwargs)

    async def is_live(self, unique_id: str | None = None) -> bool:
        """Whether ``unique_id`` (a numeric id with ``is_user_id=True``) or the host is live."""
        if unique_id is None:
            self._unique_id = await self._resolve_user_id(self._unique_id)
        else:
            unique_id = await self._resolve_user_id(unique_id)
        return await super().is_live(unique_id)

    async def _resolve_user_id(self, unique_id: str | int) -> str:
        """The @handle for ``unique_id``: looked up when it is a numeric user id."""
        parsed = self.parse_unique_id(unique_id)
        if not (self._is_user_id and parsed.isdigit()):
            return parsed
        return await self._fetch_unique_id(int(parsed))

    async def _fetch_unique_id(self, user_id: int) -> str:
        """The handle of ``user_id`` from its profile page, as TikTokLive reads it.

        Raises:
            UserNotFoundError: the page names no user.
            WebError: TikTok could not be reached, or answered a page without its state.
        """
        url = f"{self.settings.web_url}/@{user_id}"
        web = self.web
        try:
            response = await web.http.get(url, headers={"User-Agent": web.user_agent})
        except httpx.HTTPError:  # not chained: the request holds the headers
            raise WebError(
                f"Could not reach {safe_url(url)} to look up user id {user_id}: "
                "check your network connection and proxy settings"
            ) from None
        if not 200 <= response.status_code < 300:
            raise WebError(
                f"TikTok answered HTTP {response.status_code} for the profile of user id "
                f"{user_id}: try again later, or pass the @handle",
                status=response.status_code,
            )
        match = _UNIVERSAL_DATA_RE.search(response.text)
        try:
            state = json.loads(match.group(1)) if match else None
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise WebError(
                f"The profile page of user id {user_id} has no readable user data "
                "(a captcha or a block page?): try later, through a proxy, or pass the @handle"
            )
        user: Any = state.get("__DEFAULT_SCOPE__", {})
        for key in ("webapp.user-detail", "userInfo", "user"):
            user = user.get(key) if isinstance(user, dict) else None
        handle = user.get("uniqueId") if isinstance(user, dict) else None
        if not handle or not isinstance(handle, str):
            raise UserNotFoundError(str(user_id), f"TikTok has no user with the id {user_id}")
        return handle

    # -- WebsocketResponseEvent ------------------------------------------------------------

    def add_listener(self, event: type, f: Any) -> Any:
        """Register ``f`` for ``event``; ``WebsocketResponseEvent`` handlers get one per
        message, with the fetch result it came in (``event.raw``)."""
        handler = super().add_listener(event, f)
        if issubclass(event, WebsocketResponseEvent) and not self._tapping:
            self._tapping = True
            self.add_frame_listener(self._keep_batch)
        return handler

    def _keep_batch(self, kind: int, data: bytes, _at: int) -> None:
        """Decode each raw fetch result while someone listens to ``WebsocketResponseEvent``."""
        if kind not in (FRAME, FETCH):
            return
        if not self._dispatcher.handlers.route(WebsocketResponseEvent):
            self._batch = None
            return
        try:
            if kind == FRAME:
                self._batch = decode(data, max_inflated_size=self.settings.max_inflated_size)
            else:
                self._batch = decode_fetch_result(data)
        except DecodeError:
            self._batch = None

    async def _deliver(self, events: list[Any]) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            await super()._deliver(events)
            return
        for event in events:
            if isinstance(event, BaseEvent):
                await self._dispatcher.dispatch(WebsocketResponseEvent(raw=batch))
            await super()._deliver([event])
