"""``fastlive info @a``: room info and its stream URLs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from fastlive._aio import run
from fastlive.cli.common import add_endpoint_options, room_arg, tiktok_web
from fastlive.exceptions import FastLiveError

__all__ = ["add_parser", "cmd_info"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("info", help="room info and stream URLs")
    p.add_argument("room", metavar="ROOM", help="@handle or room id")
    p.add_argument("--json", action="store_true", help="the raw room info JSON")
    add_endpoint_options(p)
    p.set_defaults(func=cmd_info)


def cmd_info(args: argparse.Namespace) -> int:
    return run(_info(args))


async def _info(args: argparse.Namespace) -> int:
    from fastlive.web.streams import parse_stream_urls

    room = room_arg(args.room)
    async with tiktok_web(args) as web:
        room_id = room if isinstance(room, int) else await web.fetch_room_id(room)
        info = await web.fetch_room_info(room_id)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    owner = info.get("owner") or {}
    status = {2: "live", 3: "paused", 4: "offline"}.get(info.get("status"), info.get("status"))
    print(f"room       {room_id}")
    print(f"host       @{owner.get('display_id', '')} ({owner.get('nickname', '')})")
    print(f"title      {info.get('title', '')}")
    print(f"status     {status}")
    print(f"viewers    {info.get('user_count', '')}")
    try:
        urls = parse_stream_urls(info)
    except FastLiveError as exc:
        print(f"streams    none ({exc})")
        return 0
    print("streams")
    for url in urls:
        rate = f"{url.bitrate / 1e6:.2f} Mbit/s" if url.bitrate else "-"
        print(
            f"  {url.quality:<7} {url.format:<5} {url.resolution or '-':<10} {rate:<13} {url.url}"
        )
    return 0
