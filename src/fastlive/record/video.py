"""Record the live video to disk: FLV over HTTP, straight to files, no ffmpeg needed.

:class:`VideoRecorder` streams one FLV URL through an ``httpx.AsyncClient``
(so its proxy and cookie jar apply) and writes whole tags only, in constant
memory.  Files are written as ``name.flv.part`` and renamed to ``name.flv``
when finished, so a file without ``.part`` is always complete and valid FLV.

It stops cleanly when ``stop`` (an ``asyncio.Event``; the client sets it on
``LiveEndEvent``) is set, when ``duration`` has passed, when the stream ends,
or when cancelled (Ctrl-C).  A dropped or stalled connection reconnects (a
fresh URL from ``refresh_url()`` when the old one answers 403/404) and goes on
in the next numbered segment: ``name.flv``, ``name.001.flv``, ``name.002.flv``.
Tags the server sends again after a reconnect are skipped
(:class:`fastlive.record.flv.TagDeduplicator`); media time lost in between is logged
and counted in :attr:`RecordingStats.gaps`.

    recorder = VideoRecorder(url, "out.flv", http=http, duration=600)
    stats = await recorder.run()
    if shutil.which("ffmpeg"):
        await remux_to_mp4(stats.paths, "out.mp4")
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import IO, Any

import httpx
import msgspec

from fastlive._config import (
    DEFAULT_VIDEO_BACKOFF_INITIAL,
    DEFAULT_VIDEO_BACKOFF_MAX,
    DEFAULT_VIDEO_BITRATE_WINDOW,
    DEFAULT_VIDEO_CONNECT_TIMEOUT,
    DEFAULT_VIDEO_GAP_TOLERANCE_MS,
    DEFAULT_VIDEO_PROGRESS_INTERVAL,
    DEFAULT_VIDEO_RECONNECT_ATTEMPTS,
    DEFAULT_VIDEO_STALL_TIMEOUT,
)
from fastlive.exceptions import (
    DiskFullError,
    FastLiveError,
    FLVError,
    StreamError,
    StreamHTTPError,
    StreamStalledError,
    StreamUnavailableError,
)
from fastlive.record.flv import DEFAULT_MAX_TAG_SIZE, SCRIPT, FLVParser, FLVTag, TagDeduplicator
from fastlive.session import backoff_delay
from fastlive.web import safe_url
from fastlive.web.streams import StreamUrl

__all__ = [
    "RecordingStats",
    "SegmentInfo",
    "VideoRecorder",
    "segment_path",
]

logger = logging.getLogger("fastlive.record.video")

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_EXPIRED = {403, 404, 410}
VIDEO_BACKOFF_FACTOR = 2.0
"""Each failed attempt in a row doubles the wait before the next (up to ``backoff_max``)."""
_SEGMENT_RE = r"\.\d{3}\.flv"

RefreshUrl = Callable[[], Awaitable["str | StreamUrl"]]


class SegmentInfo(msgspec.Struct, kw_only=True):
    """One finished file of a recording.

    ``started_at`` is the wall-clock time (the recorder's ``wallclock``) when its
    first tag was written; a media timestamp ``ts`` of this file happened at about
    ``started_at + (ts - first_timestamp) / 1000``.
    """

    path: str
    started_at: float
    first_timestamp: int | None = None
    last_timestamp: int | None = None
    tags: int = 0
    bytes: int = 0


class RecordingStats(msgspec.Struct, kw_only=True):
    """How a recording is going (live, through ``on_progress``) or went (``run()``'s result).

    Attributes:
        elapsed: seconds since recording started.
        bytes: bytes written to disk; ``bytes_received`` counts what came over HTTP.
        bitrate: bit/s received over the last few seconds.
        segments: files started so far; ``paths`` the finished ones.
        reconnects: connections after the first; ``gaps`` the reconnects that lost
            media time (``gap_ms`` of it, where the timestamps tell).
        skipped_tags: tags sent again after a reconnect and not written twice.
        stop_reason: ``"ended"`` (the stream ended), ``"stopped"`` (the stop event),
            ``"duration"``, ``"cancelled"``, or ``"error"``; empty while recording.
    """

    elapsed: float = 0.0
    bytes: int = 0
    bytes_received: int = 0
    bitrate: float = 0.0
    tags: int = 0
    segments: int = 0
    reconnects: int = 0
    gaps: int = 0
    gap_ms: int = 0
    skipped_tags: int = 0
    stop_reason: str = ""
    paths: list[str] = msgspec.field(default_factory=list)
    segment_info: list[SegmentInfo] = msgspec.field(default_factory=list)


class _Retry(Exception):
    """One connection failed in a way worth another try (internal)."""

    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        self.kind = kind  # "drop", "stall", "status", "eof", "flv"
        self.status = status
        super().__init__(message)


def segment_path(path: str | Path, number: int) -> Path:
    """The file of segment ``number``: ``name.flv`` for 0, then ``name.001.flv``...

    ``path`` may end in ``.flv`` (or ``.mp4``, replaced by ``.flv``) or have no suffix.
    """
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lower() in (".flv", ".mp4") else path
    suffix = ".flv" if number == 0 else f".{number:03d}.flv"
    return base.with_name(base.name + suffix)


class VideoRecorder:
    """Record one live FLV stream to ``path`` and its numbered segments.

    Args:
        url: the FLV URL (a string, or a :class:`~fastlive.web.streams.StreamUrl`).
        path: the first file; later segments are numbered (:func:`segment_path`).
        http: the ``httpx.AsyncClient`` to use (proxy, cookies); one is made if None.
        refresh_url: async callable returning a fresh URL, called when the URL
            answers 403/404/410 or the stream ends while the room may still be live;
            raising :class:`~fastlive.exceptions.StreamUnavailableError` means the
            room is offline: the recording ends normally.
        headers: extra request headers (User-Agent, Referer).
        duration: stop after this many seconds (None: no limit).
        stop: stop when this event is set (e.g. on ``LiveEndEvent``).
        stall_timeout: seconds without a byte before reconnecting.
        reconnect_attempts: failed connections in a row before giving up.
        on_progress: called with :class:`RecordingStats` every ``progress_interval``.
        overwrite: replace existing files of the same name (default: refuse).
        manifest: at the end, write ``name.video.json`` (the stats and each segment's
            wall-clock start, to line the video up with recorded events).
        wallclock: the clock of ``SegmentInfo.started_at`` (share it with the events).
        clock: the monotonic clock of ``duration``, ``elapsed`` and the bitrate
            (``time.monotonic``; injectable, so tests need no wall clock).
        sleep: the wait between failed attempts (``asyncio.sleep``; injectable too).
    """

    def __init__(
        self,
        url: str | StreamUrl,
        path: str | Path,
        *,
        http: httpx.AsyncClient | None = None,
        refresh_url: RefreshUrl | None = None,
        headers: Mapping[str, str] | None = None,
        duration: float | None = None,
        stop: asyncio.Event | None = None,
        stall_timeout: float = DEFAULT_VIDEO_STALL_TIMEOUT,
        connect_timeout: float = DEFAULT_VIDEO_CONNECT_TIMEOUT,
        reconnect_attempts: int = DEFAULT_VIDEO_RECONNECT_ATTEMPTS,
        backoff_initial: float = DEFAULT_VIDEO_BACKOFF_INITIAL,
        backoff_max: float = DEFAULT_VIDEO_BACKOFF_MAX,
        gap_tolerance_ms: int = DEFAULT_VIDEO_GAP_TOLERANCE_MS,
        max_tag_size: int = DEFAULT_MAX_TAG_SIZE,
        on_progress: Callable[[RecordingStats], Any] | None = None,
        progress_interval: float = DEFAULT_VIDEO_PROGRESS_INTERVAL,
        overwrite: bool = False,
        manifest: bool = False,
        wallclock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if duration is not None and duration <= 0:
            raise ValueError("duration must be positive (or None for no limit)")
        self._url = url.url if isinstance(url, StreamUrl) else str(url)
        self.path = Path(path)
        self._http = http
        self._refresh = refresh_url
        self._headers = dict(headers or {})
        self.duration = duration
        self._stop = stop
        self._timeout = httpx.Timeout(connect_timeout, read=stall_timeout)
        self.stall_timeout = stall_timeout
        self.reconnect_attempts = reconnect_attempts
        self._backoff = (backoff_initial, backoff_max)
        self.gap_tolerance_ms = gap_tolerance_ms
        self.max_tag_size = max_tag_size
        self._on_progress = on_progress
        self.progress_interval = progress_interval
        self.overwrite = overwrite
        self.manifest = manifest
        self._wallclock = wallclock
        self._clock = clock
        self._sleep = sleep
        self.stats = RecordingStats()
        self._dedup = TagDeduplicator()
        self._file: IO[bytes] | None = None
        self._segment: SegmentInfo | None = None
        self._part: Path | None = None
        self._pending_config: list[bytes] = []
        self._header = b""
        self._after_reconnect = False
        self._last_media_ts: int | None = None
        self._started: float | None = None
        self._samples: deque[tuple[float, int]] = deque()
        self._running = False

    # -- public --------------------------------------------------------------------------

    async def run(self) -> RecordingStats:
        """Record until the stream ends, ``stop`` is set, ``duration`` passes or cancel.

        Returns:
            the final :class:`RecordingStats` (``paths``: the files, in order).

        Raises:
            DiskFullError: the disk filled up; what was written is kept (``.paths``).
            StreamHTTPError: the URL answered 403/404... and no fresh one worked.
            StreamStalledError, StreamError, FLVError: reconnecting did not help.
            asyncio.CancelledError: when cancelled, after closing the files.
        """
        if self._running:
            raise RuntimeError("this VideoRecorder is already running")
        self._check_free_names()
        self._running = True
        own_http = self._http is None
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=True)
        self._started = self._clock()
        main = asyncio.ensure_future(self._record())
        stop_wait = asyncio.ensure_future(self._stop.wait()) if self._stop is not None else None
        try:
            reason = await self._supervise(main, stop_wait)
            self.stats.stop_reason = reason
        except asyncio.CancelledError:
            self.stats.stop_reason = self.stats.stop_reason or "cancelled"
            raise
        except BaseException:
            self.stats.stop_reason = "error"
            raise
        finally:
            for task in (main, stop_wait):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            self._close_segment()
            self._tick()
            if self.manifest:
                self._write_manifest()
            if own_http:
                await self._http.aclose()
            self._running = False
        return self.stats

    # -- supervision ------------------------------------------------------------------------

    async def _supervise(
        self, main: asyncio.Future[str], stop_wait: asyncio.Future[Any] | None
    ) -> str:
        waiters = {main} if stop_wait is None else {main, stop_wait}
        assert self._started is not None
        deadline = None if self.duration is None else self._started + self.duration
        while True:
            timeout = self.progress_interval
            if deadline is not None:
                timeout = min(timeout, max(0.0, deadline - self._clock()))
            done, _ = await asyncio.wait(
                waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            self._tick()
            if main in done:
                return main.result()  # raises the recording's error, if any
            if stop_wait is not None and stop_wait in done:
                logger.info("recording stopped (the stop event was set)")
                return "stopped"
            if deadline is not None and self._clock() >= deadline:
                logger.info("recording stopped: %.0f s recorded", self.duration)
                return "duration"

    def _tick(self) -> None:
        """Update elapsed time and bitrate; report progress."""
        now = self._clock()
        stats = self.stats
        stats.elapsed = 0.0 if self._started is None else now - self._started
        samples = self._samples
        samples.append((now, stats.bytes_received))
        while len(samples) > 2 and now - samples[1][0] >= DEFAULT_VIDEO_BITRATE_WINDOW:
            samples.popleft()
        t0, b0 = samples[0]
        stats.bitrate = 8 * (stats.bytes_received - b0) / (now - t0) if now > t0 else 0.0
        if self._on_progress is not None:
            try:
                self._on_progress(stats)
            except Exception:  # a broken progress display must not stop the recording
                logger.exception("on_progress failed")

    # -- the connection loop -------------------------------------------------------------------

    async def _record(self) -> str:
        url = self._url
        failures = 0
        first = True
        ended = False  # the last connection that sent data ended cleanly
        while True:
            if not first:
                self._dedup.reconnected()
                self._after_reconnect = True
                self.stats.reconnects += 1
            first = False
            tags_before = self.stats.tags
            try:
                await self._copy(url)
                raise AssertionError("unreachable: _copy always ends in _Retry")
            except _Retry as exc:
                last = exc
            finally:
                self._close_segment()
            got_data = self.stats.tags > tags_before
            failures = 1 if got_data else failures + 1
            if got_data or last.kind == "eof":
                ended = last.kind == "eof"
            expired = last.kind == "status" and last.status in _EXPIRED
            if last.kind == "eof" or expired:
                # The URL is spent: the stream ended, or the URL expired.  Room info says
                # whether the room is still live, and where its stream is now.
                if self._refresh is None:
                    if last.kind == "eof":
                        logger.info("the stream ended")
                        return "ended"
                    raise self._give_up(last)
                try:
                    url = await self._fresh_url()
                except StreamUnavailableError:
                    logger.info("the room is offline: the stream ended")
                    return "ended"
                except FastLiveError as exc:  # room info failed: try the old URL again
                    logger.warning("could not refresh the stream URL: %s", exc)
            if failures > self.reconnect_attempts:
                if ended and last.status in (404, 410):
                    logger.info("the stream ended (its URL now answers %d)", last.status)
                    return "ended"
                raise self._give_up(last)
            logger.warning(
                "video stream %s: %s; reconnecting (attempt %d of %d)",
                safe_url(url),
                last,
                failures,
                self.reconnect_attempts,
            )
            if not got_data:
                await self._sleep(self._delay(failures))

    async def _fresh_url(self) -> str:
        assert self._refresh is not None
        fresh = await self._refresh()
        return fresh.url if isinstance(fresh, StreamUrl) else str(fresh)

    def _delay(self, failures: int) -> float:
        initial, cap = self._backoff
        return backoff_delay(failures, initial, VIDEO_BACKOFF_FACTOR, cap, jitter=0.0)

    def _give_up(self, last: _Retry) -> StreamError:
        paths = tuple(self.stats.paths)
        kept = f"; kept {len(paths)} file(s)" if paths else ""
        if last.kind == "status" and last.status is not None:
            return StreamHTTPError(f"{last}{kept}", status=last.status, paths=paths)
        if last.kind == "stall":
            return StreamStalledError(
                f"The video stream sent nothing for {self.stall_timeout:g} s, "
                f"{self.reconnect_attempts} times in a row{kept}: the stream may be paused "
                "or blocked; try again later or through a proxy",
                paths=paths,
            )
        return StreamError(
            f"The video stream failed {self.reconnect_attempts} times in a row "
            f"({last}){kept}: check the network or proxy and try again",
            paths=paths,
        )

    async def _copy(self, url: str) -> None:
        """One connection: stream ``url`` into the current segment until it ends or fails."""
        assert self._http is not None
        parser = FLVParser(max_tag_size=self.max_tag_size)
        try:
            async with self._http.stream(
                "GET", url, headers=self._headers, timeout=self._timeout
            ) as response:
                status = response.status_code
                if status != 200:
                    raise _Retry("status", _status_message(status, url), status)
                async for chunk in response.aiter_bytes():
                    self.stats.bytes_received += len(chunk)
                    tags = parser.feed(chunk)
                    if tags:
                        self._write_tags(parser, tags)
        except FLVError as exc:
            raise _Retry("flv", str(exc)) from None
        except httpx.ReadTimeout:
            raise _Retry("stall", f"no bytes for {self.stall_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise _Retry("drop", f"connection lost ({type(exc).__name__})") from None
        if parser.buffered:
            logger.info("the stream ended inside a tag; %d bytes of it dropped", parser.buffered)
        raise _Retry("eof", "the stream ended")

    # -- writing -------------------------------------------------------------------------------

    def _write_tags(self, parser: FLVParser, tags: list[FLVTag]) -> None:
        out: list[bytes] = []
        count = 0
        dedup = self._dedup
        segment = self._segment
        last_ts = self._last_media_ts
        for tag in tags:
            if not dedup.is_new(tag):
                continue
            media = tag.kind != SCRIPT and not tag.is_config
            if segment is None:
                if not media:  # config tags wait for the segment's first new media tag
                    self._pending_config.append(tag.raw)
                    continue
                assert parser.header is not None
                self._header = parser.header.raw
                out.append(self._header)
                out += self._pending_config
                count += len(self._pending_config)
                self._pending_config = []
                segment = self._open_segment(tag.timestamp)
            if media:
                if self._after_reconnect:
                    self._after_reconnect = False
                    self._note_gap(last_ts, tag.timestamp)
                last_ts = tag.timestamp
            out.append(tag.raw)
            count += 1
        if out:
            assert segment is not None
            self._last_media_ts = last_ts
            segment.last_timestamp = last_ts
            self._write(b"".join(out))
            segment.tags += count
            self.stats.tags += count

    def _note_gap(self, last_ts: int | None, ts: int) -> None:
        stats = self.stats
        stats.skipped_tags += self._dedup.skipped
        if self._dedup.timeline_reset or last_ts is None:
            stats.gaps += 1
            logger.warning(
                "reconnected: the stream's clock restarted, so the time lost is unknown (gap %d)",
                stats.gaps,
            )
            return
        gap = ts - last_ts
        if gap > self.gap_tolerance_ms:
            stats.gaps += 1
            stats.gap_ms += gap
            logger.warning(
                "reconnected: %d ms of video lost between %d and %d ms (gap %d)",
                gap,
                last_ts,
                ts,
                stats.gaps,
            )
        else:
            logger.info(
                "reconnected without a gap (%d tags already written were skipped)",
                self._dedup.skipped,
            )

    def _open_segment(self, first_ts: int) -> SegmentInfo:
        number = self.stats.segments
        final = segment_path(self.path, number)
        part = final.with_name(final.name + ".part")
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(part, "wb", buffering=0)  # noqa: SIM115 (closed in _close_segment)
        except OSError as exc:
            raise self._disk_error(exc, final) from None
        self._part = part
        self._segment = SegmentInfo(
            path=str(final), started_at=self._wallclock(), first_timestamp=first_ts
        )
        self.stats.segments += 1
        logger.info("recording to %s", final)
        return self._segment

    def _write(self, data: bytes) -> None:
        assert self._file is not None and self._segment is not None
        view = memoryview(data)
        try:
            while view:
                n = self._file.write(view)
                view = view[n:]
        except OSError as exc:
            path = Path(self._segment.path)
            try:  # back to the last complete tag
                self._file.truncate(self._segment.bytes)
            except OSError:  # cannot: leave it as .part, not looking complete
                self._file.close()
                self._file = None
            self._close_segment()
            raise self._disk_error(exc, path) from None
        self._segment.bytes += len(data)
        self.stats.bytes += len(data)

    def _disk_error(self, exc: OSError, path: Path) -> StreamError:
        paths = tuple(self.stats.paths)
        kept = ", ".join(paths) if paths else "nothing"
        if exc.errno in _DISK_FULL:
            return DiskFullError(
                f"The disk is full (or a file size limit was hit) writing {path}: recording "
                f"stopped. Kept {kept} (valid up to the last complete tag); free some space "
                "and record again",
                paths=paths,
            )
        return StreamError(
            f"Could not write {path} ({exc.strerror or exc}): recording stopped; kept {kept}",
            paths=paths,
        )

    def _close_segment(self) -> None:
        """Close the open segment and give it its final name (it is complete now)."""
        self._pending_config = []
        file, segment, part = self._file, self._segment, self._part
        self._file = self._segment = self._part = None
        if file is None or segment is None or part is None:
            return
        file.close()
        if segment.bytes <= len(self._header):  # nothing but the header made it
            part.unlink(missing_ok=True)
            return
        os.replace(part, segment.path)
        self.stats.paths.append(segment.path)
        self.stats.segment_info.append(segment)

    def _check_free_names(self) -> None:
        first = segment_path(self.path, 0)
        pattern = re.compile(re.escape(first.name[:-4]) + f"(\\.flv|{_SEGMENT_RE})(\\.part)?$")
        folder = first.parent if str(first.parent) else Path(".")
        if not folder.is_dir():
            return
        taken = sorted(p.name for p in folder.iterdir() if pattern.fullmatch(p.name))
        if not taken:
            return
        if not self.overwrite:
            raise StreamError(
                f"{folder / taken[0]} already exists: record to another name, or pass "
                "overwrite=True (--force in the CLI)"
            )
        for name in taken:
            (folder / name).unlink()

    def _write_manifest(self) -> None:
        base = segment_path(self.path, 0)
        target = base.with_name(base.name[:-4] + ".video.json")
        with contextlib.suppress(OSError):
            target.write_bytes(msgspec.json.format(msgspec.json.encode(self.stats)))


def _status_message(status: int, url: str) -> str:
    where = safe_url(url)
    if status == 403:
        return (
            f"The stream URL {where} answered 403 Forbidden: it expired or needs a "
            "logged-in session; fetch fresh stream URLs and try again"
        )
    if status in (404, 410):
        return f"The stream URL {where} answered {status}: the stream ended or the URL expired"
    return f"The stream URL {where} answered HTTP {status}"
