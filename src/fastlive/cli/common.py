"""What the commands share: argument types, the endpoint options, settings, the stop signal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
from typing import TYPE_CHECKING

from fastlive._config import Settings

if TYPE_CHECKING:
    from fastlive.web import TikTokWeb

__all__ = [
    "add_endpoint_options",
    "parse_duration",
    "parse_shard",
    "room_arg",
    "settings",
    "stop_event",
    "tiktok_web",
]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``10m`` or ``1.5h``."""
    match = _DURATION_RE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use 90, 90s, 10m or 1h")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1-based) to ``(K, N)``."""
    k, sep, n = text.partition("/")
    try:
        shard, total = int(k), int(n)
    except ValueError:
        shard = total = 0
    if not sep or total < 1 or not 1 <= shard <= total:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shard: use K/N with 1 <= K <= N")
    return shard, total


def room_arg(text: str) -> str | int:
    """A room id (digits, 6 or more) or a handle."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) >= 6 else text


def add_endpoint_options(p: argparse.ArgumentParser) -> None:
    """``--web-url``, ``--webcast-url``, ``--sign-api-url``: every base URL has a flag."""
    g = p.add_argument_group(
        "endpoints (also FASTLIVE_WEB_URL, FASTLIVE_WEBCAST_URL, SIGN_API_URL)"
    )
    g.add_argument("--web-url", help="TikTok's web site (https://www.tiktok.com)")
    g.add_argument("--webcast-url", help="TikTok's webcast API (https://webcast.tiktok.com)")
    g.add_argument("--sign-api-url", help="the sign server (SIGN_API_URL); key: SIGN_API_KEY")
    r = p.add_argument_group("request pacing (also FASTLIVE_WEB_RATE, FASTLIVE_SIGN_RATE)")
    r.add_argument(
        "--web-rate",
        type=_per_minute,
        metavar="N",
        help="TikTok web requests per minute from this address (default 20; 0: unlimited); "
        "TikTok's WAF blocks an address near 30/min",
    )
    r.add_argument(
        "--web-burst",
        type=_positive_int,
        metavar="N",
        help="web requests allowed back to back (default 10)",
    )
    r.add_argument(
        "--sign-rate",
        type=_per_minute,
        metavar="N",
        help="sign-server fetches per minute for your plan (0: unpaced; default: what the "
        "server advertises, else 60)",
    )


def _per_minute(text: str) -> float:
    """A rate per minute: a number, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # nan included
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate: use requests per minute, >= 0")
    return value


def _positive_int(text: str) -> int:
    """A whole number, 1 or more."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def settings(args: argparse.Namespace) -> Settings:
    """The environment's settings, overridden by the flags that were given."""
    return Settings.from_env(
        web_url=getattr(args, "web_url", None),
        webcast_url=getattr(args, "webcast_url", None),
        sign_api_url=getattr(args, "sign_api_url", None),
        connect=getattr(args, "connect", None),
        ws_url=getattr(args, "ws_url", None),
        web_rate=getattr(args, "web_rate", None),
        web_burst=getattr(args, "web_burst", None),
        sign_rate=getattr(args, "sign_rate", None),
    )


def tiktok_web(args: argparse.Namespace) -> TikTokWeb:
    """A ``TikTokWeb`` for the flags, drawing every request from one budget (``--web-rate``)."""
    from fastlive.web import TikTokWeb
    from fastlive.web.budget import WebBudget

    s = settings(args)
    return TikTokWeb(s, budget=WebBudget.from_settings(s))


def stop_event(duration: float | None) -> asyncio.Event:
    """Set on Ctrl-C, SIGTERM, or after ``duration`` seconds (call it in the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration:
        loop.call_later(duration, stop.set)
    return stop
