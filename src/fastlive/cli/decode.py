"""``fastlive decode PATH``: decode captured frames or payloads and print the events."""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from fastlive._decode import decode, decode_message
from fastlive.cli.format import event_line
from fastlive.events import BaseEvent, DecodeErrorEvent
from fastlive.exceptions import DecodeError

__all__ = ["add_parser", "cmd_decode", "recorded_events"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("decode", help="decode recorded frames or payloads and print the events")
    p.add_argument("path", help="a capture file or a folder of them (.json, .bin, raw frames)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.set_defaults(func=cmd_decode)


def cmd_decode(args: argparse.Namespace) -> int:
    counts: Counter[str] = Counter()
    encoder = msgspec.json.Encoder()
    out = sys.stdout
    for event in recorded_events(Path(args.path)):
        counts[type(event).__name__] += 1
        if args.jsonl:
            out.write(encoder.encode(event.to_dict()).decode() + "\n")
        elif not args.quiet:
            out.write(event_line(event) + "\n")
    total = sum(counts.values())
    summary = ", ".join(f"{name} {n}" for name, n in counts.most_common())
    print(f"{total} events: {summary}", file=sys.stderr)
    return 1 if counts.get("DecodeErrorEvent") or not total else 0


def recorded_events(path: Path) -> Iterator[BaseEvent]:
    """Events from a capture: capture JSON, a base64 payload, or a raw push frame."""
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.is_file() and child.suffix in (".json", ".bin"):
                try:
                    yield from recorded_events(child)
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
        return DecodeErrorEvent(
            raw=payload, method=method, reason=f"{path.name}: {exc.reason}", offset=exc.offset
        )
