"""The ``fastlive`` command: a thin face over the library."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec

from fastlive._decode import decode, decode_message
from fastlive.events import BaseEvent, DecodeErrorEvent
from fastlive.exceptions import DecodeError, FastLiveError

__all__ = ["main"]


def _recorded_events(path: Path) -> Iterator[BaseEvent]:
    """Events from a recording: capture JSON, a base64 payload, or a raw push frame."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix in (".json", ".bin"):
                try:
                    yield from _recorded_events(child)
                except DecodeError as exc:  # one unreadable file does not stop the folder
                    print(f"fastlive: skipped {exc.reason}", file=sys.stderr)
        return
    data = path.read_bytes()
    if path.suffix == ".json":
        try:
            records = json.loads(data)
        except ValueError as exc:
            raise DecodeError(f"{path} is not JSON ({exc})") from None
        if not isinstance(records, dict):
            return  # not a capture of messages (a gift catalogue, say)
        for method, items in records.items():
            if not isinstance(items, list):
                continue
            for item in items:
                if isinstance(item, dict) and "eventData" in item:
                    yield _message(method, base64.b64decode(item["eventData"]), path)
        return
    try:  # a raw push frame?
        yield from decode(data).events
        return
    except DecodeError:
        pass
    try:  # base64 text of one message payload, method named by the file
        payload = base64.b64decode(b"".join(data.split()), validate=True)
    except binascii.Error:
        raise DecodeError(f"{path} is neither a push frame nor base64 text") from None
    method = path.stem.removeprefix("Message")
    if not method.startswith("Webcast"):
        method = "Webcast" + method
    yield _message(method, payload, path)


def _message(method: str, payload: bytes, path: Path) -> BaseEvent:
    try:
        return decode_message(method, payload)
    except DecodeError as exc:
        return DecodeErrorEvent(raw=payload, method=method, reason=f"{path.name}: {exc.reason}",
                                offset=exc.offset)


def _line(event: BaseEvent) -> str:
    user = getattr(event, "user", None)
    who = f"@{user.unique_id}" if user is not None and user.unique_id else ""
    detail = ""
    if hasattr(event, "content") and isinstance(event.content, str):
        detail = event.content
    elif hasattr(event, "gift") and event.gift is not None:
        detail = f"{event.gift.name} x{event.repeat_count}"
    elif hasattr(event, "total"):
        detail = f"total={event.total}"
    elif isinstance(event, DecodeErrorEvent):
        detail = f"{event.method}: {event.reason}"
    return f"{type(event).__name__:<28} {who:<24} {detail}".rstrip()


def cmd_decode(args: argparse.Namespace) -> int:
    counts: Counter[str] = Counter()
    encoder = msgspec.json.Encoder()
    out = sys.stdout
    for event in _recorded_events(Path(args.path)):
        counts[type(event).__name__] += 1
        if args.jsonl:
            out.write(encoder.encode(event.to_dict()).decode() + "\n")
        elif not args.quiet:
            out.write(_line(event) + "\n")
    total = sum(counts.values())
    summary = ", ".join(f"{name} {n}" for name, n in counts.most_common())
    print(f"{total} events: {summary}", file=sys.stderr)
    return 1 if counts.get("DecodeErrorEvent") or not total else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastlive", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("decode", help="decode recorded frames or payloads and print the events")
    p.add_argument("path", help="a capture file or a folder of them (.json, .bin, raw frames)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.set_defaults(func=cmd_decode)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FastLiveError as exc:
        print(f"fastlive: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"fastlive: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
