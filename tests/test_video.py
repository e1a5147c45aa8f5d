"""Recording the live video against a real loopback FLV server, faults included."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from fastlive.exceptions import (
    DiskFullError,
    RemuxError,
    StreamError,
    StreamHTTPError,
    StreamStalledError,
    StreamUnavailableError,
)
from fastlive.record.flv import VIDEO, read_flv
from fastlive.record.room_video import record_room_video
from fastlive.record.video import RecordingStats, VideoRecorder, segment_path
from fastlive.testing.flv import FLVServer, GeneratedFLV, media_index, room_stream_url

FAST = {"backoff_initial": 0.01, "progress_interval": 0.05}


@pytest.fixture
async def server():
    async with FLVServer() as srv:
        yield srv


def refresher(server: FLVServer, name: str):
    """refresh_url for a stream: a fresh URL, or 'offline' once the stream ended."""
    calls = []

    async def refresh() -> str:
        calls.append(1)
        if server.streams[name].ended:
            raise StreamUnavailableError("offline")
        return server.url(name)

    refresh.calls = calls  # type: ignore[attr-defined]
    return refresh


def recorded(stats: RecordingStats) -> list[int]:
    """Media indices across every file, in order; checks each file on the way."""
    out = []
    for path in stats.paths:
        tags = list(read_flv(path))  # raises unless valid to the last byte
        assert [t.kind for t in tags[:3]] == [18, 9, 8], "each file starts with config tags"
        for kind in (8, 9):
            stamps = [t.timestamp for t in tags if t.kind == kind and media_index(t) is not None]
            assert stamps == sorted(stamps), f"{path}: timestamps go back"
        out += [i for t in tags if (i := media_index(t)) is not None]
    return out


def no_part_files(folder: Path) -> bool:
    return not list(folder.glob("*.part"))


class Clock:
    """An injected monotonic clock: time moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """An injected ``sleep``: records each wait between attempts, waits for none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def until(condition, what: str) -> None:
    """Let the loop run until ``condition()`` holds (a guard against hanging, not a timing)."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), 30)  # asyncio.timeout needs Python 3.11
    except asyncio.TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_whole_stream_tag_by_tag(server, tmp_path):
    source = GeneratedFLV(media_tags=500)
    stream = server.add_stream("a", source)
    seen = []
    stats = await VideoRecorder(
        server.url("a"),
        tmp_path / "out.flv",
        headers={"User-Agent": "fastlive-test"},
        on_progress=seen.append,
        **FAST,
    ).run()
    assert stats.stop_reason == "ended" and stats.paths == [str(tmp_path / "out.flv")]
    data = (tmp_path / "out.flv").read_bytes()
    assert data == source.build()  # byte for byte what the server sent
    assert recorded(stats) == stream.sent_indices() == list(range(500))
    assert stats.bytes == len(data) and stats.segments == 1 and stats.reconnects == 0
    assert stats.tags == 503 and seen and stats.elapsed > 0
    assert server.requests[0].headers["user-agent"] == "fastlive-test"
    assert no_part_files(tmp_path)


@pytest.mark.parametrize("chunked", [True, False])
async def test_drops_reconnect_into_numbered_segments(server, tmp_path, chunked):
    stream = server.add_stream(
        "a",
        GeneratedFLV(media_tags=2000),
        chunked=chunked,
        drop_after={1: 30_000, 2: 45_000, 3: 7},
        overlap=9,
    )
    stats = await VideoRecorder(
        server.url("a"), tmp_path / "out.flv", refresh_url=refresher(server, "a"), **FAST
    ).run()
    assert stats.stop_reason == "ended"
    assert stats.paths == [str(segment_path(tmp_path / "out.flv", n)) for n in range(3)]
    assert [Path(p).name for p in stats.paths] == ["out.flv", "out.001.flv", "out.002.flv"]
    assert recorded(stats) == list(range(2000))  # every tag once, none lost
    assert len(stream.connections) == 4 and stats.reconnects == 3
    assert stats.gaps == 0 and stats.skipped_tags > 0
    assert no_part_files(tmp_path)


async def test_lost_time_is_logged_and_counted(server, tmp_path, caplog):
    server.add_stream(
        "a", GeneratedFLV(media_tags=600), drop_after={1: 20_000}, skip_on_reconnect=30
    )
    caplog.set_level(logging.INFO, "fastlive.record.video")
    stats = await VideoRecorder(server.url("a"), tmp_path / "v.flv", **FAST).run()
    got = recorded(stats)
    assert len(got) == 600 - 30 and len(set(got)) == len(got)
    assert stats.gaps == 1 and 350 <= stats.gap_ms <= 450  # 30 tags = 10 frames of 40 ms
    assert "ms of video lost" in caplog.text
    assert "sign=" not in caplog.text and "token=" not in caplog.text.replace("?token", "")


async def test_stall_reconnects(server, tmp_path, caplog):
    server.add_stream("a", GeneratedFLV(media_tags=800), stall_after={1: 25_000}, overlap=3)
    caplog.set_level(logging.WARNING, "fastlive.record.video")
    sleeps = Sleeps()
    stats = await VideoRecorder(
        server.url("a"), tmp_path / "v.flv", stall_timeout=0.3, sleep=sleeps, **FAST
    ).run()
    assert "no bytes for 0.3 s; reconnecting (attempt 1 of 5)" in caplog.text
    assert sleeps.waits == []  # the stalled connection had sent tags: back at once
    assert recorded(stats) == list(range(800)) and len(stats.paths) == 2


async def test_failed_attempts_back_off(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=50), statuses={1: 503, 2: 502, 3: 500})
    sleeps = Sleeps()
    stats = await VideoRecorder(
        server.url("a"), tmp_path / "v.flv", backoff_initial=0.5, backoff_max=1.5, sleep=sleeps
    ).run()
    assert sleeps.waits == [0.5, 1.0, 1.5]  # doubling, capped at backoff_max
    assert recorded(stats) == list(range(50)) and stats.reconnects == 3


async def test_stall_forever_is_an_error_that_keeps_the_file(server, tmp_path):
    server.add_stream(
        "a",
        GeneratedFLV(media_tags=800),
        stall_after={n: 25_000 if n == 1 else 0 for n in range(1, 10)},
    )
    recorder = VideoRecorder(
        server.url("a"), tmp_path / "v.flv", stall_timeout=0.2, reconnect_attempts=2, **FAST
    )
    with pytest.raises(StreamStalledError, match="sent nothing for 0.2 s") as info:
        await recorder.run()
    assert info.value.paths == (str(tmp_path / "v.flv"),)
    assert recorded(recorder.stats) and recorder.stats.stop_reason == "error"
    assert no_part_files(tmp_path)


async def test_expired_url_gets_a_fresh_one(server, tmp_path):
    server.add_stream(
        "a", GeneratedFLV(media_tags=900), drop_after={1: 30_000}, single_use_urls=True, overlap=4
    )
    refresh = refresher(server, "a")
    stats = await VideoRecorder(
        server.url("a"), tmp_path / "v.flv", refresh_url=refresh, **FAST
    ).run()
    assert [r.status for r in server.requests] == [200, 403, 200]
    assert recorded(stats) == list(range(900)) and len(stats.paths) == 2
    assert len(refresh.calls) == 2  # after the 403, then after the end (offline)


@pytest.mark.parametrize("status", [403, 404])
async def test_bad_status_without_refresh(server, tmp_path, status):
    server.add_stream("a", statuses={1: status})
    with pytest.raises(StreamHTTPError, match=f"answered {status}") as info:
        await VideoRecorder(server.url("a"), tmp_path / "v.flv", **FAST).run()
    assert info.value.status == status and info.value.paths == ()
    assert "token" not in str(info.value)  # no signed query in messages
    assert list(tmp_path.iterdir()) == []  # no file at all


async def test_server_errors_are_retried(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=50), statuses={1: 503, 2: 502})
    stats = await VideoRecorder(server.url("a"), tmp_path / "v.flv", **FAST).run()
    assert recorded(stats) == list(range(50)) and stats.reconnects == 2


async def test_not_flv_is_an_error(server, tmp_path):
    stream = server.add_stream("a", GeneratedFLV(media_tags=None))
    stream.source.header = lambda: b"<html>captcha</html>"  # type: ignore[method-assign]
    with pytest.raises(StreamError, match="not a valid FLV"):
        await VideoRecorder(server.url("a"), tmp_path / "v.flv", reconnect_attempts=1, **FAST).run()
    assert list(tmp_path.iterdir()) == []


async def test_stop_event(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=None), rate=300)
    stop = asyncio.Event()

    def stop_after_60_tags(stats: RecordingStats) -> None:
        if stats.tags >= 60:
            stop.set()

    stats = await VideoRecorder(
        server.url("a"), tmp_path / "v.flv", stop=stop, on_progress=stop_after_60_tags, **FAST
    ).run()
    assert stats.stop_reason == "stopped"
    got = recorded(stats)
    assert got == list(range(len(got))) and len(got) >= 57  # 60 tags, 3 of them config
    assert no_part_files(tmp_path)


async def test_duration(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=None), rate=300)
    clock = Clock()
    recorder = VideoRecorder(server.url("a"), tmp_path / "v.flv", duration=0.5, clock=clock, **FAST)
    task = asyncio.ensure_future(recorder.run())
    await until(lambda: recorder.stats.tags > 0, "the stream is being recorded")
    clock.now += 0.25
    await until(lambda: recorder.stats.elapsed == 0.25, "progress reads the injected clock")
    assert not task.done()  # half the duration: still recording
    clock.now += 0.25
    stats = await task
    assert stats.stop_reason == "duration" and stats.elapsed == 0.5 and recorded(stats)


async def test_cancel_closes_the_file(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=None), rate=300)
    recorder = VideoRecorder(server.url("a"), tmp_path / "v.flv", **FAST)
    task = asyncio.ensure_future(recorder.run())
    await until(lambda: recorder.stats.tags > 0, "the stream is being recorded")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.stats.stop_reason == "cancelled"
    assert recorded(recorder.stats) and no_part_files(tmp_path)


@contextlib.contextmanager
def file_size_limit(limit: int):
    """RLIMIT_FSIZE: writes past ``limit`` fail with EFBIG, as on a full disk."""
    resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE is POSIX only")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


async def test_disk_full_keeps_what_was_written(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=3000))
    recorder = VideoRecorder(server.url("a"), tmp_path / "v.flv", **FAST)
    with file_size_limit(300_001), pytest.raises(DiskFullError, match="disk is full") as info:
        await recorder.run()
    assert info.value.paths == (str(tmp_path / "v.flv"),)
    size = (tmp_path / "v.flv").stat().st_size
    assert 250_000 < size <= 300_001
    got = recorded(recorder.stats)  # valid FLV up to its last complete tag
    assert got == list(range(len(got)))
    assert recorder.stats.bytes == size and no_part_files(tmp_path)


async def test_refuses_to_overwrite(server, tmp_path):
    server.add_stream("a", GeneratedFLV(media_tags=20))
    (tmp_path / "v.001.flv").write_bytes(b"old")
    with pytest.raises(StreamError, match="already exists"):
        await VideoRecorder(server.url("a"), tmp_path / "v.flv").run()
    stats = await VideoRecorder(
        server.url("a"), tmp_path / "v", overwrite=True, manifest=True
    ).run()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.flv", "v.video.json"]
    assert stats.segment_info[0].first_timestamp == 0


async def test_record_room_video(server, tmp_path):
    """What client.record_video does: quality from room info, fresh URLs, offline = end."""
    server.add_stream(
        "a", GeneratedFLV(media_tags=700), single_use_urls=True, drop_after={1: 20_000}
    )
    infos = []

    async def fetch_room_info():
        stream = server.streams["a"]
        info = {
            "id_str": "7",
            "status": 4 if stream.ended else 2,
            "stream_url": room_stream_url({q: server.url("a", q) for q in ("sd", "ld")}),
        }
        infos.append(info)
        return info

    async with httpx.AsyncClient() as http:
        stats = await record_room_video(
            http, fetch_room_info, tmp_path / "r.flv", quality="hd", **FAST
        )
    assert recorded(stats) == list(range(700))
    assert {r.path for r in server.requests} == {"/live/a/sd.flv"}  # hd -> sd, kept after
    assert stats.stop_reason == "ended" and len(infos) == 3


@pytest.mark.requires("ffmpeg")
async def test_remux_segments_to_mp4(server, tmp_path):
    from fastlive.record.remux import remux_to_mp4

    server.add_stream("a", GeneratedFLV(media_tags=900), drop_after={1: 60_000}, overlap=5)
    stats = await VideoRecorder(server.url("a"), tmp_path / "v.flv", **FAST).run()
    assert len(stats.paths) == 2
    out = await remux_to_mp4(stats.paths, tmp_path / "v.mp4")
    assert out.exists() and no_part_files(tmp_path)
    probe = await asyncio.to_thread(
        subprocess.run,
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=codec_name,nb_read_packets,width",
            "-of",
            "csv=p=0",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    probe = probe.stdout.split()
    video = sum(
        1
        for p in stats.paths
        for t in read_flv(p)
        if t.kind == VIDEO and media_index(t) is not None
    )
    assert probe[0] == f"h264,320,{video}"
    assert probe[1] in ("aac,600", "aac,599")  # ffmpeg's concat may drop the very last packet
    assert not list(tmp_path.glob("*.concat.txt"))


async def test_remux_without_ffmpeg_says_what_to_install(tmp_path, monkeypatch):
    from fastlive.record import remux as video

    monkeypatch.setattr(video.shutil, "which", lambda name: None)
    with pytest.raises(RemuxError, match="install ffmpeg: apt install ffmpeg"):
        await video.remux_to_mp4([tmp_path / "x.flv"], tmp_path / "x.mp4")


@pytest.mark.requires("ffmpeg")
async def test_remux_failure_is_reported(tmp_path):
    from fastlive.record.remux import remux_to_mp4

    bad = tmp_path / "bad.flv"
    bad.write_bytes(b"FLV garbage")
    with pytest.raises(RemuxError, match="ffmpeg could not remux"):
        await remux_to_mp4([bad], tmp_path / "bad.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.flv"]


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.slow  # ~300 MB through loopback and disk: 2-4 s here
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
async def test_memory_stays_flat_over_a_long_stream(server, tmp_path):
    """~300 MB through server and recorder in this process: RSS may not grow with it."""
    source = GeneratedFLV(media_tags=15_000, video_size=60_000, audio_size=400)
    server.add_stream("big", source, drop_after={1: 100_000_000}, overlap=10)
    peak = [0]

    def sample(stats: RecordingStats) -> None:
        peak[0] = max(peak[0], _rss_kb())

    await VideoRecorder(server.url("big"), tmp_path / "warm.flv", duration=0.2).run()
    (tmp_path / "warm.flv").unlink(missing_ok=True)
    server.add_stream("big", source, drop_after={1: 100_000_000}, overlap=10)
    base = _rss_kb()
    stats = await VideoRecorder(
        server.url("big"),
        tmp_path / "big.flv",
        on_progress=sample,
        progress_interval=0.02,
        backoff_initial=0.01,
    ).run()
    peak[0] = max(peak[0], _rss_kb())
    total = stats.bytes
    for p in stats.paths:
        Path(p).unlink()
    assert total > 250_000_000 and len(stats.paths) == 2
    growth_mb = (peak[0] - base) / 1024
    assert growth_mb < 40, f"RSS grew {growth_mb:.1f} MB while recording {total >> 20} MB"
