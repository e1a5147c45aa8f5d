"""A room's video: the FLV URL picked from room info, refreshed when it expires, for a client.

The recorder itself (:class:`VideoRecorder`) knows only URLs; this module finds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from fastlive.record.video import RecordingStats, VideoRecorder
from fastlive.web.streams import parse_stream_urls, pick_stream

if TYPE_CHECKING:
    from fastlive.client import TikTokLiveClient

__all__ = ["progress_line", "record_room_video", "record_video"]


async def record_room_video(
    http: httpx.AsyncClient,
    fetch_room_info: Callable[[], Awaitable[Mapping[str, Any]]],
    path: str | Path,
    *,
    quality: str = "hd",
    fallback: bool = True,
    **options: Any,
) -> RecordingStats:
    """Record a room's video: pick the FLV URL of ``quality``, refresh it from room info.

    This is what :func:`record_video` does for a client; ``options`` go to
    :class:`VideoRecorder` (``duration``, ``stop``, ``headers``, ``on_progress``...).
    A fresh URL keeps the quality first chosen (with :func:`pick_stream`'s fallback);
    ``fallback=False`` makes a quality the room does not offer an error.

    Raises:
        AgeRestrictedError, StreamUnavailableError, StreamQualityError: before
            recording starts; then what :meth:`VideoRecorder.run` raises.
    """
    urls = parse_stream_urls(await fetch_room_info())
    chosen = pick_stream(urls, quality, "flv", fallback=fallback)

    async def refresh() -> str:
        urls = parse_stream_urls(await fetch_room_info())
        return pick_stream(urls, chosen.quality, "flv").url

    recorder = VideoRecorder(chosen, path, http=http, refresh_url=refresh, **options)
    return await recorder.run()


async def record_video(
    client: TikTokLiveClient,
    path: str | Path,
    quality: str = "hd",
    duration: float | None = None,
    **options: Any,
) -> RecordingStats:
    """Record a client's room video (FLV, no ffmpeg needed) until it ends.

    The recording stops at ``duration`` seconds, when the ``stop`` event given in
    ``options`` is set, or at the client's ``LiveEndEvent``; it uses the client's
    HTTP pool and identity.  Other ``options`` go to :class:`VideoRecorder`.

    Raises:
        StreamUnavailableError, StreamQualityError, AgeRestrictedError: before
            recording starts; then what ``VideoRecorder.run`` raises.
    """
    from fastlive.events import LiveEndEvent

    room_id = await client.resolve_room_id()
    stop: asyncio.Event = options.pop("stop", None) or asyncio.Event()

    def on_end(event: LiveEndEvent) -> None:
        stop.set()

    web = client.web
    headers = {"User-Agent": web.user_agent, "Referer": client.settings.web_url + "/"}
    headers.update(options.pop("headers", None) or {})
    client.add_listener(LiveEndEvent, on_end)
    try:
        return await record_room_video(
            web.http,
            lambda: web.fetch_room_info(room_id),
            path,
            quality=quality,
            duration=duration,
            stop=stop,
            headers=headers,
            **options,
        )
    finally:
        client.remove_listener(LiveEndEvent, on_end)


def progress_line(stats: RecordingStats) -> str:
    """One status line for a terminal: elapsed, size, bitrate, segments, gaps."""
    minutes, seconds = divmod(int(stats.elapsed), 60)
    hours, minutes = divmod(minutes, 60)
    line = (
        f"{hours:02d}:{minutes:02d}:{seconds:02d}  {stats.bytes / 2**20:8.1f} MiB  "
        f"{stats.bitrate / 1e6:6.2f} Mbit/s  segments {stats.segments}"
    )
    if stats.gaps:
        line += f"  gaps {stats.gaps} ({stats.gap_ms / 1000:.1f} s lost)"
    return line
