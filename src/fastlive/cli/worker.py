"""``fastlive worker --nats URL [--name N] [--capacity 300]``: one worker of a fleet."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fastlive._aio import run
from fastlive.cli.common import add_endpoint_options, settings, stop_event

__all__ = ["add_parser", "cmd_worker"]


def add_parser(sub: Any) -> None:
    from fastlive._config import CONNECT_MODES, DEFAULT_POLL_INTERVAL

    p = sub.add_parser("worker", help="watch a fair share of a fleet's rooms (NATS)")
    p.add_argument("--nats", required=True, metavar="URL", help="the NATS server (nats://...)")
    p.add_argument("--name", help="this worker's name (default: host-pid)")
    p.add_argument("--capacity", type=int, default=300, help="the most rooms it holds (300)")
    p.add_argument(
        "--lease-ttl",
        type=float,
        default=10.0,
        help="seconds a lease lives unrenewed, if this worker creates the bucket (10)",
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        help=f"seconds between live checks of offline rooms ({DEFAULT_POLL_INTERVAL:g})",
    )
    p.add_argument("--connect", choices=CONNECT_MODES, help="connection mode (FASTLIVE_CONNECT)")
    p.add_argument("--ws-url", help="direct websocket host: a URL or eu/us (FASTLIVE_WS_URL)")
    add_endpoint_options(p)
    p.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    return run(worker(args))


async def worker(args: argparse.Namespace) -> int:
    """Run a worker until Ctrl-C or SIGTERM, then release its rooms."""
    from fastlive.fleet import Worker

    if args.capacity < 1:
        raise ValueError("--capacity must be at least 1")
    w = Worker(
        args.nats,
        name=args.name,
        capacity=args.capacity,
        lease_ttl=args.lease_ttl,
        settings=settings(args),
        monitor_kwargs={"poll_interval": args.poll_interval},
    )
    stop = stop_event(None)
    await w.start()
    print(f"fastlive: worker {w.name} started", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await w.aclose()
    s = w.stats
    print(
        f"fastlive: worker {w.name}: {s.taken} taken, {s.released} released, {s.lost} lost, "
        f"{w.sink.stats.acked if w.sink else 0} events published",
        file=sys.stderr,
    )
    return 0
