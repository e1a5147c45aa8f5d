"""Decode throughput: fastlive against TikTokLive, the protobuf runtime and the inflate floor.

Every contender runs over the same seeded corpus of gzip push frames (``corpus.py``) and returns,
per frame, how many messages it decoded (the floor: how many bytes it inflated), so the harness
can check that all of them did the same work. Timing is ``timeit``'s: ``autorange`` picks the
number of passes (and warms up), then the best of ``--repeat`` runs counts. See README.md.

    python benchmarks/bench_decode.py                  # the published figures
    python benchmarks/bench_decode.py --quick          # a smoke run, seconds
    python benchmarks/bench_decode.py --json benchmarks/results/latest.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import timeit
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import fastlive
from corpus import Corpus, build_corpus, dist_version
from fastlive.proto import message_class, webcast_pb2

__all__ = [
    "CONTENDERS",
    "GOALS",
    "Result",
    "check",
    "environment",
    "main",
    "run_fastlive",
    "run_protobuf",
    "run_tiktoklive",
    "run_zlib",
]

Runner = Callable[[Corpus], Callable[[], list[int]]]
"""Prepares a contender for a corpus; the returned callable (the timed part) decodes every frame
and returns one count per frame: messages decoded, or for the floor, bytes inflated."""


# ---------------------------------------------------------------------------
# Contenders


def run_fastlive(corpus: Corpus) -> Callable[[], list[int]]:
    """fastlive: ``decode`` each websocket message into a ``Batch`` of event Structs."""
    frames = corpus.frames
    decode = fastlive.decode

    def run() -> list[int]:
        return [len(decode(frame).events) for frame in frames]

    return run


def run_protobuf(corpus: Corpus) -> Callable[[], list[int]]:
    """The protobuf runtime (upb): frame, gunzip, batch, then every payload with its class.

    A bare parse: each message is parsed into its generated class and none of its fields is read.
    """
    frames = corpus.frames
    parse_frame = webcast_pb2.WebcastPushFrame.FromString
    parse_batch = webcast_pb2.ProtoMessageFetchResult.FromString
    decompress = zlib.decompress
    classes: dict[str, Any] = {}
    for methods in corpus.methods:
        for method in methods:
            classes.setdefault(method, message_class(method))

    def run() -> list[int]:
        counts = []
        for data in frames:
            frame = parse_frame(data)
            if frame.payload_type != "msg":
                counts.append(0)
                continue
            payload = frame.payload
            if payload[:2] == b"\x1f\x8b":
                payload = decompress(payload, 31)
            n = 0
            for message in parse_batch(payload).messages:
                cls = classes.get(message.method) or message_class(message.method)
                if cls is not None:
                    cls.FromString(message.payload)
                    n += 1
            counts.append(n)
        return counts

    return run


def run_zlib(corpus: Corpus) -> Callable[[], list[int]]:
    """The floor: ``zlib.decompress(payload, 31)`` of each frame's gzip payload, pre-extracted."""
    payloads = [webcast_pb2.WebcastPushFrame.FromString(f).payload for f in corpus.frames]
    decompress = zlib.decompress

    def run() -> list[int]:
        return [len(decompress(payload, 31)) for payload in payloads]

    return run


def run_tiktoklive(corpus: Corpus) -> Callable[[], list[int]]:
    """TikTokLive 7.0.1 as its client decodes a websocket message into events.

    The same calls its websocket loop makes: ``WebcastPushFrame().parse`` (betterproto2),
    ``extract_webcast_response_message`` (gunzip, ``ProtoMessageFetchResult().parse``), then the
    client's ``_parse_webcast_response`` (each message's event class ``.parse(payload)`` and its
    custom events). Not timed: ``emit`` to listeners and the per-event debug log line.
    """
    from TikTokLive import TikTokLiveClient
    from TikTokLive.client.ws.ws_utils import extract_webcast_response_message
    from TikTokLive.events.custom_events import UnknownEvent
    from TikTokLive.events.proto_events import EVENT_MAPPINGS
    from TikTokLive.proto import WebcastPushFrame

    frames = corpus.frames
    client = TikTokLiveClient(unique_id="fastlive.bench")
    counted = {*EVENT_MAPPINGS.values(), UnknownEvent}  # one per message; failures yield none
    loop = asyncio.new_event_loop()

    async def decode_all() -> list[int]:
        counts = []
        for data in frames:
            frame = WebcastPushFrame().parse(data)
            if frame.payload_type != "msg":
                counts.append(0)
                continue
            response = extract_webcast_response_message(frame)
            n = 0
            async for event in client._parse_webcast_response(response):
                if type(event) in counted:
                    n += 1
            counts.append(n)
        return counts

    def run() -> list[int]:
        return loop.run_until_complete(decode_all())

    return run


CONTENDERS: dict[str, Runner] = {
    "fastlive": run_fastlive,
    "TikTokLive": run_tiktoklive,
    "protobuf": run_protobuf,
    "zlib": run_zlib,
}
"""Name -> runner; ``zlib`` is the floor (inflate only)."""

LABELS = {
    "fastlive": "fastlive decode",
    "TikTokLive": "TikTokLive 7.0.1 client",
    "protobuf": "protobuf bare parse",
    "zlib": "zlib inflate (floor)",
}


# ---------------------------------------------------------------------------
# Measuring


@dataclass
class Result:
    """One contender's best run over its corpus."""

    name: str
    frames: int
    messages: int
    number: int
    best_s: float
    """Best time of one pass over all ``frames``, in seconds."""

    @property
    def frames_per_s(self) -> float:
        """Frames decoded per second."""
        return self.frames / self.best_s

    @property
    def messages_per_s(self) -> float:
        """Messages decoded (for the floor: inflated) per second."""
        return self.messages / self.best_s


def check(corpus: Corpus, name: str, counts: Sequence[int]) -> None:
    """Raise ``AssertionError`` unless a contender saw what the corpus holds, frame by frame."""
    expected = corpus.inflated_sizes if name == "zlib" else corpus.counts
    if list(counts) != list(expected):
        bad = next(i for i, (a, b) in enumerate(zip(counts, expected, strict=False)) if a != b)
        raise AssertionError(
            f"{name}: frame {bad} gave {counts[bad]}, the corpus says {expected[bad]}"
        )


def measure(name: str, corpus: Corpus, repeat: int, quick: bool = False) -> Result:
    """Check one contender on ``corpus``, then time it (best of ``repeat``)."""
    run = CONTENDERS[name](corpus)
    check(corpus, name, run())  # also the first warm-up
    timer = timeit.Timer(run)
    number = 1 if quick else timer.autorange()[0]
    best = min(timer.repeat(repeat=repeat, number=number)) / number
    return Result(name, corpus.n_frames, corpus.n_messages, number, best)


# ---------------------------------------------------------------------------
# Reporting


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Machine, Python and library versions, as printed above the table."""
    from google.protobuf.internal import api_implementation

    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": _cpu(),
        "cpus": os.cpu_count(),
        "versions": {
            "fastlive": fastlive.__version__,
            "TikTokLive": dist_version("TikTokLive"),
            "TikTokLiveProto": dist_version("TikTokLiveProto"),
            "betterproto2": dist_version("betterproto2"),
            "protobuf": f"{dist_version('protobuf')} ({api_implementation.Type()})",
            "msgspec": dist_version("msgspec"),
            "zlib": zlib.ZLIB_RUNTIME_VERSION,
        },
    }


def _table(results: list[Result]) -> str:
    base = next(r for r in results if r.name == "fastlive")
    header = ("contender", "frames", "messages", "frames/s", "messages/s", "us/msg", "fastlive ÷")
    rows = [header]
    for r in results:
        rows.append(
            (
                LABELS[r.name],
                f"{r.frames:,}",
                f"{r.messages:,}",
                f"{r.frames_per_s:,.0f}",
                f"{r.messages_per_s:,.0f}",
                f"{1e6 / r.messages_per_s:.2f}",
                "1.00x" if r is base else f"{base.messages_per_s / r.messages_per_s:.2f}x",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        lines.append(" | ".join(cells))
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


GOALS = (
    ("TikTokLive", "speed-up", 50.0, "fastlive >= 50x TikTokLive's messages/s"),
    ("protobuf", "speed-up", 1.0, "fastlive faster than the protobuf bare parse"),
    ("zlib", "slowdown", 0.8, "fastlive time at most 0.8x zlib inflating alone"),
)
"""(contender, kind, bound, what the issue asks). A speed-up is fastlive's messages/s over the
contender's and must exceed the bound; a slowdown is its inverse and must not exceed it."""


def goals(results: list[Result]) -> list[dict[str, Any]]:
    """Each goal of the issue, the measured ratio and whether it is met."""
    by_name = {r.name: r for r in results}
    base = by_name["fastlive"]
    out = []
    for name, kind, bound, text in GOALS:
        if name not in by_name:
            continue
        speedup = base.messages_per_s / by_name[name].messages_per_s
        ratio = speedup if kind == "speed-up" else 1 / speedup
        met = ratio > bound if kind == "speed-up" else ratio <= bound
        out.append({"goal": text, "kind": kind, "ratio": ratio, "bound": bound, "met": met})
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Build the corpus, check and time every contender, print the table; return the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--frames", type=int, default=2_000, help="frames in the corpus")
    parser.add_argument(
        "--tiktoklive-frames",
        type=int,
        default=150,
        help="TikTokLive decodes only the corpus's first N frames (it is ~100x slower)",
    )
    parser.add_argument("--seed", type=int, default=2_023, help="corpus seed")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    parser.add_argument(
        "--only", nargs="+", choices=list(CONTENDERS), help="run only these (fastlive always)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny corpus, one timed pass")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.tiktoklive_frames, args.repeat = 12, 4, 1

    env = environment()
    print(f"Python   {env['python']} on {env['platform']}")
    print(f"CPU      {env['cpu']} ({env['cpus']} logical)")
    print("versions " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    corpus = build_corpus(args.frames, args.seed)
    summary = corpus.summary()
    print(
        f"corpus   seed {args.seed}: {corpus.n_frames:,} gzip frames, {corpus.n_messages:,}"
        f" messages ({summary['messages_per_frame']}/frame), {summary['wire_bytes']:,} B on"
        f" the wire, {summary['inflated_bytes']:,} B inflated"
    )
    for method, info in summary["mix"].items():
        print(
            f"         {method:<26} {info['share']:6.1%}  p50 {info['p50_bytes']:>5,} B"
            f"  (captures p50 {info['capture_p50_bytes']:,} B)"
        )
    print()

    names = ["fastlive", *[n for n in CONTENDERS if n != "fastlive"]]
    if args.only:
        names = [n for n in names if n == "fastlive" or n in args.only]
    results = []
    for name in names:
        sub = corpus.head(args.tiktoklive_frames) if name == "TikTokLive" else corpus
        results.append(measure(name, sub, args.repeat, quick=args.quick))
    print(_table(results))
    print(
        "\nfastlive ÷: fastlive's messages/s over the contender's (per message, so comparable"
        "\nwhere a contender ran fewer frames)"
    )
    verdicts = goals(results)
    print()
    for v in verdicts:
        status = "met" if v["met"] else "MISSED"
        print(f"goal: {v['goal']:<50} {v['kind']:>8} {v['ratio']:7.2f}x  {status}")

    report = {
        "environment": env,
        "corpus": summary,
        "repeat": args.repeat,
        "results": [
            {
                **asdict(r),
                "frames_per_s": r.frames_per_s,
                "messages_per_s": r.messages_per_s,
            }
            for r in results
        ],
        "goals": verdicts,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
