"""``fastlive schema``: the JSON Schema of the event records (``--jsonl``, ``events.data``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_parser", "cmd_schema"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("schema", help="the JSON Schema of the event records (--jsonl, --db)")
    p.add_argument(
        "--version", action="store_true", help="print only the schema version (the records' v)"
    )
    p.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    from fastlive.schema import SCHEMA_VERSION, json_schema

    if args.version:
        print(SCHEMA_VERSION)
        return 0
    json.dump(json_schema(), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0
