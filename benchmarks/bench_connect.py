"""Connecting: time to first event and CPU per connect, direct vs signed, against FakeTikTok.

``--rooms`` rooms (300) each hold one comment.  For each mode, ``TikTokLiveClient``s connect
to every room, sharing one ``httpx.AsyncClient`` (and in direct mode one ``TtwidPool``, as the
Monitor does), and stop at the room's first ``CommentEvent``.  The fake runs in its own process,
so the CPU time measured (``time.process_time()`` of this process) is the clients' only.  The
fake's sign server has no rate limit, so signed connects are not slowed by one.

Two passes per mode: ``concurrent`` starts every room at once (a Monitor's start), and
``sequential`` connects the rooms one after the other (a lone connect's latency).

    python benchmarks/bench_connect.py                  # the published table
    python benchmarks/bench_connect.py --rooms 30 --repeat 1   # a smoke run
    python benchmarks/bench_connect.py --json benchmarks/results/connect.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from typing import Any

import httpx

from fastlive.client import TikTokLiveClient
from fastlive.events import CommentEvent
from fastlive.testing import FakeTikTok, chat
from fastlive.web.ttwid import TtwidMinter, TtwidPool

__all__ = ["environment", "main", "run_mode"]

FIRST_ROOM = 7_400_000_000_000_100_000
MODES = ("direct", "signed")


def _serve(rooms: int, conn: Any) -> None:
    """The fake TikTok, in a child process: reports its port, runs until told to stop."""

    async def serve() -> None:
        async with FakeTikTok() as fake:
            for i in range(rooms):
                room_id = FIRST_ROOM + i
                msg = ("WebcastChatMessage", chat(f"hi {i}", msg_id=i + 1, room_id=room_id), i + 1)
                # replay: every connection starts at the first frame, so each pass sees it
                fake.add_room(f"room{i}", room_id=room_id, frames=[[msg]], replay=True)
            conn.send(fake.port)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, conn.recv)  # any message: stop
            conn.send(time.process_time())

    asyncio.run(serve())


async def _connect_one(
    handle: str, settings: Any, mode: str, http: httpx.AsyncClient, pool: TtwidPool | None
) -> float:
    """Seconds from ``start()`` to the room's first comment."""
    client = TikTokLiveClient(handle, settings=settings, connect=mode, http=http, ttwid_pool=pool)
    first = asyncio.get_running_loop().create_future()
    client.on(CommentEvent)(lambda e: first.done() or first.set_result(time.perf_counter()))
    started = time.perf_counter()
    await client.start()
    try:
        return await asyncio.wait_for(first, 30) - started
    finally:
        await client.disconnect()
        await client.aclose()


async def run_mode(port: int, rooms: int, mode: str, concurrent: bool) -> dict[str, Any]:
    """Connect every room in ``mode``; times to first event, wall and CPU time."""
    base = f"http://127.0.0.1:{port}"
    settings = FakeTikTok().settings()  # the URL fields are replaced below
    settings = type(settings)(
        web_url=base,
        webcast_url=base,
        sign_api_url=base,
        ws_url=f"ws://127.0.0.1:{port}",
        http_timeout=30.0,
        ws_connect_timeout=30.0,
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        minter = TtwidMinter(settings)
        pool = TtwidPool(settings.ttwid_share_cap, minter) if mode == "direct" else None
        handles = [f"room{i}" for i in range(rooms)]
        cpu, wall = time.process_time(), time.perf_counter()
        if concurrent:
            times = await asyncio.gather(
                *(_connect_one(h, settings, mode, http, pool) for h in handles)
            )
        else:
            times = [await _connect_one(h, settings, mode, http, pool) for h in handles]
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await minter.aclose()
    ordered = sorted(times)
    return {
        "mode": mode,
        "pass": "concurrent" if concurrent else "sequential",
        "rooms": rooms,
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": ordered[max(0, int(len(ordered) * 0.95) - 1)] * 1000,
        "wall_s": wall,
        "cpu_ms_per_connect": cpu / rooms * 1000,
        "mints": minter.mints,
        "impersonating": minter.impersonating,
    }


def environment() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {n: version(n) for n in ("websockets", "httpx", "curl_cffi", "uvloop")},
    }


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| mode | pass | rooms | first event, median | p95 | wall | client CPU per connect |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['mode']} | {r['pass']} | {r['rooms']} | {r['median_ms']:.1f} ms "
            f"| {r['p95_ms']:.1f} ms | {r['wall_s']:.2f} s | {r['cpu_ms_per_connect']:.2f} ms |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is kept")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    env = environment()
    print(f"Python   {env['python']} on {env['platform']}, {env['cpus']} CPUs")
    print("versions " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(args.rooms, child), daemon=True)
    server.start()
    port = parent.recv()
    results: list[dict[str, Any]] = []
    try:
        for concurrent in (True, False):
            for mode in MODES:
                runs = [
                    asyncio.run(run_mode(port, args.rooms, mode, concurrent))
                    for _ in range(args.repeat)
                ]
                runs.sort(key=lambda r: r["median_ms"])
                best = runs[len(runs) // 2]
                results.append(best)
                print(
                    f"{mode:7} {best['pass']:10} median {best['median_ms']:7.1f} ms  "
                    f"cpu/connect {best['cpu_ms_per_connect']:.2f} ms  "
                    f"(mints {best['mints']}, impersonating {best['impersonating']})",
                    flush=True,
                )
    finally:
        parent.send("stop")
        parent.recv()
        server.join(5)
    print()
    print(_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": results}, f, indent=2)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
