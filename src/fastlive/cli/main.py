"""The ``fastlive`` command: a thin face over the library, one module per command.

    fastlive watch @a @b ...        live feed of one or many rooms (--jsonl, --record DIR)
    fastlive live @a @b ...         who is live now
    fastlive info @a                room info and stream URLs
    fastlive video @a               record the live video (FLV; --mp4 with ffmpeg)
    fastlive replay FILE            replay a recording (--serve: as a fake TikTok)
    fastlive decode PATH            decode captured frames or payloads
    fastlive report --db events.db  top gifters, diamonds/h, comments/min per room (--json)
    fastlive schema                 the JSON Schema of the event records (v, type, room...)
    fastlive worker --nats URL      one worker of a fleet on NATS JetStream (rooms by lease)
    fastlive rooms add|remove|list  the rooms a fleet watches (--nats URL)
    fastlive tail --nats URL        the fleet's events from the stream, as --jsonl prints them
    fastlive demo                   watch made-up rooms of a local fake TikTok (--record DIR)
    fastlive bench                  the decode benchmark (from a source checkout)

Every base URL has a flag and an environment variable (``--web-url`` /
``FASTLIVE_WEB_URL``, ``--webcast-url`` / ``FASTLIVE_WEBCAST_URL``,
``--sign-api-url`` / ``SIGN_API_URL``), so the command runs against
``fastlive.testing.FakeTikTok`` as well as TikTok.  This module builds the
parser from the commands' ``add_parser`` and turns errors into one line.
"""

from __future__ import annotations

import argparse
import logging
import sys

from fastlive.cli import (
    bench,
    decode,
    demo,
    info,
    live,
    replay,
    report,
    rooms,
    schema,
    tail,
    video,
    watch,
    worker,
)
from fastlive.cli.format import status_line as _status_line  # noqa: F401 (its old home)
from fastlive.exceptions import FastLiveError

__all__ = ["build_parser", "main"]

COMMANDS = (watch, live, info, video, replay, decode, report, schema, demo, bench)
COMMANDS += (worker, rooms, tail)  # the fleet (NATS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastlive",
        description="TikTok LIVE events from the command line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections (INFO)")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # everything after it belongs to the benchmark script
        args = parser.parse_args(["bench"])
        args.bench_args = argv[1:]
    else:
        args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="fastlive: %(message)s",
    )
    # httpx logs signed URLs at INFO, httpcore response headers (cookies) at DEBUG
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except FastLiveError as exc:
        print(f"fastlive: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a handle that is not one, and similar
        print(f"fastlive: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"fastlive: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 2
