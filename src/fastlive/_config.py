"""Defaults and settings: every base URL and every limit in one place.

The live endpoints are the defaults; each can be changed by a constructor
argument or an environment variable, so the same code runs against TikTok
and against ``fastlive.testing`` on loopback (``http://`` and ``ws://`` work).
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

__all__ = ["Settings"]

DEFAULT_WEB_URL = "https://www.tiktok.com"
DEFAULT_WEBCAST_URL = "https://webcast.tiktok.com"
DEFAULT_SIGN_API_URL = "https://api.eulerstream.com"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/147.0.0.0 Safari/537.36"
)
DEFAULT_HTTP_TIMEOUT = 10.0
DEFAULT_WS_CONNECT_TIMEOUT = 20.0
DEFAULT_HEARTBEAT_INTERVAL = 10.0
DEFAULT_STALL_TIMEOUT = 60.0
DEFAULT_RECONNECT_ATTEMPTS = 10
DEFAULT_BACKOFF_INITIAL = 1.0
DEFAULT_BACKOFF_MAX = 60.0
DEFAULT_BACKOFF_FACTOR = 2.0
DEFAULT_MAX_INFLATED_SIZE = 16 * 1024 * 1024
DEFAULT_DEDUP_WINDOW = 4096

# Environment variable for each setting that has one.
ENVIRONMENT = {
    "web_url": "FASTLIVE_WEB_URL",
    "webcast_url": "FASTLIVE_WEBCAST_URL",
    "sign_api_url": "SIGN_API_URL",
    "sign_api_key": "SIGN_API_KEY",
}


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Where fastlive connects and how hard it tries.

    Build with ``Settings.from_env(**overrides)``: explicit arguments win over
    environment variables, which win over the defaults.
    """

    web_url: str = DEFAULT_WEB_URL
    webcast_url: str = DEFAULT_WEBCAST_URL
    sign_api_url: str = DEFAULT_SIGN_API_URL
    sign_api_key: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    http_timeout: float = DEFAULT_HTTP_TIMEOUT
    ws_connect_timeout: float = DEFAULT_WS_CONNECT_TIMEOUT
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    stall_timeout: float = DEFAULT_STALL_TIMEOUT
    reconnect: bool = True
    reconnect_attempts: int = DEFAULT_RECONNECT_ATTEMPTS
    backoff_initial: float = DEFAULT_BACKOFF_INITIAL
    backoff_max: float = DEFAULT_BACKOFF_MAX
    backoff_factor: float = DEFAULT_BACKOFF_FACTOR
    max_inflated_size: int = DEFAULT_MAX_INFLATED_SIZE
    dedup_window: int = DEFAULT_DEDUP_WINDOW

    def __repr__(self) -> str:  # never show the API key
        key = "set" if self.sign_api_key else None
        return f"Settings(web_url={self.web_url!r}, webcast_url={self.webcast_url!r}, " \
            f"sign_api_url={self.sign_api_url!r}, sign_api_key={key!r})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``os.environ`` (or ``env``), then ``overrides`` that are not None."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, var in ENVIRONMENT.items():
            if env.get(var):
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("web_url", "webcast_url", "sign_api_url"):
            if name in values:
                values[name] = values[name].rstrip("/")
        return cls(**values)
