"""``fastlive report --db events.db [@room ...] [--since 2h]``: who gave the most, per room.

Prints a table of rooms (diamonds, diamonds per hour, comments per minute, peak
viewers, new followers) and each room's top gifters; ``--json`` prints one JSON
object per room instead (:class:`fastlive.sinks.report.RoomReport`), for scripts.
The figures are defined in :mod:`fastlive.sinks.report`.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta
from typing import Any

__all__ = ["add_parser", "cmd_report", "format_reports", "parse_when"]

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_when(text: str) -> datetime | timedelta:
    """``2h``, ``30m``, ``1d`` (that long ago) or an ISO date/time (``2026-12-02``,
    ``2026-12-02T18:00``, ``...Z`` or ``...+01:00``; without a zone: local time)."""
    match = _DURATION_RE.match(text)
    if match is not None:
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    iso = text.strip()
    if iso.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not take Z
        iso = iso[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration nor a date: use 2h, 30m, 1d, 2026-12-02 "
            "or 2026-12-02T18:00"
        ) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="top gifters, diamonds, comments, viewers and followers per room, from a database",
        description="Figures per room from a database written by `fastlive watch --db`.",
    )
    p.add_argument("rooms", nargs="*", metavar="ROOM", help="@handles or room ids (default: all)")
    p.add_argument(
        "--db", required=True, metavar="PATH|URL", help="a SQLite file or a postgresql:// URL"
    )
    p.add_argument(
        "--since", type=parse_when, metavar="WHEN", help="from that long ago (2h, 30m) or that date"
    )
    p.add_argument("--until", type=parse_when, metavar="WHEN", help="up to then (default: now)")
    p.add_argument("--top", type=int, default=None, metavar="N", help="gifters per room (10)")
    p.add_argument("--json", action="store_true", help="one JSON object per room")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    import msgspec

    from fastlive.sinks.report import DEFAULT_TOP_GIFTERS, room_reports

    top = DEFAULT_TOP_GIFTERS if args.top is None else max(0, args.top)
    reports = room_reports(args.db, args.rooms or None, args.since, until=args.until, top=top)
    if args.json:
        out = sys.stdout.buffer
        for report in reports:
            out.write(msgspec.json.encode(report) + b"\n")
        out.flush()
    else:
        print(format_reports(reports))
    return 0


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def format_reports(reports: list[Any]) -> str:
    """The readable form: one table row per room, then each room's top gifters."""
    if not reports:
        return "no rooms with data in that window"
    head = (
        "room", "live", "diamonds", "diamonds/h", "comments", "comments/min", "peak viewers",
        "new followers",
    )  # fmt: skip
    rows = [
        (
            r.room,
            _duration(r.live_seconds),
            f"{r.diamonds:,}",
            _rate(r.diamonds_per_hour),
            f"{r.comments:,}",
            _rate(r.comments_per_minute),
            f"{r.peak_viewers:,}",
            f"{r.new_followers:,}",
        )
        for r in reports
    ]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        return "  ".join(cells).rstrip()

    lines = [line(head), *map(line, rows)]
    if reports[0].since is not None:
        lines.insert(0, f"from {_when(reports[0].since)} to {_when(reports[0].until)}\n")
    for r in reports:
        if not r.top_gifters:
            continue
        lines += ["", f"{r.room}: top gifters"]
        width = max(len(g.unique_id or str(g.user_id)) for g in r.top_gifters) + 1
        for rank, g in enumerate(r.top_gifters, 1):
            who = "@" + g.unique_id if g.unique_id else str(g.user_id)
            lines.append(
                f"  {rank:>2}. {who:<{width}}  {g.diamonds:>10,} diamonds  {g.gifts:>6,} gifts"
            )
    return "\n".join(lines)
