"""The ``fastlive`` command: a thin face over the library.

    fastlive watch @a @b ...        live feed of one or many rooms (--jsonl, --record DIR)
    fastlive live @a @b ...         who is live now
    fastlive info @a                room info and stream URLs
    fastlive video @a               record the live video (FLV; --mp4 with ffmpeg)
    fastlive replay FILE            replay a recording (--serve: as a fake TikTok)
    fastlive decode PATH            decode captured frames or payloads
    fastlive bench                  the decode benchmark (from a source checkout)

Every base URL has a flag and an environment variable (``--web-url`` /
``FASTLIVE_WEB_URL``, ``--webcast-url`` / ``FASTLIVE_WEBCAST_URL``,
``--sign-api-url`` / ``SIGN_API_URL``), so the command runs against
``fastlive.testing.FakeTikTok`` as well as TikTok.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import runpy
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from fastlive._aio import run
from fastlive._config import (
    CONNECT_MODES,
    DEFAULT_MONITOR_QUEUE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_VIDEO_END_GRACE,
    Settings,
)
from fastlive._decode import decode, decode_message
from fastlive.events import BaseEvent, ClientEvent, DecodeErrorEvent, GiftStreakEvent
from fastlive.exceptions import DecodeError, FastLiveError, UserOfflineError
from fastlive.stats import RoomState

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
        return DecodeErrorEvent(
            raw=payload, method=method, reason=f"{path.name}: {exc.reason}", offset=exc.offset
        )


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


# -- shared helpers ------------------------------------------------------------------

_COLOURS = {
    "CommentEvent": "\033[97m",
    "GiftEvent": "\033[95m",
    "GiftStreakEvent": "\033[1;95m",
    "LikeEvent": "\033[91m",
    "JoinEvent": "\033[90m",
    "FollowEvent": "\033[92m",
    "ShareEvent": "\033[92m",
    "LiveEndEvent": "\033[1;93m",
    "ConnectEvent": "\033[1;96m",
    "DisconnectEvent": "\033[1;93m",
    "ReconnectEvent": "\033[33m",
    "ErrorEvent": "\033[31m",
}
_RESET = "\033[0m"
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``10m`` or ``1.5h``."""
    match = _DURATION_RE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use 90, 90s, 10m or 1h")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1-based) to ``(K, N)``."""
    k, sep, n = text.partition("/")
    try:
        shard, total = int(k), int(n)
    except ValueError:
        shard = total = 0
    if not sep or total < 1 or not 1 <= shard <= total:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shard: use K/N with 1 <= K <= N")
    return shard, total


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        web_url=getattr(args, "web_url", None),
        webcast_url=getattr(args, "webcast_url", None),
        sign_api_url=getattr(args, "sign_api_url", None),
        connect=getattr(args, "connect", None),
        ws_url=getattr(args, "ws_url", None),
    )


def _room_arg(text: str) -> str | int:
    """A room id (digits, 6 or more) or a handle."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) >= 6 else text


def _describe(event: Any) -> str:
    """The human part of a feed line."""
    if isinstance(event, GiftStreakEvent):
        name = event.gift.name if event.gift is not None else event.gift_id
        end = " (timed out)" if event.timed_out else ""
        return f"{name} x{event.count} = {event.diamonds} diamonds{end}"
    if isinstance(event, ClientEvent):
        parts = [
            f"{k}={v}"
            for k, v in msgspec.structs.asdict(event).items()
            if k != "exception" and v not in (None, "", 0)
        ]
        return " ".join(parts)
    return _line(event).split(None, 1)[1].strip() if " " in _line(event) else ""


def _to_json(room: Any, event: Any) -> dict[str, Any]:
    data = event.to_dict()
    data.pop("exception", None)
    out = {
        "type": data.pop("type"),
        "room": room.key,
        "room_id": getattr(event, "room_id", 0) or room.room_id,
        "msg_id": data.pop("msg_id", None),
    }
    data.pop("room_id", None)
    out.update(data)
    return out


def _enc_hook(obj: Any) -> Any:
    return repr(obj)


# -- watch ---------------------------------------------------------------------------


async def _watch(args: argparse.Namespace) -> int:
    from fastlive.monitor import Monitor, shard_of

    rooms = [_room_arg(r) for r in args.rooms]
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
        settings=_settings(args),
        overflow="drop_oldest" if args.drop else "block",
        max_queue=args.max_queue,
        poll_interval=args.poll_interval,
        gift_streaks=args.streaks,
        record_dir=args.record,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if args.duration:
        loop.call_later(args.duration, stop.set)
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
    videos: dict[str, asyncio.Task[Any]] = {}
    if args.video:
        monitor.add_state_listener(
            lambda room, old, new: _video_on_state(monitor, args.record, videos, room, new)
        )
    out = sys.stdout
    colour = out.isatty() and not args.no_color and "NO_COLOR" not in os.environ
    status_tty = sys.stderr.isatty() and not args.jsonl
    encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
    counted = [0]

    async def consume() -> None:
        write = out.write
        async for room, event in monitor.events():
            counted[0] += 1
            if args.jsonl:
                write(encoder.encode(_to_json(room, event)).decode() + "\n")
                continue
            name = type(event).__name__
            text = f"{time.strftime('%H:%M:%S')} {room.name:<20} {name:<18} {_describe(event)}"
            if colour:
                text = f"{_COLOURS.get(name, '')}{text}{_RESET}"
            write(text + "\n")

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
            line = _status_line(monitor, rate, counted[0])
            sys.stderr.write("\r\033[K" + line)
            sys.stderr.flush()

    async with monitor:
        tasks = [asyncio.ensure_future(consume()), asyncio.ensure_future(status())]
        await stop.wait()
        if videos:  # stopped before the Monitor closes: the videos use its HTTP client
            if all_ended[0]:  # the rooms ended, so do their videos: let them finish
                await asyncio.wait(list(videos.values()), timeout=DEFAULT_VIDEO_END_GRACE)
            for task in videos.values():
                task.cancel()
            await asyncio.gather(*videos.values(), return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.flush()
    if status_tty:
        sys.stderr.write("\r\033[K")
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
    from fastlive.record.video import record_room_video
    from fastlive.stats import RoomState

    if new is not RoomState.LIVE or room.key in videos and not videos[room.key].done():
        return
    name = re.sub(r"[^\w.-]", "_", room.unique_id or str(room.room_id))
    path = folder / f"{name}.{room.sessions}.flv"
    room_id = room.room_id

    async def run() -> None:
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

    videos[room.key] = asyncio.ensure_future(run())


def _status_line(monitor: Any, rate: float, events: int) -> str:
    """The watch command's status line: rooms by state and by connection mode, rates."""
    states, modes = monitor.states(), monitor.modes()
    return (
        f"live {states[RoomState.LIVE]}/{len(monitor.rooms)} "
        f"(direct {modes['direct']}, signed {modes['signed']})  "
        f"waiting {states[RoomState.WAITING]}  {rate:,.1f} ev/s  "
        f"events {events:,}  dropped {monitor.stats.dropped}"
    )


def cmd_watch(args: argparse.Namespace) -> int:
    return _run(_watch(args))


# -- live, info ------------------------------------------------------------------------


async def _live(args: argparse.Namespace) -> int:
    from fastlive.web import TikTokWeb

    async with TikTokWeb(_settings(args)) as web:
        rooms = [_room_arg(r) for r in args.rooms]
        ids: dict[str, int | None] = {}
        errors: dict[str, str] = {}
        for room in rooms:
            key = str(room) if isinstance(room, int) else f"@{room.lstrip('@')}"
            if isinstance(room, int):
                ids[key] = room
                continue
            try:
                ids[key] = await web.fetch_room_id(room)
            except UserOfflineError:
                ids[key] = None
            except FastLiveError as exc:
                ids[key] = None
                errors[key] = str(exc)
        known = [r for r in ids.values() if r is not None]
        alive = dict(zip(known, await web.fetch_is_live_many(known))) if known else {}
    any_live = False
    for key, room_id in ids.items():
        live = bool(room_id and alive.get(room_id))
        any_live |= live
        if args.json:
            row = {"room": key, "room_id": room_id, "live": live, "error": errors.get(key)}
            print(json.dumps(row))
        else:
            what = "live" if live else ("error: " + errors[key] if key in errors else "offline")
            print(f"{key:<28} {what:<8} {room_id or ''}".rstrip())
    return 0 if not errors else 1


def cmd_live(args: argparse.Namespace) -> int:
    return _run(_live(args))


async def _info(args: argparse.Namespace) -> int:
    from fastlive.web import TikTokWeb
    from fastlive.web.streams import parse_stream_urls

    room = _room_arg(args.room)
    async with TikTokWeb(_settings(args)) as web:
        room_id = room if isinstance(room, int) else await web.fetch_room_id(room)
        info = await web.fetch_room_info(room_id)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    owner = info.get("owner") or {}
    status = {2: "live", 3: "paused", 4: "offline"}.get(info.get("status"), info.get("status"))
    print(f"room       {room_id}")
    print(f"host       @{owner.get('display_id', '')} ({owner.get('nickname', '')})")
    print(f"title      {info.get('title', '')}")
    print(f"status     {status}")
    print(f"viewers    {info.get('user_count', '')}")
    try:
        urls = parse_stream_urls(info)
    except FastLiveError as exc:
        print(f"streams    none ({exc})")
        return 0
    print("streams")
    for url in urls:
        rate = f"{url.bitrate / 1e6:.2f} Mbit/s" if url.bitrate else "-"
        print(
            f"  {url.quality:<7} {url.format:<5} {url.resolution or '-':<10} {rate:<13} {url.url}"
        )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    return _run(_info(args))


# -- video ---------------------------------------------------------------------------


async def _video(args: argparse.Namespace) -> int:
    from fastlive.exceptions import StreamQualityError, StreamUnavailableError
    from fastlive.record.video import progress_line, record_room_video, remux_to_mp4
    from fastlive.web import TikTokWeb

    room = _room_arg(args.room)
    name = str(room).lstrip("@")
    path = Path(args.output or f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.flv")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    tty = sys.stderr.isatty()

    def progress(stats: Any) -> None:
        line = progress_line(stats)
        sys.stderr.write(("\r\033[K" + line) if tty else line + "\n")
        sys.stderr.flush()

    async with TikTokWeb(_settings(args)) as web:
        room_id = room if isinstance(room, int) else await web.fetch_room_id(room)
        try:
            stats = await record_room_video(
                web.http,
                lambda: web.fetch_room_info(room_id),
                path,
                quality=args.quality or "hd",
                fallback=args.quality is None,  # a quality asked for by name is a must
                duration=args.duration,
                stop=stop,
                on_progress=progress,
                overwrite=args.force,
            )
        except StreamQualityError as exc:
            raise FastLiveError(f"{exc}: pass one of them to --quality") from None
        except StreamUnavailableError as exc:
            if "offline" not in str(exc):
                raise
            raise FastLiveError(
                f"{exc}; run 'fastlive live {args.room}' to see when it is live"
            ) from None
    if tty:
        sys.stderr.write("\n")
    paths = [str(p) for p in stats.paths]
    print(f"recorded {', '.join(paths)}: {progress_line(stats)}", file=sys.stderr)
    if args.mp4:
        out = await remux_to_mp4(stats.paths, path.with_suffix(".mp4"))
        print(f"remuxed to {out}", file=sys.stderr)
    return 0


def cmd_video(args: argparse.Namespace) -> int:
    return _run(_video(args))


# -- replay, bench ---------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    from fastlive.record.replay import iter_batches, replay

    if args.serve:
        return _run(_serve(args))
    encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
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
                out.write(_line(event) + "\n")

    started = time.perf_counter()
    if args.speed:

        async def paced() -> None:
            async for _, batch in replay(args.file, speed=args.speed, errors=errors):
                emit(batch)
                out.flush()

        _run(paced())
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


async def _serve(args: argparse.Namespace) -> int:
    """Serve a recording as a room of ``FakeTikTok``: any client can connect to it."""
    from fastlive.record.frames import FETCH, FRAME, META, read_records
    from fastlive.testing import FakeTikTok

    records = list(read_records(args.file, kinds={FRAME, META, FETCH}))
    metas = [r.meta() for r in records if r.kind == META]
    frames = [r.data for r in records if r.kind == FRAME]
    fetches = [r.data for r in records if r.kind == FETCH]
    initial = _fetch_messages(fetches[0]) if fetches else []
    meta = metas[0] if metas else {}
    handle = meta.get("unique_id") or "replay"
    room_id = int(meta.get("room_id") or 7_400_000_000_000_000_001)
    stop = _stop_event(args.duration)
    async with FakeTikTok() as fake:
        fake.add_room(
            handle,
            room_id=room_id,
            frames=frames,
            initial=initial,
            replay=True,
            interval=args.interval,
        )
        print(f"# serving {len(frames)} frames of {args.file} as @{handle} (room {room_id})")
        # the recorded backlog (the sign server's first batch) only exists on signed connections
        print(_fake_env(fake, "signed" if initial else None), flush=True)
        await stop.wait()
    return 0


def _fake_env(fake: Any, connect: str | None = None) -> str:
    """A shell line that points fastlive at a fake TikTok (and pins the mode if given)."""
    mode = f" FASTLIVE_CONNECT={connect}" if connect else ""
    return (
        f"export FASTLIVE_WEB_URL={fake.web_url} FASTLIVE_WEBCAST_URL={fake.webcast_url} "
        f"SIGN_API_URL={fake.sign_api_url} FASTLIVE_WS_URL={fake.ws_url}{mode}"
    )


def _stop_event(duration: float | None) -> asyncio.Event:
    """Set on Ctrl-C, SIGTERM, or after ``duration`` seconds."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if duration:
        loop.call_later(duration, stop.set)
    return stop


def _fetch_messages(body: bytes) -> list[tuple[str, bytes, int]]:
    """The messages of a recorded fetch result, as ``FakeTikTok`` rooms take them."""
    from fastlive.proto import webcast_pb2 as pb

    result = pb.ProtoMessageFetchResult()
    try:
        result.ParseFromString(body)
    except Exception:  # noqa: BLE001  (protobuf's DecodeError: serve without a backlog)
        return []
    return [(m.method, m.payload, m.msg_id) for m in result.messages]


# -- demo ------------------------------------------------------------------------------

DEMO_ROOM_BASE = 7_490_000_000_000_000_001


async def _demo(args: argparse.Namespace) -> int:
    """``watch`` over made-up rooms of a loopback ``FakeTikTok``: the whole stack, offline."""
    from fastlive.testing import FakeTikTok, random_traffic
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        handles = []
        for i in range(args.rooms):
            room_id = DEMO_ROOM_BASE + i
            handle = f"demo.host{i + 1}"
            frames = list(random_traffic(seed=i + 1, n_frames=args.frames, room_id=room_id))
            # rooms end at different times: each sends its frames at its own pace
            fake.add_room(
                handle,
                room_id=room_id,
                frames=frames,
                interval=args.interval * (1 + i / 2),
                ends=not args.serve,
                # served rooms stream an endless video in real time: 25 fps, 3 tags a frame
                video=GeneratedFLV(media_tags=None) if args.serve else None,
                video_options={"rate": 75} if args.serve else None,
            )
            handles.append(f"@{handle}")
        if args.serve:
            print(f"# {len(handles)} made-up rooms with video: {' '.join(handles)}", flush=True)
            print(_fake_env(fake), flush=True)
            await _stop_event(args.duration).wait()
            return 0
        argv = [
            "watch",
            *handles,
            "--once",
            "--web-url",
            fake.web_url,
            "--webcast-url",
            fake.webcast_url,
            "--sign-api-url",
            fake.sign_api_url,
            "--ws-url",
            fake.ws_url,
            "--connect",
            args.connect,
        ]
        if args.jsonl:
            argv.append("--jsonl")
        if args.no_color:
            argv.append("--no-color")
        print(
            f"fastlive demo: {args.rooms} made-up rooms on a local fake TikTok at "
            f"{fake.web_url} ({args.connect} connections)",
            file=sys.stderr,
        )
        return await _watch(build_parser().parse_args(argv))


def cmd_demo(args: argparse.Namespace) -> int:
    return _run(_demo(args))


def cmd_bench(args: argparse.Namespace) -> int:
    script = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_decode.py"
    if not script.is_file():
        raise FastLiveError(
            "the benchmarks live in the source tree, not in the installed package: "
            "run 'fastlive bench' from a checkout installed with pip install -e ."
        )
    sys.path.insert(0, str(script.parent))
    sys.argv = [str(script), *args.bench_args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


def _run(coro: Any) -> int:
    return run(coro)


# -- parser ----------------------------------------------------------------------------


def _urls(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "endpoints (also FASTLIVE_WEB_URL, FASTLIVE_WEBCAST_URL, SIGN_API_URL)"
    )
    g.add_argument("--web-url", help="TikTok's web site (https://www.tiktok.com)")
    g.add_argument("--webcast-url", help="TikTok's webcast API (https://webcast.tiktok.com)")
    g.add_argument("--sign-api-url", help="the sign server (SIGN_API_URL); key: SIGN_API_KEY")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastlive",
        description="TikTok LIVE events from the command line.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections (INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("watch", help="a live feed of one or many rooms")
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
    _urls(p)
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("live", help="check who is live")
    p.add_argument("rooms", nargs="+", metavar="ROOM", help="@handles or room ids")
    p.add_argument("--json", action="store_true", help="one JSON object per room")
    _urls(p)
    p.set_defaults(func=cmd_live)

    p = sub.add_parser("info", help="room info and stream URLs")
    p.add_argument("room", metavar="ROOM", help="@handle or room id")
    p.add_argument("--json", action="store_true", help="the raw room info JSON")
    _urls(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("video", help="record a room's live video")
    p.add_argument("room", metavar="ROOM", help="@handle or room id")
    p.add_argument(
        "--quality",
        help="origin, uhd, hd, sd, ld, best or worst (default: hd, or the nearest offered)",
    )
    p.add_argument("--duration", type=parse_duration, help="stop after this long (10m, 1h)")
    p.add_argument("-o", "--output", help="file name (default HANDLE-DATE.flv)")
    p.add_argument("--mp4", action="store_true", help="remux to MP4 at the end (ffmpeg)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    _urls(p)
    p.set_defaults(func=cmd_video)

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
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("decode", help="decode recorded frames or payloads and print the events")
    p.add_argument("path", help="a capture file or a folder of them (.json, .bin, raw frames)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("demo", help="watch made-up rooms of a local fake TikTok (no network)")
    p.add_argument("--rooms", type=int, default=3, help="how many rooms (3)")
    p.add_argument("--frames", type=int, default=20, help="frames per room (20)")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between frames (0.1)")
    p.add_argument("--connect", choices=CONNECT_MODES, default="auto", help="connection mode")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per event")
    p.add_argument("--no-color", action="store_true", help="no colours (also NO_COLOR)")
    p.add_argument(
        "--serve",
        action="store_true",
        help="keep the fake running (rooms with video) and print the environment that points "
        "other fastlive commands at it",
    )
    p.add_argument("--duration", type=parse_duration, help="--serve: stop after this long")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("bench", help="run the decode benchmark (benchmarks/bench_decode.py)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="its options (--quick, -n...)")
    p.set_defaults(func=cmd_bench)
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
