"""CPU and memory of the FLV recorder alone, streaming from a loopback server.

The FLV server (``fastlive.testing.flv``) runs in its own process so that only the
recorder is measured: CPU per MiB written and peak RSS, for two stream sizes (flat
memory means the second figure does not grow with the first).

    python benchmarks/bench_video.py            # 324 MiB and 649 MiB, about 15 s
    python benchmarks/bench_video.py --quick    # a few MiB (the smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastlive.record.video import VideoRecorder

SERVER = r"""
import asyncio, sys
from fastlive.testing.flv import FLVServer, GeneratedFLV
async def main():
    async with FLVServer() as srv:
        srv.add_stream(
            "big", GeneratedFLV(media_tags=int(sys.argv[1]), video_size=60_000, audio_size=400)
        )
        print(srv.url("big"), flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
"""


def _status_mib(key: str) -> int:
    """A field of /proc/self/status (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) // 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


async def _record(url: str) -> tuple[float, float, float, int, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM)
        rss0 = _status_mib("VmRSS:")
        cpu0, t0 = time.process_time(), time.monotonic()
        stats = await VideoRecorder(url, Path(tmp) / "big.flv").run()
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
        return stats.bytes / 2**20, wall, cpu, rss0, _status_mib("VmHWM:"), stats.tags


def measure(tags: int) -> dict[str, float]:
    """Record one stream of ``tags`` media tags; return MiB, wall s, CPU s and RSS figures."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tags)], stdout=subprocess.PIPE, text=True
    )
    try:
        url = server.stdout.readline().strip()
        mib, wall, cpu, rss0, peak, n = asyncio.run(_record(url))
    finally:
        server.kill()
        server.wait()
    return {"mib": mib, "wall": wall, "cpu": cpu, "rss_start": rss0, "rss_peak": peak, "tags": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few MiB only")
    args = parser.parse_args(argv)
    sizes = [200, 400] if args.quick else [16_000, 32_000]
    print("MiB recorded | wall s | MiB/s | recorder CPU s | ms CPU per MiB | RSS start | RSS peak")
    for tags in sizes:
        r = measure(tags)
        print(
            f"{r['mib']:12.0f} | {r['wall']:6.2f} | {r['mib'] / r['wall']:5.0f} | "
            f"{r['cpu']:14.2f} | {r['cpu'] / r['mib'] * 1000:14.1f} | "
            f"{r['rss_start']:6d} MiB | {r['rss_peak']:5d} MiB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
