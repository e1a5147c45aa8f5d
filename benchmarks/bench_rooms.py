"""Many rooms: fastlive's Monitor against TikTokLive 7.0.1 clients, on the same fake traffic.

Three processes per contender, so each is measured alone: ``FakeTikTok`` serving N rooms, the
contender connecting to all of them, and this script in between.  When every room is
connected, the fake pushes frame ``k`` of the corpus (``corpus.py``, the same gzip push frames
as ``bench_decode.py``) to every room at ``start + k * interval``, then ends every stream.  The
contender counts the events (one per message) and, for each, the delivery lag: the wall-clock
time it reached the handler (fastlive: ``monitor.events()``; TikTokLive: its listener) minus the
time its frame was due.  Measured in the contender's process: CPU seconds (``process_time``)
from the first frame to the last stream end, per 100k events; peak memory (``ru_maxrss``) minus
the memory before any client existed, per room; lag p50 and p99.  Both run on uvloop.

    python benchmarks/bench_rooms.py                      # 300 rooms, the published table
    python benchmarks/bench_rooms.py --quick              # 20 rooms, seconds
    python benchmarks/bench_rooms.py --only fastlive --interval 0.5   # fastlive at full load
    python benchmarks/bench_rooms.py --only fastlive --watch          # what a user runs

``--watch`` measures ``fastlive watch --jsonl`` instead (contender "fastlive watch"): the command
runs in its own process with stdout a pipe, read by the contender process, which counts the
lines and their lag; CPU and peak memory are the command's (``/proc``), memory per room its peak
minus what the same command holds watching no room.  ``--ws-defaults`` gives the rooms
websockets' own buffer defaults instead of fastlive's (a baseline for the memory per room).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from array import array
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASE_ROOM = 7_400_000_000_000_300_000
CONNECT_TIMEOUT = 300.0
WS_DEFAULTS = {"max_queue": 16, "write_limit": 2**15}  # websockets' own


def _rss_kib() -> int:
    """Resident memory now, in KiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


# ---------------------------------------------------------------------------
# The fake (its own process)


async def serve_fake(args: argparse.Namespace) -> None:
    from corpus import build_corpus
    from fastlive.testing import FakeTikTok

    frames = build_corpus(args.frames, seed=args.seed).frames
    async with FakeTikTok() as fake:
        rooms = [
            fake.add_room(f"bench{i}", room_id=BASE_ROOM + i, server_hb_every=0)
            for i in range(args.rooms)
        ]
        print(f"port {fake.port}", flush=True)
        start = float(await asyncio.to_thread(sys.stdin.readline))
        loop = asyncio.get_running_loop()
        offset = time.time() - loop.time()
        for k, frame in enumerate(frames):
            await asyncio.sleep(max(0.0, start + k * args.interval - offset - loop.time()))
            for room in rooms:
                room.push(frame)
        await asyncio.sleep(args.interval)
        for room in rooms:
            room.end()
        await asyncio.to_thread(sys.stdin.readline)  # until told to stop


# ---------------------------------------------------------------------------
# The contenders (each in its own process)


class Probe:
    """Counts events and their lag; knows when each message's frame was due."""

    def __init__(self, frames: int, seed: int, interval: float) -> None:
        from corpus import build_corpus

        corpus = build_corpus(frames, seed=seed)
        self.frame_of = {m: k for k, ids in enumerate(corpus.msg_ids) for m in ids}
        self.expected = sum(len(ids) for ids in corpus.msg_ids)
        self.interval = interval
        self.start = 0.0
        self.events = 0
        self.lags = array("d")
        self.ended = 0

    def seen(self, msg_id: int) -> None:
        k = self.frame_of.get(msg_id)
        if k is None:
            return
        self.events += 1
        self.lags.append(time.time() - (self.start + k * self.interval))


async def _wait_start(probe: Probe) -> None:
    print("ready", flush=True)
    probe.start = float(await asyncio.to_thread(sys.stdin.readline))
    await asyncio.sleep(max(0.0, probe.start - time.time()))


async def run_fastlive(args: argparse.Namespace, probe: Probe) -> dict[str, Any]:
    from fastlive import BaseEvent, ConnectEvent, LiveEndEvent, Monitor
    from fastlive._config import Settings
    from fastlive.monitor.limits import SignLimiter

    url = f"http://127.0.0.1:{args.port}"
    settings = Settings(
        web_url=url,
        webcast_url=url,
        sign_api_url=url,
        connect="signed",
        http_timeout=60.0,
        ws_connect_timeout=60.0,
        stall_timeout=600.0,
        web_rate=0.0,  # the fake has no WAF: no web budget
    )
    base = _rss_kib()
    monitor = Monitor(
        [f"@bench{i}" for i in range(args.rooms)],
        settings=settings,
        sign_limiter=SignLimiter(rate=None),
        poll_interval=1.0,
    )
    connected = asyncio.Event()
    done = asyncio.Event()
    counts = {"connect": 0}

    async def consume() -> None:
        seen = probe.seen
        async for _, event in monitor.events():
            if isinstance(event, BaseEvent):
                seen(event.msg_id)
                if type(event) is LiveEndEvent:
                    probe.ended += 1
                    if probe.ended == args.rooms:
                        done.set()
            elif type(event) is ConnectEvent:
                counts["connect"] += 1
                if counts["connect"] == args.rooms:
                    connected.set()

    if args.ws_defaults:
        monitor._client_kwargs["ws_kwargs"] = dict(WS_DEFAULTS)
    async with monitor:
        consumer = asyncio.ensure_future(consume())
        await asyncio.wait_for(connected.wait(), CONNECT_TIMEOUT)
        await _wait_start(probe)
        cpu0 = time.process_time()
        await asyncio.wait_for(done.wait(), args.frames * args.interval + 120)
        cpu = time.process_time() - cpu0
        consumer.cancel()
    return {"cpu": cpu, "base_kib": base}


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _child_pid(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return int(f.read().split()[0])


def _proc_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


async def _idle_watch_kib(env: dict[str, str]) -> int:
    """Peak memory of ``fastlive watch --jsonl`` watching no live room (an offline one)."""
    cmd = [sys.executable, "-m", "fastlive", "watch", "@offline_none", "--jsonl", "--duration", "2"]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        "--poll-interval",
        "60",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    peak = 0
    while proc.returncode is None:
        with contextlib.suppress(OSError):
            peak = max(peak, _proc_kib(proc.pid, "VmHWM"))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.2)
    return peak


async def run_watch(args: argparse.Namespace, probe: Probe) -> dict[str, Any]:
    """``fastlive watch --jsonl`` in its own process, its stdout a pipe read here."""
    url = f"http://127.0.0.1:{args.port}"
    env = {
        **os.environ,
        "FASTLIVE_WEB_URL": url,
        "FASTLIVE_WEBCAST_URL": url,
        "SIGN_API_URL": url,
        "FASTLIVE_CONNECT": "signed",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SIGN_API_KEY", None)
    base = await _idle_watch_kib(env)
    cmd = [sys.executable, "-m", "fastlive", "watch", *(f"@bench{i}" for i in range(args.rooms))]
    cmd += ["--jsonl", "--once", "--sign-rate", "0", "--web-rate", "0", "--poll-interval", "1"]
    cmd += ["--max-queue", "100000"]
    if args.db:  # the events into a database too (bench_sinks.py: what storing costs)
        cmd += ["--db", str(args.db)]
    if args.profile:
        cmd = [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "-o",
            str(args.profile),
            "-f",
            "raw",
            "-r",
            "200",
            "--",
            *cmd,
        ]
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        limit=1 << 20,
    )
    pid = proc.pid
    if args.profile:  # py-spy's child: the watch command
        await asyncio.sleep(1.0)
        pid = _child_pid(pid)
    cpu_start = _proc_cpu(pid)
    connects = 0
    decode = json.loads
    assert proc.stdout is not None
    while connects < args.rooms:
        line = await asyncio.wait_for(proc.stdout.readline(), CONNECT_TIMEOUT)
        if not line:
            raise RuntimeError("fastlive watch ended before every room connected")
        if b'"ConnectEvent"' in line:
            connects += 1
    await _wait_start(probe)
    cpu0 = _proc_cpu(pid)
    seen = probe.seen
    async for line in proc.stdout:
        row = decode(line)
        msg_id = row.get("msg_id")
        if msg_id is not None:
            seen(msg_id)
        if row["type"] == "LiveEndEvent":
            probe.ended += 1
            if probe.ended == args.rooms:
                break
    cpu1 = _proc_cpu(pid)
    peak = _proc_kib(pid, "VmHWM")
    proc.send_signal(2)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(proc.wait(), 30)
    return {
        "cpu": cpu1 - cpu0,
        "cpu_run": cpu1 - cpu_start,
        "base_kib": base,
        "peak_override": peak,
    }


async def run_tiktoklive(args: argparse.Namespace, probe: Probe) -> dict[str, Any]:
    from TikTokLive import TikTokLiveClient
    from TikTokLive.client.web.web_settings import WebDefaults
    from TikTokLive.events import ConnectEvent, LiveEndEvent
    from TikTokLive.events.proto_events import EVENT_MAPPINGS

    url = f"http://127.0.0.1:{args.port}"
    WebDefaults.tiktok_app_url = url
    WebDefaults.tiktok_webcast_url = url + "/webcast"
    WebDefaults.tiktok_sign_url = url
    os.environ["SIGN_API_URL"] = url
    os.environ.pop("SIGN_API_KEY", None)
    base = _rss_kib()
    connected = asyncio.Event()
    done = asyncio.Event()
    counts = {"connect": 0}
    seen = probe.seen

    def on_message(event: Any) -> None:
        seen(event.common.msg_id)

    def on_connect(event: Any) -> None:
        counts["connect"] += 1
        if counts["connect"] == args.rooms:
            connected.set()

    def on_end(event: Any) -> None:
        probe.ended += 1
        if probe.ended == args.rooms:
            done.set()

    clients = []
    for i in range(args.rooms):
        client = TikTokLiveClient(unique_id=f"bench{i}")
        for cls in set(EVENT_MAPPINGS.values()):
            client.add_listener(cls, on_message)
        client.add_listener(ConnectEvent, on_connect)
        client.add_listener(LiveEndEvent, on_end)
        clients.append(client)
    slots = asyncio.Semaphore(16)

    async def start(client: Any) -> None:
        async with slots:
            await client.start()

    await asyncio.gather(*(start(c) for c in clients))
    await asyncio.wait_for(connected.wait(), CONNECT_TIMEOUT)
    await _wait_start(probe)
    cpu0 = time.process_time()
    await asyncio.wait_for(done.wait(), args.frames * args.interval + 120)
    cpu = time.process_time() - cpu0
    for client in clients:
        with contextlib.suppress(Exception):
            await client.disconnect()
    return {"cpu": cpu, "base_kib": base}


def contender_main(args: argparse.Namespace) -> None:
    import uvloop

    logging.basicConfig(level=logging.ERROR)
    probe = Probe(args.frames, args.seed, args.interval)
    runners = {"_fastlive": run_fastlive, "_watch": run_watch, "_tiktoklive": run_tiktoklive}
    result = uvloop.run(runners[args.role](args, probe))
    peak = result.pop("peak_override", None) or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lags = list(probe.lags)
    result.update(
        events=probe.events,
        expected=probe.expected * args.rooms,
        peak_kib=peak,
        per_room_kib=(peak - result["base_kib"]) / args.rooms,
        lag_p50=_percentile(lags, 0.5),
        lag_p99=_percentile(lags, 0.99),
        cpu_per_100k=result["cpu"] / max(probe.events, 1) * 1e5,
    )
    print("result " + json.dumps(result), flush=True)
    os._exit(0)  # do not wait for clients' background tasks


# ---------------------------------------------------------------------------
# The harness


def _spawn(role: str, args: argparse.Namespace, port: int | None = None) -> subprocess.Popen:
    cmd = [
        sys.executable,
        str(Path(__file__)),
        role,
        "--rooms",
        str(args.rooms),
        "--frames",
        str(args.frames),
        "--interval",
        str(args.interval),
        "--seed",
        str(args.seed),
    ]
    if port is not None:
        cmd += ["--port", str(port)]
    if args.ws_defaults:
        cmd += ["--ws-defaults"]
    if args.profile:
        cmd += ["--profile", str(args.profile)]
    if args.db:
        cmd += ["--db", str(args.db)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def _expect(proc: subprocess.Popen, prefix: str) -> str:
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {prefix!r} line never came (exit {proc.wait()})")
        if line.startswith(prefix):
            return line[len(prefix) :].strip()


def measure(name: str, args: argparse.Namespace) -> dict[str, Any]:
    fake = _spawn("_fake", args)
    try:
        port = int(_expect(fake, "port "))
        role = {"fastlive": "_fastlive", "fastlive watch": "_watch"}.get(name, "_tiktoklive")
        contender = _spawn(role, args, port)
        try:
            _expect(contender, "ready")
            start = time.time() + 1.0
            for proc in (fake, contender):
                proc.stdin.write(f"{start}\n")
                proc.stdin.flush()
            result = json.loads(_expect(contender, "result "))
        finally:
            contender.kill()
            contender.wait()
    finally:
        with contextlib.suppress(Exception):
            fake.stdin.write("stop\n")
            fake.stdin.flush()
        try:
            fake.wait(10)
        except subprocess.TimeoutExpired:
            fake.kill()
    result["name"] = name
    result["rooms"] = args.rooms
    return result


def environment() -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "absent"

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "fastlive": version("fastlive"),
        "TikTokLive": version("TikTokLive"),
        "uvloop": version("uvloop"),
    }


def table(results: list[dict[str, Any]], interval: float) -> str:
    lines = [
        "| contender | rooms | events | CPU s | CPU s / 100k events | MiB / room | lag p50 | lag p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['rooms']} | {r['events']:,} / {r['expected']:,} | "
            f"{r['cpu']:.2f} | {r['cpu_per_100k']:.2f} | {r['per_room_kib'] / 1024:.3f} | "
            f"{r['lag_p50'] * 1000:.1f} ms | {r['lag_p99'] * 1000:.1f} ms |"
        )
    by = {r["name"]: r for r in results}
    f = by.get("fastlive watch") or by.get("fastlive")
    for r in results:
        if "cpu_run" in r:
            lines.append("")
            lines.append(
                f"{r['name']}: CPU over the whole run (connects included) {r['cpu_run']:.2f} s, "
                f"{r['cpu_run'] / max(r['events'], 1) * 1e5:.2f} s per 100k events"
            )
    if f is not None and "TikTokLive" in by:
        t = by["TikTokLive"]
        lines.append("")
        lines.append(
            f"fastlive / TikTokLive: CPU per event {f['cpu_per_100k'] / t['cpu_per_100k']:.3f} "
            f"(goal <= 0.1), memory per room {f['per_room_kib'] / t['per_room_kib']:.3f} "
            f"(goal <= 0.33); one frame per room every {interval:g} s"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "role",
        nargs="?",
        default="bench",
        choices=["bench", "_fake", "_fastlive", "_watch", "_tiktoklive"],
    )
    parser.add_argument(
        "--watch", action="store_true", help="fastlive: measure `fastlive watch --jsonl`"
    )
    parser.add_argument(
        "--ws-defaults", action="store_true", help="fastlive: websockets' buffer defaults"
    )
    parser.add_argument("--profile", type=Path, help="with --watch: py-spy raw profile here")
    parser.add_argument("--db", help="with --watch: also store the events here (watch --db)")
    parser.add_argument("--rooms", type=int, default=300, help="rooms (300)")
    parser.add_argument("--frames", type=int, default=9, help="frames per room (9)")
    parser.add_argument(
        "--interval", type=float, default=10.0, help="seconds between two frames of a room (10)"
    )
    parser.add_argument("--seed", type=int, default=2_023)
    parser.add_argument("--port", type=int)
    parser.add_argument("--only", nargs="+", choices=["fastlive", "TikTokLive"])
    parser.add_argument(
        "--tiktoklive-rooms",
        type=int,
        help="fewer rooms for TikTokLive, if it cannot hold them all",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--quick", action="store_true", help="at most 20 rooms, 3 frames, 0.5 s apart"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rooms, args.frames, args.interval = min(args.rooms, 20), 3, 0.5
    if args.role == "_fake":
        import uvloop

        uvloop.run(serve_fake(args))
        return 0
    if args.role in ("_fastlive", "_watch", "_tiktoklive"):
        contender_main(args)
        return 0
    env = environment()
    print(" ".join(f"{k} {v}" for k, v in env.items()))
    results = []
    for name in args.only or ["fastlive", "TikTokLive"]:
        if name == "fastlive" and args.watch:
            name = "fastlive watch"
        run_args = argparse.Namespace(**vars(args))
        if name == "TikTokLive" and args.tiktoklive_rooms:
            run_args.rooms = args.tiktoklive_rooms
        t0 = time.monotonic()
        results.append(measure(name, run_args))
        print(f"{name}: done in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    text = table(results, args.interval)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"environment": env, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
