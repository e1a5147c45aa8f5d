"""``fastlive video @a``: record the live video (FLV; ``--mp4`` with ffmpeg)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

from fastlive._aio import run
from fastlive.cli.common import add_endpoint_options, parse_duration, room_arg, settings
from fastlive.exceptions import FastLiveError

__all__ = ["add_parser", "cmd_video"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("video", help="record a room's live video")
    p.add_argument("room", metavar="ROOM", help="@handle or room id")
    p.add_argument(
        "--quality",
        help="origin, uhd, hd, sd, ld, best or worst (default: hd, or the nearest offered)",
    )
    p.add_argument("--duration", type=parse_duration, help="stop after this long (10m, 1h)")
    p.add_argument("-o", "--output", help="file name (default HANDLE-DATE.flv)")
    p.add_argument("--mp4", action="store_true", help="remux to MP4 at the end (ffmpeg)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    add_endpoint_options(p)
    p.set_defaults(func=cmd_video)


def cmd_video(args: argparse.Namespace) -> int:
    return run(_video(args))


async def _video(args: argparse.Namespace) -> int:
    from fastlive.exceptions import StreamQualityError, StreamUnavailableError
    from fastlive.record.remux import remux_to_mp4
    from fastlive.record.room_video import progress_line, record_room_video
    from fastlive.web import TikTokWeb

    room = room_arg(args.room)
    name = str(room).lstrip("@")
    path = Path(args.output or f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.flv")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()  # Ctrl-C ends the file cleanly; --duration is the recorder's own
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    tty = sys.stderr.isatty()

    def progress(stats: Any) -> None:
        line = progress_line(stats)
        sys.stderr.write(("\r\033[K" + line) if tty else line + "\n")
        sys.stderr.flush()

    async with TikTokWeb(settings(args)) as web:
        room_id = room if isinstance(room, int) else await web.fetch_room_id(room)
        try:
            stats = await record_room_video(
                web.http,
                lambda: web.fetch_room_info(room_id),
                path,
                quality=args.quality or "hd",
                fallback=args.quality is None,  # a quality asked for by name is a must
                duration=args.duration,
                stop=stop,
                on_progress=progress,
                overwrite=args.force,
            )
        except StreamQualityError as exc:
            raise FastLiveError(f"{exc}: pass one of them to --quality") from None
        except StreamUnavailableError as exc:
            if "offline" not in str(exc):
                raise
            raise FastLiveError(
                f"{exc}; run 'fastlive live {args.room}' to see when it is live"
            ) from None
    if tty:
        sys.stderr.write("\n")
    paths = [str(p) for p in stats.paths]
    print(f"recorded {', '.join(paths)}: {progress_line(stats)}", file=sys.stderr)
    if args.mp4:
        out = await remux_to_mp4(stats.paths, path.with_suffix(".mp4"))
        print(f"remuxed to {out}", file=sys.stderr)
    return 0
