"""``fastlive replay FILE``: a recording through the decoder (``--serve``: as a fake TikTok)."""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from fastlive._aio import run
from fastlive.cli.common import parse_duration
from fastlive.cli.format import enc_hook, event_line
from fastlive.exceptions import DecodeError

__all__ = ["add_parser", "cmd_replay"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("replay", help="replay a recording (fastlive watch --record)")
    p.add_argument("file", help="a .flrec file")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.add_argument("--speed", type=float, help="pace as recorded (1.0 real time, 2.0 twice)")
    p.add_argument(
        "--serve",
        action="store_true",
        help="serve it as a fake TikTok room that any client can connect to",
    )
    p.add_argument("--interval", type=float, default=0.0, help="--serve: seconds per frame")
    p.add_argument("--duration", type=parse_duration, help="--serve: stop after this long")
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="store the events, as watch --db does (nothing is stored twice)",
    )
    p.set_defaults(func=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from fastlive.record.replay import iter_batches, replay

    if args.serve:
        from fastlive.cli.serve import serve_recording

        return run(serve_recording(args.file, interval=args.interval, duration=args.duration))
    if args.db:
        from fastlive.cli.store import replay_into_db

        return run(replay_into_db(args.file, args.db))
    encoder = msgspec.json.Encoder(enc_hook=enc_hook)
    counts: Counter[str] = Counter()
    errors: list[DecodeError] = []
    truncated: list[int] = []
    out = sys.stdout
    seen: set[int] = set()
    duplicates = 0

    def emit(batch: Any) -> None:
        nonlocal duplicates
        for event in batch.events:
            # As a live session does: the initial batch and the first frames (and a rejoin's
            # history) overlap, and each message is shown once.
            if event.msg_id:
                if event.msg_id in seen:
                    duplicates += 1
                    continue
                seen.add(event.msg_id)
            counts[type(event).__name__] += 1
            if args.jsonl:
                out.write(encoder.encode(event.to_dict()).decode() + "\n")
            elif not args.quiet:
                out.write(event_line(event) + "\n")

    started = time.perf_counter()
    if args.speed:

        async def paced() -> None:
            async for _, batch in replay(args.file, speed=args.speed, errors=errors):
                emit(batch)
                out.flush()

        run(paced())
    else:
        for _, batch in iter_batches(args.file, errors=errors, truncated=truncated):
            emit(batch)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    summary = ", ".join(f"{name} {n}" for name, n in counts.most_common())
    dropped = f" ({duplicates} repeated messages dropped)" if duplicates else ""
    print(f"{total} events in {elapsed:.3f} s{dropped}: {summary}", file=sys.stderr)
    if truncated and truncated[0] < Path(args.file).stat().st_size:
        print(
            f"fastlive: the recording ends in a torn record at byte {truncated[0]} "
            "(a crash mid-write); everything before it was replayed",
            file=sys.stderr,
        )
    for exc in errors[:5]:
        print(f"fastlive: a frame did not decode: {exc}", file=sys.stderr)
    return 1 if errors else 0
