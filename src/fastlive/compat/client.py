"""``TikTokLiveClient`` with TikTokLive 7's constructor (``TikTokLive.client.client``).

The fastlive client already speaks TikTokLive's API (``on``, ``add_listener``,
``start``, ``connect``, ``run``, ``disconnect``, ``is_live``, ``room_id``,
``web``...); this subclass only accepts TikTokLive's positional constructor
arguments and its ``web_kwargs`` shape.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

import httpx

from fastlive.client import TikTokLiveClient as _Client

__all__ = ["LogLevel", "TikTokLiveClient"]

logger = logging.getLogger("fastlive.compat")

# TikTokWeb keywords that TikTokLive's web_kwargs may carry; the rest were httpx options.
_WEB_KEYS = ("headers", "params", "cookies")


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

    ``platform`` is accepted and ignored (fastlive signs for the web platform);
    ``is_user_id=True`` is not supported (pass the @handle).
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
        if is_user_id:
            raise NotImplementedError("is_user_id=True is not supported: pass the @handle")
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

    @classmethod
    def parse_unique_id(cls, unique_id: str | int) -> str:
        """TikTokLive's helper: ``@name`` or a live URL to ``name``."""
        from fastlive.web import normalize_unique_id

        return normalize_unique_id(str(unique_id))
