"""``fastlive watch @a @b ...``: a live feed of one or many rooms (``--jsonl``, ``--record DIR``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from fastlive._aio import run
from fastlive._config import (
    CONNECT_MODES,
    DEFAULT_CLOSE_TIMEOUT,
    DEFAULT_MONITOR_QUEUE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_VIDEO_END_GRACE,
)
from fastlive.cli.common import (
    add_endpoint_options,
    parse_duration,
    parse_shard,
    room_arg,
    settings,
    stop_event,
)
from fastlive.cli.format import JsonlWriter, feed_line, status_line
from fastlive.exceptions import FastLiveError
from fastlive.stats import RoomState

__all__ = ["add_parser", "cmd_watch", "watch", "watch_args"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("watch", help="a live feed of one or many rooms")
    _add_arguments(p)
    p.set_defaults(func=cmd_watch)


def watch_args(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed as ``fastlive watch`` would (for commands that run a watch)."""
    parser = argparse.ArgumentParser(prog="fastlive watch")
    _add_arguments(parser)
    return parser.parse_args(argv)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("rooms", nargs="+", metavar="ROOM", help="@handles or room ids")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("--record", type=Path, metavar="DIR", help="record raw frames to DIR")
    p.add_argument("--video", action="store_true", help="with --record: the video too")
    p.add_argument("--streaks", action="store_true", help="one GiftStreakEvent per streak")
    p.add_argument(
        "--shard",
        type=parse_shard,
        metavar="K/N",
        help="watch only this process's share of the rooms (stable by room)",
    )
    p.add_argument("--connect", choices=CONNECT_MODES, help="connection mode (FASTLIVE_CONNECT)")
    p.add_argument("--ws-url", help="direct websocket host: a URL or eu/us (FASTLIVE_WS_URL)")
    p.add_argument(
        "--drop",
        action="store_true",
        help="if output is slower than the rooms, drop the oldest events (counted)",
    )
    p.add_argument(
        "--max-queue",
        type=int,
        default=DEFAULT_MONITOR_QUEUE,
        help=f"events buffered ({DEFAULT_MONITOR_QUEUE})",
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        help=f"seconds between live checks of offline rooms ({DEFAULT_POLL_INTERVAL:g})",
    )
    p.add_argument("--duration", type=parse_duration, help="stop after this long (10m, 1h)")
    p.add_argument(
        "--once", action="store_true", help="exit when every room has ended once (or failed)"
    )
    p.add_argument("--no-color", action="store_true", help="no colours (also NO_COLOR)")
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="store the events: an SQLite file (made if absent) or postgresql://...",
    )
    p.add_argument(
        "--dashboard",
        metavar="HOST:PORT",
        help="serve the live dashboard, its API and /metrics here (such as 127.0.0.1:8765)",
    )
    p.add_argument(
        "--dashboard-token",
        metavar="TOKEN",
        help="the dashboard's token: needed off loopback, then on every request",
    )
    add_endpoint_options(p)


def cmd_watch(args: argparse.Namespace) -> int:
    return run(watch(args))


async def watch(args: argparse.Namespace) -> int:
    """Run a Monitor over the rooms and print its events until told to stop."""
    from fastlive.monitor import Monitor, shard_of

    rooms = [room_arg(r) for r in args.rooms]
    if args.shard:
        k, n = args.shard
        rooms = [r for r in rooms if shard_of(r, n) == k - 1]
        if not rooms:
            print(f"fastlive: shard {k}/{n} holds none of these rooms", file=sys.stderr)
            return 0
    if args.video and not args.record:
        raise FastLiveError("--video needs --record DIR (the video goes beside the frames)")
    monitor = Monitor(
        rooms,
        settings=settings(args),
        overflow="drop_oldest" if args.drop else "block",
        max_queue=args.max_queue,
        poll_interval=args.poll_interval,
        gift_streaks=args.streaks,
        record_dir=args.record,
        sinks=_sinks(args),
    )
    stop = stop_event(args.duration)
    sessions_done: set[str] = set()
    all_ended = [False]

    def on_state(room: Any, old: RoomState, new: RoomState) -> None:
        if old is RoomState.LIVE and new is RoomState.ENDED:
            sessions_done.add(room.key)
        settled = all(
            r.state is RoomState.FAILED or r.key in sessions_done for r in monitor.rooms.values()
        )
        if settled and (
            args.once or all(r.state is RoomState.FAILED for r in monitor.rooms.values())
        ):
            all_ended[0] = True
            stop.set()

    monitor.add_state_listener(on_state)
    dashboard = _dashboard(args, monitor)
    videos: dict[str, asyncio.Task[Any]] = {}
    if args.video:
        monitor.add_state_listener(
            lambda room, old, new: _video_on_state(monitor, args.record, videos, room, new)
        )
    out = sys.stdout
    # NO_COLOR is the terminal's convention (no-color.org), not a fastlive setting
    colour = out.isatty() and not args.no_color and "NO_COLOR" not in os.environ
    status_tty = sys.stderr.isatty() and not args.jsonl
    counted = [0]

    jsonl = JsonlWriter(getattr(out, "buffer", None) or _TextOut(out)) if args.jsonl else None

    async def consume() -> None:
        write = out.write
        stream = monitor.events()
        try:
            async for room, event in stream:
                counted[0] += 1
                if jsonl is None:
                    write(feed_line(room, event, colour) + "\n")
                    continue
                jsonl.add(room, event)
                if not stream.pending:  # the stream ran dry: give the rooms one turn, then write
                    await asyncio.sleep(0)
                    if not stream.pending:
                        jsonl.flush()
        finally:
            if jsonl is not None:
                jsonl.close()  # Ctrl-C, the end of the streams: nothing buffered is lost

    async def status() -> None:
        last, last_t = 0, time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            out.flush()
            if not status_tty:
                continue
            now = time.monotonic()
            rate = (counted[0] - last) / max(now - last_t, 1e-9)
            last, last_t = counted[0], now
            sys.stderr.write("\r\033[K" + status_line(monitor, rate, counted[0]))
            sys.stderr.flush()

    async with monitor:
        if dashboard is not None:
            await dashboard.start()
            print(f"fastlive: dashboard on {dashboard.url}", file=sys.stderr, flush=True)
        tasks = [asyncio.ensure_future(consume()), asyncio.ensure_future(status())]
        await stop.wait()
        if videos:  # stopped before the Monitor closes: the videos use its HTTP client
            if all_ended[0]:  # the rooms ended, so do their videos: let them finish
                await asyncio.wait(list(videos.values()), timeout=DEFAULT_VIDEO_END_GRACE)
            for task in videos.values():
                task.cancel()
            await asyncio.gather(*videos.values(), return_exceptions=True)
        if dashboard is not None:
            await dashboard.aclose()
    # the Monitor ended the stream after its last event: let the consumer write them all
    await asyncio.wait(tasks[:1], timeout=DEFAULT_CLOSE_TIMEOUT)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.flush()
    if status_tty:
        sys.stderr.write("\r\033[K")
    for sink in monitor.sinks:
        st = sink.stats
        print(f"fastlive: {sink.name}: {st.written} events written "
              f"({st.spilled} spilled, {st.dropped} dropped)", file=sys.stderr)  # fmt: skip
    return _summary(monitor)


def _sinks(args: argparse.Namespace) -> list[Any]:
    """``--db PATH_OR_URL``: the database the events go to (checked now, opened with the rooms)."""
    if not args.db:
        return []
    from fastlive.sinks import open_sink

    return [open_sink(args.db)]


def _dashboard(args: argparse.Namespace, monitor: Any) -> Any:
    """``--dashboard HOST:PORT``: the Dashboard to serve (checked now, started with the rooms)."""
    if not args.dashboard:
        if args.dashboard_token:
            raise FastLiveError("--dashboard-token needs --dashboard HOST:PORT")
        return None
    from fastlive.dashboard import Dashboard, parse_address

    host, port = parse_address(args.dashboard)
    return Dashboard(monitor, host, port, token=args.dashboard_token)


class _TextOut:
    """A text stream without ``.buffer`` (a test's ``StringIO``) as JsonlWriter's bytes output."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def write(self, data: bytes | bytearray) -> None:
        self._out.write(bytes(data).decode())

    def flush(self) -> None:
        self._out.flush()


def _summary(monitor: Any) -> int:
    """The rooms that failed, one line each, then the totals; 1 if every room failed."""
    stats = monitor.stats
    rooms = list(monitor.rooms.values())
    # failed for good, or never connected because of an error that was still being retried
    bad = [
        r for r in rooms if r.state is RoomState.FAILED or (r.sessions == 0 and r.error is not None)
    ]
    for room in bad:
        never = "" if room.state is RoomState.FAILED else "never connected: "
        print(f"fastlive: {room.name}: {never}{room.error}", file=sys.stderr)
    print(
        f"{stats.events_total} events from {len(rooms)} rooms "
        f"({stats.frames} frames, {stats.reconnects} reconnects, {stats.dropped} dropped)",
        file=sys.stderr,
    )
    return 1 if rooms and len(bad) == len(rooms) else 0


def _video_on_state(
    monitor: Any, folder: Path, videos: dict[str, asyncio.Task[Any]], room: Any, new: Any
) -> None:
    """``watch --record DIR --video``: record each room's video while it is live."""
    from fastlive.record.room_video import record_room_video

    if new is not RoomState.LIVE or room.key in videos and not videos[room.key].done():
        return
    name = re.sub(r"[^\w.-]", "_", room.unique_id or str(room.room_id))
    path = folder / f"{name}.{room.sessions}.flv"
    room_id = room.room_id

    async def record() -> None:
        try:
            await record_room_video(
                monitor.http,
                lambda: monitor.web.fetch_room_info(room_id),
                path,
                manifest=True,
                wallclock=time.time,
                overwrite=True,
            )
        except FastLiveError as exc:
            print(f"fastlive: {room.name}: video: {exc}", file=sys.stderr)

    videos[room.key] = asyncio.ensure_future(record())
