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

# The direct connection without a sign server (protocol.md §2.8).
CONNECT_MODES = ("auto", "direct", "signed")
"""``connect`` values: ``auto`` (direct first, signed when direct is refused), or one only."""
DEFAULT_CONNECT = "auto"
WS_HOSTS = {
    "default": "wss://webcast-ws.tiktok.com",
    "eu": "wss://webcast-ws.eu.tiktok.com",
    "us": "wss://webcast-ws.us.tiktok.com",
}
"""Named direct websocket hosts; ``ws_url`` accepts a name or a URL."""
DEFAULT_WS_URL = WS_HOSTS["default"]
DEFAULT_TTWID_ATTEMPTS = 8
"""Rounds of profile-page GETs before a ``ttwid`` mint counts as failed (§2.8.2)."""
DEFAULT_TTWID_RETRY_DELAY = 0.75
DEFAULT_TTWID_SHARE_CAP = 4
"""Rooms that may share one ``ttwid``: a block then re-mints for at most this many."""
DEFAULT_DIRECT_COOLDOWN = 300.0
"""Seconds in signed mode, after ``auto`` left direct, before direct is tried again."""
DEFAULT_HEALTHY_SESSION = 30.0
"""A direct socket that lived this long (from the handshake start) was healthy."""
DEFAULT_DEVICE_BLOCKED_DELAY = 2.0
DEFAULT_DIRECT_MAX_RETRIES = 5
"""Failed direct attempts in a row before giving up (0: never reconnect)."""

# The client (``fastlive.client``).
DEFAULT_EVENT_QUEUE = 1024
"""Events buffered per ``events()`` iterator, and calls queued for async handlers, per client."""
OVERFLOW_POLICIES = ("block", "drop_oldest")
"""What a full event queue does: make the room wait, or drop (and count) the oldest event."""
DEFAULT_CLOSE_TIMEOUT = 2.0
"""Longest wait for TikTok's answer to our close frame (it often sends none)."""

# The Monitor (``fastlive.monitor``).
DEFAULT_MONITOR_QUEUE = 10_000
"""Items (room, event) buffered per ``Monitor.events()`` stream."""
DEFAULT_POLL_INTERVAL = 30.0
"""Seconds between two live checks of the waiting rooms."""
DEFAULT_RESOLVE_INTERVAL = 300.0
"""Seconds between two room id look-ups of a waiting @handle."""
DEFAULT_WEB_CONCURRENCY = 8
"""Web API requests (room id look-ups) in flight at once, for all rooms of a Monitor."""
DEFAULT_POLL_COALESCE = 0.25
"""After a room starts waiting, the live check waits this long (at most) for others."""
DEFAULT_BACKOFF_JITTER = 0.5
"""Each Monitor backoff delay is scaled by a random factor in ``[1 - j, 1 + j]``."""

# The shared sign-server limiter (``fastlive.monitor.limits``).
DEFAULT_SIGN_RATE = 1.0
"""Sign-server fetches per second, on average, when nothing else is configured."""
DEFAULT_SIGN_BURST = 5
"""Fetches allowed back to back before the rate applies."""
DEFAULT_SIGN_JITTER = 0.1
"""Random extra wait, as a fraction of one interval (1 / rate)."""
DEFAULT_SIGN_MAX_BLOCK = 3600.0
"""A 429 closes the gate for at most this many seconds (a bad reset header is capped)."""
DEFAULT_SIGN_RETRY_AFTER = 60.0
"""Seconds to wait after a sign server's 429 that says nothing about when to retry."""

# The web budget of one egress (``fastlive.web.budget``): TikTok's WAF blocks an address
# that asks too much.  Reports in the recorder projects' trackers (2025-2026, issue 11):
# 19 rooms checked every 5 s work and 20 trip it; 30+ rooms polled faster than every
# 5 minutes are blocked; a block lasts 5 to 30 minutes and requests during it prolong it.
DEFAULT_WEB_RATE = 20.0
"""Web requests per minute per egress, sustained: well under the ~30/min that gets blocked."""
DEFAULT_WEB_BURST = 10
"""Web requests an idle egress may send back to back (the WAF tolerates short bursts)."""
DEFAULT_WAF_COOLDOWN = 300.0
"""Seconds an egress sends nothing after a WAF block (a block lasts 5 minutes or more)."""
DEFAULT_WAF_MAX_COOLDOWN = 4 * 3600.0
"""The cool-down doubles while blocks repeat, up to this."""
DEFAULT_WAF_JITTER = 0.2
"""Each cool-down is lengthened by a random fraction in ``[0, j]`` of itself."""

# The video recorder (``fastlive.record.video``).
DEFAULT_VIDEO_STALL_TIMEOUT = 15.0
"""Seconds without a byte before a stream counts as stalled and is reconnected."""
DEFAULT_VIDEO_CONNECT_TIMEOUT = 10.0
DEFAULT_VIDEO_RECONNECT_ATTEMPTS = 5
"""Failed attempts in a row (no tag received) before recording gives up."""
DEFAULT_VIDEO_BACKOFF_INITIAL = 0.5
DEFAULT_VIDEO_BACKOFF_MAX = 8.0
DEFAULT_VIDEO_GAP_TOLERANCE_MS = 250
"""A reconnect that moves the media clock on by more than this counts as a gap."""
DEFAULT_VIDEO_PROGRESS_INTERVAL = 0.5
"""Seconds between two ``on_progress`` reports."""
DEFAULT_VIDEO_BITRATE_WINDOW = 3.0
"""Seconds over which the current bitrate is measured."""
DEFAULT_VIDEO_END_GRACE = 5.0
"""``fastlive watch --video --once``: seconds the videos get to end with their rooms."""

# Environment variable for each setting that has one.
ENVIRONMENT = {
    "web_url": "FASTLIVE_WEB_URL",
    "webcast_url": "FASTLIVE_WEBCAST_URL",
    "sign_api_url": "SIGN_API_URL",
    "sign_api_key": "SIGN_API_KEY",
    "connect": "FASTLIVE_CONNECT",
    "ws_url": "FASTLIVE_WS_URL",
    "sign_rate": "FASTLIVE_SIGN_RATE",
    "web_rate": "FASTLIVE_WEB_RATE",
}


def resolve_ws_url(value: str) -> str:
    """A direct websocket base URL from a preset name (``eu``, ``us``...) or a URL."""
    text = value.strip()
    return WS_HOSTS.get(text.lower(), text).rstrip("/")


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
    connect: str = DEFAULT_CONNECT
    ws_url: str = DEFAULT_WS_URL
    impersonate: bool = True
    """Mint ``ttwid`` through curl_cffi's Chrome impersonation when it is installed."""
    ttwid_attempts: int = DEFAULT_TTWID_ATTEMPTS
    ttwid_retry_delay: float = DEFAULT_TTWID_RETRY_DELAY
    ttwid_share_cap: int = DEFAULT_TTWID_SHARE_CAP
    direct_cooldown: float = DEFAULT_DIRECT_COOLDOWN
    healthy_session: float = DEFAULT_HEALTHY_SESSION
    device_blocked_delay: float = DEFAULT_DEVICE_BLOCKED_DELAY
    direct_max_retries: int = DEFAULT_DIRECT_MAX_RETRIES
    web_rate: float = DEFAULT_WEB_RATE
    """Web requests per minute per egress (``FASTLIVE_WEB_RATE``, ``--web-rate``; 0: unlimited)."""
    web_burst: int = DEFAULT_WEB_BURST
    waf_cooldown: float = DEFAULT_WAF_COOLDOWN
    """Seconds an egress waits after a WAF block before it asks again (doubles on repeats)."""
    sign_rate: float | None = None
    """Sign-server fetches per minute for a known plan (``FASTLIVE_SIGN_RATE``,
    ``--sign-rate``); 0: unpaced; None: what the server advertises, else the default."""
    sign_api_url_chosen: bool = False
    """``sign_api_url`` was chosen (``SIGN_API_URL``, or given to ``from_env``), even
    if it is the default URL: ``auto`` may then switch to the sign server."""

    def __post_init__(self) -> None:
        if self.connect not in CONNECT_MODES:
            raise ValueError(
                f"connect={self.connect!r} is not a connection mode: use one of "
                f"{', '.join(CONNECT_MODES)} (or FASTLIVE_CONNECT)"
            )

    def __repr__(self) -> str:  # never show the API key
        key = "set" if self.sign_api_key else None
        return (
            f"Settings(web_url={self.web_url!r}, webcast_url={self.webcast_url!r}, "
            f"sign_api_url={self.sign_api_url!r}, sign_api_key={key!r})"
        )

    @property
    def signer_configured(self) -> bool:
        """A sign server was set up on purpose: an API key, or a chosen or non-default URL."""
        return (
            bool(self.sign_api_key)
            or self.sign_api_url_chosen
            or self.sign_api_url != DEFAULT_SIGN_API_URL
        )

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
        if "connect" in values:
            mode = values["connect"]
            values["connect"] = str(getattr(mode, "value", mode)).strip().lower()
        if "ws_url" in values:
            values["ws_url"] = resolve_ws_url(values["ws_url"])
        for name in ("sign_rate", "web_rate"):
            if isinstance(values.get(name), str):
                try:
                    values[name] = float(values[name])
                except ValueError:
                    raise ValueError(
                        f"{ENVIRONMENT[name]}={values[name]!r} is not a number of requests "
                        "per minute (0 for no limit)"
                    ) from None
        if "sign_api_url" in values:
            values.setdefault("sign_api_url_chosen", True)
        return cls(**values)
