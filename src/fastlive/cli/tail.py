"""``fastlive tail --nats URL [@room] [--type GiftEvent]``: the fleet's events, as
``watch --jsonl`` prints them (one schema record per line)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fastlive._aio import run

__all__ = ["add_parser", "cmd_tail"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("tail", help="print the fleet's events from the stream (NATS)")
    p.add_argument("room", nargs="?", help="only this @handle or room id")
    p.add_argument("--nats", required=True, metavar="URL", help="the NATS server (nats://...)")
    p.add_argument("--type", dest="types", action="append", metavar="TYPE", help="GiftEvent...")
    p.add_argument("--all", action="store_true", help="from the stream's start, not from now")
    p.add_argument("--count", type=int, metavar="N", help="exit after N events")
    p.set_defaults(func=cmd_tail)


def cmd_tail(args: argparse.Namespace) -> int:
    return run(tail(args))


def _subjects(room: str | None, types: list[str] | None) -> list[str]:
    """Stream subjects to read: a room id and types narrow the subject; a handle is
    matched on the record (subjects carry room ids)."""
    rid = room if room is not None and room.isdigit() else "*"
    return [f"fastlive.events.{rid}.{t}" for t in types] if types else [f"fastlive.events.{rid}.>"]


async def tail(args: argparse.Namespace) -> int:
    """Print records until Ctrl-C (or ``--count``)."""
    import contextlib

    import msgspec
    from nats.js.api import DeliverPolicy

    from fastlive.cli.common import stop_event
    from fastlive.fleet import connect

    handle = None
    if args.room and not args.room.isdigit():
        handle = "@" + args.room.lstrip("@").lower()
    nc = await connect(args.nats)
    js = nc.jetstream()
    out = sys.stdout
    seen = [0]
    stop = stop_event(None)
    decode = msgspec.json.Decoder().decode

    async def on_msg(msg: Any) -> None:
        if stop.is_set():
            return
        if handle is not None and decode(msg.data).get("room", "").lower() != handle:
            return
        out.write(msg.data.decode() + "\n")
        out.flush()
        seen[0] += 1
        if args.count and seen[0] >= args.count:
            stop.set()

    policy = DeliverPolicy.ALL if args.all else DeliverPolicy.NEW
    subs = []
    try:
        for subject in _subjects(args.room, args.types):
            subs.append(
                await js.subscribe(subject, cb=on_msg, ordered_consumer=True, deliver_policy=policy)
            )
        await stop.wait()
    finally:
        for sub in subs:
            with contextlib.suppress(Exception):  # the server may be gone already
                await sub.unsubscribe()
        await nc.close()
    return 0
