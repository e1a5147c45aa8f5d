"""``fastlive live @a @b ...``: who is live now."""

from __future__ import annotations

import argparse
import json
from typing import Any

from fastlive._aio import run
from fastlive.cli.common import add_endpoint_options, room_arg, tiktok_web
from fastlive.exceptions import FastLiveError, UserOfflineError

__all__ = ["add_parser", "cmd_live"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("live", help="check who is live")
    p.add_argument("rooms", nargs="+", metavar="ROOM", help="@handles or room ids")
    p.add_argument("--json", action="store_true", help="one JSON object per room")
    add_endpoint_options(p)
    p.set_defaults(func=cmd_live)


def cmd_live(args: argparse.Namespace) -> int:
    return run(_live(args))


async def _live(args: argparse.Namespace) -> int:

    async with tiktok_web(args) as web:
        rooms = [room_arg(r) for r in args.rooms]
        ids: dict[str, int | None] = {}
        errors: dict[str, str] = {}
        for room in rooms:
            key = str(room) if isinstance(room, int) else f"@{room.lstrip('@')}"
            if isinstance(room, int):
                ids[key] = room
                continue
            try:
                ids[key] = await web.fetch_room_id(room)
            except UserOfflineError:
                ids[key] = None
            except FastLiveError as exc:
                ids[key] = None
                errors[key] = str(exc)
        known = [r for r in ids.values() if r is not None]
        alive = dict(zip(known, await web.fetch_is_live_many(known))) if known else {}
    for key, room_id in ids.items():
        live = bool(room_id and alive.get(room_id))
        if args.json:
            row = {"room": key, "room_id": room_id, "live": live, "error": errors.get(key)}
            print(json.dumps(row))
        else:
            what = "live" if live else ("error: " + errors[key] if key in errors else "offline")
            print(f"{key:<28} {what:<8} {room_id or ''}".rstrip())
    return 0 if not errors else 1
