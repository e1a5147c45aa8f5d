"""``fastlive demo``: ``watch`` over made-up rooms of a local fake TikTok (no network).

It imports ``fastlive.testing`` inside its functions only, as ``serve`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fastlive._aio import run
from fastlive._config import CONNECT_MODES
from fastlive.cli.common import parse_duration, stop_event
from fastlive.exceptions import FastLiveError

__all__ = ["DEMO_ROOM_BASE", "add_parser", "cmd_demo"]

DEMO_ROOM_BASE = 7_490_000_000_000_000_001


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="watch made-up rooms of a local fake TikTok (no network)")
    p.add_argument("--rooms", type=int, default=3, help="how many rooms (3)")
    p.add_argument("--frames", type=int, default=20, help="frames per room (20)")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between frames (0.1)")
    p.add_argument("--connect", choices=CONNECT_MODES, default="auto", help="connection mode")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("--no-color", action="store_true", help="no colours (also NO_COLOR)")
    p.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="record the raw frames to DIR/demo.hostN.flrec (replacing an earlier demo's), "
        "for fastlive replay",
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="keep the fake running (rooms with video) and print the environment that points "
        "other fastlive commands at it",
    )
    p.add_argument("--duration", type=parse_duration, help="--serve: stop after this long")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    if args.record and args.serve:
        raise FastLiveError("--record records the demo's watch: it does not go with --serve")
    return run(_demo(args))


async def _demo(args: argparse.Namespace) -> int:
    from fastlive.cli.serve import fake_env
    from fastlive.cli.watch import watch, watch_args
    from fastlive.testing import FakeTikTok, random_traffic
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        handles = []
        for i in range(args.rooms):
            room_id = DEMO_ROOM_BASE + i
            handle = f"demo.host{i + 1}"
            frames = list(random_traffic(seed=i + 1, n_frames=args.frames, room_id=room_id))
            # rooms end at different times: each sends its frames at its own pace
            fake.add_room(
                handle,
                room_id=room_id,
                frames=frames,
                interval=args.interval * (1 + i / 2),
                ends=not args.serve,
                # served rooms stream an endless video in real time: 25 fps, 3 tags a frame
                video=GeneratedFLV(media_tags=None) if args.serve else None,
                video_options={"rate": 75} if args.serve else None,
            )
            handles.append(f"@{handle}")
        if args.serve:
            print(f"# {len(handles)} made-up rooms with video: {' '.join(handles)}", flush=True)
            print(fake_env(fake), flush=True)
            await stop_event(args.duration).wait()
            return 0
        argv = [
            *handles,
            "--once",
            "--web-url",
            fake.web_url,
            "--webcast-url",
            fake.webcast_url,
            "--sign-api-url",
            fake.sign_api_url,
            "--ws-url",
            fake.ws_url,
            "--connect",
            args.connect,
            "--web-rate",
            "0",  # the fake has no WAF: nothing to pace
        ]
        if args.jsonl:
            argv.append("--jsonl")
        if args.no_color:
            argv.append("--no-color")
        recordings = []
        if args.record:
            argv += ["--record", str(args.record)]
            # the Monitor appends to a room's recording: start from an empty one
            recordings = [args.record / f"{h.lstrip('@')}.flrec" for h in handles]
            for path in recordings:
                path.unlink(missing_ok=True)
        print(
            f"fastlive demo: {args.rooms} made-up rooms on a local fake TikTok at "
            f"{fake.web_url} ({args.connect} connections)",
            file=sys.stderr,
        )
        code = await watch(watch_args(argv))
    made = [str(p) for p in recordings if p.is_file()]
    if made:
        print(
            f"fastlive demo: recorded {', '.join(made)}; replay one with: fastlive replay {made[0]}",
            file=sys.stderr,
        )
    return code
