"""``fastlive rooms add|remove|list --nats URL @a @b ...``: the fleet's wanted set."""

from __future__ import annotations

import argparse
from typing import Any

from fastlive._aio import run
from fastlive.cli.common import room_arg

__all__ = ["add_parser", "cmd_rooms"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("rooms", help="the rooms a fleet of workers watches (NATS)")
    actions = p.add_subparsers(dest="action", required=True)
    for action, text in (
        ("add", "add rooms to the wanted set"),
        ("remove", "remove rooms: their owners stop them"),
        ("list", "each room's owner, state, mode and events"),
    ):
        a = actions.add_parser(action, help=text)
        if action != "list":
            a.add_argument("rooms", nargs="+", metavar="ROOM", help="@handles or room ids")
        a.add_argument("--nats", required=True, metavar="URL", help="the NATS server (nats://...)")
        a.set_defaults(func=cmd_rooms, rooms=[] if action == "list" else None)


def cmd_rooms(args: argparse.Namespace) -> int:
    return run(rooms(args))


async def rooms(args: argparse.Namespace) -> int:
    """Edit or show the wanted set; ``list`` shows each room's owner, state, mode and count."""
    from fastlive.fleet import add_rooms, connect, list_rooms, remove_rooms

    nc = await connect(args.nats)
    try:
        js = nc.jetstream()
        names = [room_arg(r) for r in args.rooms]
        if args.action == "add":
            for name in await add_rooms(js, names):
                print(f"added {name}")
        elif args.action == "remove":
            for name in await remove_rooms(js, names):
                print(f"removed {name}")
        else:
            entries = await list_rooms(js)
            width = max([len(e.room) for e in entries] + [4])
            print(f"{'room':<{width}}  {'owner':<16} {'state':<10} {'mode':<8} events")
            for e in entries:
                print(
                    f"{e.room:<{width}}  {e.owner or '-':<16} {e.state or '-':<10} "
                    f"{e.mode or '-':<8} {e.events}"
                )
    finally:
        await nc.close()
    return 0
