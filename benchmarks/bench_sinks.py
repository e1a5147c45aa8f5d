"""Events into a database: CPU per event, commit lag and buffer size at a paced rate.

The feed is in this process, with no network: gzip push frames of the factory's
traffic (``fastlive.testing.random_traffic``: chat, likes, joins, gifts, follows,
viewer counts) are decoded with ``fastlive.decode`` at ``rate`` events per second
and each event is handed to the sink as the Monitor does (``BufferedSink.put``).
Two passes per rate, each measured with ``time.process_time()`` (every thread of
the process, the sink's writer thread included):

- **decode + dispatch**: the same frames decoded and dispatched to a no-op: the
  least a watcher pays per event (a real one also reads the socket: see
  ``bench_rooms.py``'s CPU per event for the whole watcher).
- **with the sink**: the same, into the target; **store** is the difference.

**Lag** is the time from ``put`` to the end of the transaction holding the event.
**Buffered** is the most events held in memory at once (bounded by ``max_buffer``;
beyond it the buffer spills to the local file, counted in **spilled**).

    python benchmarks/bench_sinks.py                         # SQLite, 1,000 and 10,000 ev/s
    python benchmarks/bench_sinks.py --rates 10000 --seconds 5
    python benchmarks/bench_sinks.py --target sqlite --db /tmp/bench.db
    python benchmarks/bench_sinks.py --target postgres            # a throwaway cluster (initdb)
    python benchmarks/bench_sinks.py --target postgres --dsn postgresql://me@localhost/bench

Targets are registered in ``TARGETS`` (name -> a function making the sink from the
arguments), so another database adds one function.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastlive import decode
from fastlive.sinks import BufferedSink, SQLiteSink
from fastlive.testing import fetch_result, push_frame, random_traffic

ROOM_ID = 7_400_000_000_000_500_000


def build_frames(n_events: int, seed: int = 1) -> list[bytes]:
    """Gzip push frames of the factory's traffic, at least ``n_events`` messages in all."""
    frames, total, k = [], 0, 0
    while total < n_events:
        for batch in random_traffic(seed + k, 200, room_id=ROOM_ID):
            frames.append(push_frame(fetch_result(batch), log_id=len(frames) + 1))
            total += len(batch)
            if total >= n_events:
                break
        k += 1
    return frames


class Timed:
    """A sink wrapper that records, for each event, the time from ``put`` to its commit."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.arrived: dict[int, float] = {}
        self.lags: list[float] = []

    async def open(self) -> None:
        await self.sink.open()

    async def write(self, batch: list) -> None:
        await self.sink.write(batch)
        now = time.perf_counter()
        arrived, lags = self.arrived, self.lags
        for item in batch:
            lags.append(now - arrived.pop(id(item[2]), now))

    async def aclose(self) -> None:
        await self.sink.aclose()


def make_sqlite(args: argparse.Namespace, workdir: Path) -> Any:
    path = Path(args.db) if args.db else workdir / "bench.db"
    for suffix in ("", "-wal", "-shm", ".spill"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return SQLiteSink(path)


_CLUSTER: list[Any] = []  # the throwaway PostgreSQL cluster, when --dsn is not given


def _psql(dsn: str, sql: str) -> str:
    psql = shutil.which("psql") or (str(_CLUSTER[0].bindir / "psql") if _CLUSTER else "psql")
    done = subprocess.run([psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql, dsn],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def make_postgres(args: argparse.Namespace, workdir: Path) -> Any:
    """PostgresSink into ``--dsn`` (its tables dropped first), else into a throwaway cluster
    started with initdb as the tests do (``tests/pg.py``), removed at exit."""
    from fastlive.sinks.postgres import PostgresSink

    if not args.dsn and not _CLUSTER:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from pg import PgCluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            sys.exit("PostgreSQL's initdb and pg_ctl are not installed: give --dsn")
        cluster = PgCluster(bindir, durable=True)
        atexit.register(cluster.remove)
        cluster.start()
        _CLUSTER.append(cluster)
    dsn = args.dsn or _CLUSTER[0].dsn()
    _psql(dsn, "DROP TABLE IF EXISTS events, comments, gifts, rooms, sessions, schema_version")
    return PostgresSink(dsn)


TARGETS: dict[str, Callable[[argparse.Namespace, Path], Any]] = {
    "sqlite": make_sqlite,
    "postgres": make_postgres,
}
"""Each target's sink factory: ``f(args, workdir) -> Sink``."""


async def feed(frames: list[bytes], rate: float, put: Callable[[Any], None]) -> tuple[int, float]:
    """Decode the frames at ``rate`` events per second, ``put`` each event; (events, seconds)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    i = 0
    while i < len(frames):
        due = start + sent / rate
        now = loop.time()
        if due > now:
            await asyncio.sleep(due - now)
        for event in decode(frames[i]).events:
            put(event)
            sent += 1
        i += 1
        if i % 64 == 0:
            await asyncio.sleep(0)
    return sent, loop.time() - start


async def baseline(frames: list[bytes], rate: float) -> float:
    """CPU seconds per event to decode and dispatch (to a no-op), at ``rate``."""
    sink: list[Any] = []

    def put(event: Any) -> None:
        sink.append(("@bench", ROOM_ID, event))
        if len(sink) > 1000:
            sink.clear()

    cpu = time.process_time()
    sent, _ = await feed(frames, rate, put)
    return (time.process_time() - cpu) / sent


async def with_sink(frames: list[bytes], rate: float, target: Any, workdir: Path) -> dict[str, Any]:
    timed = Timed(target)
    sink = BufferedSink(timed, spill_path=workdir / "bench.spill", name="bench")
    await sink.open()
    samples: list[int] = []

    async def sample() -> None:
        while True:
            await asyncio.sleep(0.5)
            samples.append(sink.buffered)

    sampler = asyncio.ensure_future(sample())
    arrived = timed.arrived

    def put(event: Any) -> None:
        arrived[id(event)] = time.perf_counter()
        sink.put("@bench", ROOM_ID, event)

    cpu = time.process_time()
    sent, seconds = await feed(frames, rate, put)
    await sink.flush()
    cpu = time.process_time() - cpu
    sampler.cancel()
    await sink.aclose()
    lags = sorted(timed.lags)
    return {
        "sent": sent,
        "seconds": seconds,
        "cpu_per_event": cpu / sent,
        "written": sink.stats.written,
        "batches": sink.stats.batches,
        "max_buffered": sink.stats.max_buffered,
        "buffered_samples": samples,
        "spilled": sink.stats.spilled,
        "dropped": sink.stats.dropped,
        "lag_p50": lags[len(lags) // 2] if lags else float("nan"),
        "lag_p99": lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else float("nan"),
        "lag_max": lags[-1] if lags else float("nan"),
    }


def count_rows(args: argparse.Namespace, workdir: Path) -> int | None:
    if args.target == "postgres":
        return int(_psql(args.dsn or _CLUSTER[0].dsn(), "SELECT count(*) FROM events"))
    if args.target != "sqlite":
        return None
    path = Path(args.db) if args.db else workdir / "bench.db"
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


async def main(args: argparse.Namespace) -> None:
    print(f"# bench_sinks: {args.target}; Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print()
    print("| rate ev/s | events | decode + dispatch µs/ev | with sink µs/ev | store µs/ev "
          "| store / decode+dispatch | lag p50 | lag p99 | lag max | max buffered | spilled "
          "| dropped | rows |")  # fmt: skip
    print("|" + "---:|" * 13)
    for rate in args.rates:
        frames = build_frames(int(rate * args.seconds), seed=int(rate))
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            base = await baseline(frames, rate)
            result = await with_sink(frames, rate, TARGETS[args.target](args, workdir), workdir)
            rows = count_rows(args, workdir)
        store = result["cpu_per_event"] - base
        print(
            f"| {rate:,.0f} | {result['sent']:,} | {base * 1e6:.1f} "
            f"| {result['cpu_per_event'] * 1e6:.1f} | {store * 1e6:.1f} | {store / base:.2f} "
            f"| {result['lag_p50'] * 1e3:.0f} ms | {result['lag_p99'] * 1e3:.0f} ms "
            f"| {result['lag_max'] * 1e3:.0f} ms | {result['max_buffered']:,} "
            f"| {result['spilled']:,} | {result['dropped']:,} | {rows if rows is not None else '-'} |"
        )
        print(f"  buffered every 0.5 s: {result['buffered_samples']}", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", choices=sorted(TARGETS), default="sqlite")
    p.add_argument("--rates", type=float, nargs="+", default=[1_000, 10_000])
    p.add_argument("--seconds", type=float, default=20.0, help="seconds of traffic per rate")
    p.add_argument("--db", help="the SQLite file (default: a temporary one)")
    p.add_argument("--dsn", help="postgres: the database (its fastlive tables are dropped!); "
                   "default: a throwaway cluster (initdb)")  # fmt: skip
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
