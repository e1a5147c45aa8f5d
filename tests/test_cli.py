"""The ``fastlive`` command, run as a user would: a subprocess, output and exit code."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import CAPTURES
from fastlive.proto import webcast_pb2 as pb
from fastlive.record.frames import FRAME, read_records
from fastlive.testing import FakeTikTok, chat, gift, make_user


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fastlive", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def made_up_frame() -> bytes:
    chat = pb.WebcastChatMessage(content="made-up comment")
    chat.common.msg_id = 1
    chat.user.display_id = "nobody.real"
    like = pb.WebcastLikeMessage(count=2, total=40)
    like.common.msg_id = 2
    result = pb.ProtoMessageFetchResult(need_ack=True, internal_ext="e")
    result.messages.add(method="WebcastChatMessage", payload=chat.SerializeToString(), msg_id=1)
    result.messages.add(method="WebcastLikeMessage", payload=like.SerializeToString(), msg_id=2)
    frame = pb.WebcastPushFrame(
        payload_type="msg", payload=gzip.compress(result.SerializeToString())
    )
    return frame.SerializeToString()


def test_decode_a_frame_file(tmp_path):
    path = tmp_path / "frame.bin"
    path.write_bytes(made_up_frame())
    out = run("decode", str(path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("CommentEvent") and "@nobody.real" in lines[0]
    assert "made-up comment" in lines[0]
    assert lines[1].startswith("LikeEvent") and "total=40" in lines[1]
    assert "2 events" in out.stderr


def test_decode_jsonl(tmp_path):
    path = tmp_path / "frame.bin"
    path.write_bytes(made_up_frame())
    out = run("decode", "--jsonl", str(path))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["type"] for r in rows] == ["CommentEvent", "LikeEvent"]
    assert rows[0]["content"] == "made-up comment" and rows[0]["msg_id"] == 1
    assert all("raw" not in r for r in rows)


def test_garbage_file_is_one_clear_line(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\xff\x00 not a frame")
    out = run("decode", str(path))
    assert out.returncode == 2
    assert out.stderr.startswith("fastlive: ") and "Traceback" not in out.stderr


def test_missing_file():
    out = run("decode", "/nonexistent/capture.json")
    assert out.returncode == 2 and "No such file" in out.stderr


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/captures is absent on this machine")
def test_decode_the_real_captures():
    out = run("decode", "-q", str(CAPTURES / "tiktoklivejava" / "collector"))
    assert out.returncode == 0, out.stderr
    summary = out.stderr.strip().splitlines()[-1]
    total = int(summary.split()[0])
    assert total > 3000 and "DecodeErrorEvent" not in summary


# -- the live commands against FakeTikTok (the fake runs in this loop, the command in a
# subprocess, so it is started with asyncio, never with a blocking subprocess.run) ---------

USER = make_user(7_300_000_000_000_000_001, "Alice A", "alice.a", fan_club_name="")
ROOM = 7_400_000_000_000_200_000


def room_traffic(room_id: int, frames: int = 3) -> list[list]:
    out = []
    for f in range(frames):
        msg_id = room_id % 10**6 * 1000 + f
        out.append(
            [
                (
                    "WebcastChatMessage",
                    chat(f"hello {f}", USER, msg_id=msg_id, room_id=room_id),
                    msg_id,
                )
            ]
        )
    return out


async def arun(fake: FakeTikTok, *args: str, timeout: float = 30) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "FASTLIVE_WEB_URL": fake.web_url,
        "FASTLIVE_WEBCAST_URL": fake.webcast_url,
        "SIGN_API_URL": fake.sign_api_url,
        "FASTLIVE_CONNECT": "signed",
    }
    env.pop("SIGN_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fastlive",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


async def test_watch_jsonl_matches_what_the_fake_sent(tmp_path):
    async with FakeTikTok() as fake:
        sent = {}
        for i in range(3):
            rid = ROOM + i
            sent[rid] = room_traffic(rid)
            fake.add_room(f"cli{i}", room_id=rid, frames=sent[rid], ends=True)
        code, out, err = await arun(
            fake,
            "watch",
            "@cli0",
            "@cli1",
            str(ROOM + 2),
            "--jsonl",
            "--once",
            "--poll-interval",
            "0.05",
            "--record",
            str(tmp_path),
            "--duration",
            "20",
        )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    comments = [r for r in rows if r["type"] == "CommentEvent"]
    got = {(r["room_id"], r["msg_id"], r["content"], r["user"]["unique_id"]) for r in comments}
    want = {
        (rid, m[2], f"hello {f}", "alice.a")
        for rid, frames in sent.items()
        for f, batch in enumerate(frames)
        for m in batch
    }
    assert got == want and len(comments) == len(want)
    assert sum(r["type"] == "LiveEndEvent" for r in rows) == 3
    assert {r["room"] for r in rows} == {"@cli0", "@cli1", str(ROOM + 2)}
    assert "events from 3 rooms" in err
    assert len([r for r in read_records(tmp_path / "cli0.flrec") if r.kind == FRAME]) >= 3
    done = await asyncio.to_thread(run, "replay", "--jsonl", str(tmp_path / "cli0.flrec"))
    assert done.returncode == 0, done.stderr  # the recording replays, offline
    replayed = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["content"] for r in replayed if r["type"] == "CommentEvent"] == [
        "hello 0",
        "hello 1",
        "hello 2",
    ]


async def test_watch_readable_feed_with_streaks():
    async with FakeTikTok() as fake:
        g = gift(
            5487, "Finger Heart", 5, 1, USER, repeat_count=3, repeat_end=1, msg_id=9, room_id=ROOM
        )
        fake.add_room(
            "feed",
            room_id=ROOM,
            frames=[*room_traffic(ROOM, 1), [("WebcastGiftMessage", g, 9)]],
            ends=True,
        )
        code, out, err = await arun(
            fake,
            "watch",
            "@feed",
            "--once",
            "--streaks",
            "--poll-interval",
            "0.05",
            "--duration",
            "20",
        )
    assert code == 0, err
    assert "\033[" not in out  # not a terminal: no colour
    lines = out.splitlines()
    assert any("CommentEvent" in line and "hello 0" in line and "@feed" in line for line in lines)
    assert any(
        "GiftStreakEvent" in line and "Finger Heart x3 = 15 diamonds" in line for line in lines
    )


async def test_live_info_and_errors():
    async with FakeTikTok() as fake:
        fake.add_room("on", room_id=ROOM, frames=[])
        fake.add_room("off", room_id=ROOM + 1, live=False)
        code, out, err = await arun(fake, "live", "@on", "@off")
        assert code == 0, err
        lines = dict(line.split(None, 1) for line in out.splitlines())
        assert lines["@on"].startswith("live") and lines["@off"].startswith("offline")
        code, out, err = await arun(fake, "info", "@on")
        assert code == 0, err
        assert f"room       {ROOM}" in out and "@on" in out
        code, out, err = await arun(
            fake, "watch", "@nobody.here", "--poll-interval", "0.05", "--duration", "20"
        )
        assert code == 1 and "fastlive: @nobody.here:" in err and "Traceback" not in err
        code, out, err = await arun(fake, "watch", "@on", "--shard", "3/2")
        assert code == 2 and "not a shard" in err


def test_shard_split_is_stable_and_complete():
    from fastlive.monitor import shard_of

    rooms = [f"@host{i}" for i in range(200)]
    shards = [shard_of(r, 4) for r in rooms]
    assert shards == [shard_of(r.upper().lstrip("@"), 4) for r in rooms]  # same key, same shard
    assert set(shards) == {0, 1, 2, 3} and max(Counter(shards).values()) < 80


def test_replay_of_a_torn_recording_says_so(tmp_path):
    from fastlive.record.frames import Recorder

    path = tmp_path / "torn.flrec"
    with Recorder(path) as rec:
        rec.write(FRAME, made_up_frame())
    with open(path, "ab") as f:
        f.write(b"\x00" * 9)  # a crash mid-write
    out = run("replay", str(path))
    assert out.returncode == 0, out.stderr
    assert "2 events" in out.stderr and "torn record" in out.stderr


def test_demo_watches_made_up_rooms_to_their_end():
    out = run("demo", "--rooms", "2", "--frames", "5", "--interval", "0.02", "--jsonl")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    by_room = Counter(row["room"] for row in rows)
    assert set(by_room) == {"@demo.host1", "@demo.host2"}
    ends = [row for row in rows if row["type"] == "LiveEndEvent"]
    assert len(ends) == 2  # both rooms ran to their end, then the command exited
    assert any(row["type"] == "CommentEvent" for row in rows)
    ids = [row["msg_id"] for row in rows if row.get("msg_id")]
    assert len(ids) == len(set(ids))  # each message once


def test_demo_record_replays_to_the_events_it_watched(tmp_path):
    rec = tmp_path / "demo-rec"
    demo = ("demo", "--rooms", "2", "--frames", "5", "--interval", "0.02", "--jsonl")
    for _ in range(2):  # a second demo replaces the first one's recordings
        out = run(*demo, "--record", str(rec))
        assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in rec.iterdir()) == ["demo.host1.flrec", "demo.host2.flrec"]
    assert f"fastlive replay {rec / 'demo.host1.flrec'}" in out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    for room in ("demo.host1", "demo.host2"):
        watched = [
            (r["type"], r["msg_id"])
            for r in rows
            if r["room"] == f"@{room}" and r["type"] not in CLIENT_EVENTS
        ]
        done = run("replay", "--jsonl", str(rec / f"{room}.flrec"))
        assert done.returncode == 0, done.stderr
        assert "repeated" not in done.stderr  # one demo's frames, not two
        replayed = [(r["type"], r["msg_id"]) for r in map(json.loads, done.stdout.splitlines())]
        assert replayed == watched and replayed[-1][0] == "LiveEndEvent"
    refused = run("demo", "--serve", "--record", str(rec))
    assert refused.returncode == 2 and "--record" in refused.stderr


def test_the_cli_loads_the_fake_only_for_demo_and_serve():
    probe = (
        "import sys; from fastlive.cli.main import build_parser; "
        "build_parser().parse_args(['watch', '@a']); "
        "print(sorted(n for n in sys.modules if n.startswith('fastlive.testing')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_demo_serve_points_other_commands_at_the_fake(tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "fastlive", "demo", "--serve", "--rooms", "1", "--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().startswith("# 1 made-up rooms")
        export = server.stdout.readline().split()
        assert export[0] == "export"
        env = {**os.environ, **dict(item.split("=", 1) for item in export[1:])}
        info = subprocess.run(
            [sys.executable, "-m", "fastlive", "info", "@demo.host1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert info.returncode == 0, info.stderr
        assert "hd      flv" in info.stdout
        out = tmp_path / "v.flv"
        video = subprocess.run(
            [
                sys.executable,
                "-m",
                "fastlive",
                "video",
                "@demo.host1",
                "--duration",
                "1s",
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert video.returncode == 0, video.stderr
        assert out.read_bytes()[:3] == b"FLV"
    finally:
        server.terminate()
        server.wait(10)


def test_bench_runs_the_decode_benchmark():
    # in the checkout: an installed wheel (.ci/run, cibuildwheel) finds the script there
    out = run("bench", "--quick", "--only", "fastlive", cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert "fastlive decode" in out.stdout and "messages/s" in out.stdout


def test_watch_with_tiktok_unreachable_says_so_and_fails():
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback
    out = run("watch", "@someone", "--web-url", closed, "--webcast-url", closed,
              "--sign-api-url", closed, "--ws-url", "ws://127.0.0.1:9", "--duration", "2")  # fmt: skip
    assert out.returncode == 1
    assert "fastlive: @someone: never connected: Could not reach" in out.stderr
    assert "Traceback" not in out.stderr


def test_replay_shows_each_message_once(tmp_path):
    from fastlive.record.frames import FETCH, Recorder

    path = tmp_path / "overlap.flrec"
    frame = made_up_frame()
    batch = pb.ProtoMessageFetchResult.FromString(
        gzip.decompress(pb.WebcastPushFrame.FromString(frame).payload)
    )
    with Recorder(path) as rec:
        rec.write(FETCH, batch.SerializeToString())  # the initial batch ...
        rec.write(FRAME, frame)  # ... and the first frame hold the same two messages
    out = run("replay", "--jsonl", str(path))
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["msg_id"] for line in out.stdout.splitlines()] == [1, 2]
    assert "2 repeated messages dropped" in out.stderr


# -- recordings: the fetch result, the frames, and a replay that drives a client ---------------


async def test_watch_record_replays_as_a_room_to_the_same_events(tmp_path):
    from fastlive import BaseEvent, LiveEndEvent, TikTokLiveClient, decode, decode_fetch_result
    from fastlive._config import Settings
    from fastlive.record.frames import FETCH, META, SENT

    traffic = room_traffic(ROOM, 4)
    older = ("WebcastChatMessage", chat("before you came", USER, msg_id=77, room_id=ROOM), 77)
    backlog = [older, *traffic[0]]  # the fetch result: history, and the first frame's comment
    async with FakeTikTok() as fake:
        fake.add_room("rec", room_id=ROOM, frames=traffic, initial=backlog, ends=True)
        code, out, err = await arun(
            fake, "watch", "@rec", "--jsonl", "--once", "--poll-interval", "0.05",
            "--record", str(tmp_path), "--duration", "20",
        )  # fmt: skip
    assert code == 0, err
    path = tmp_path / "rec.flrec"
    records = list(read_records(path))
    assert [r.kind for r in records[:2]] == [META, FETCH]
    meta = records[0].meta()
    assert (meta["room_id"], meta["unique_id"], meta["mode"]) == (ROOM, "rec", "signed")
    assert "fastlive" in meta and SENT in {r.kind for r in records}
    # the fetch result's backlog and the frames, repeats dropped: what the command printed
    recorded = list(decode_fetch_result(records[1].data).events)
    recorded += [e for r in records if r.kind == FRAME for e in decode(r.data).events]
    first = {}
    for event in recorded:
        first.setdefault(event.msg_id, event)
    expected = list(first.values())
    rows = [json.loads(line) for line in out.splitlines()]
    printed = [(r["type"], r["msg_id"]) for r in rows if r["type"] not in CLIENT_EVENTS]
    assert printed == [(type(e).__name__, e.msg_id) for e in expected]
    assert [e.msg_id for e in expected[:5]] == [77] + [m[2] for batch in traffic for m in batch]

    # fastlive replay --serve: a second client, in this process, gets the same events
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fastlive", "replay", str(path), "--serve", "--duration", "20",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.wait_for(proc.stdout.readline(), 10)  # serving N frames of ...
        line = await asyncio.wait_for(proc.stdout.readline(), 10)
        export, *pairs = line.decode().split()
        assert export == "export"
        env = dict(item.split("=", 1) for item in pairs)
        settings = Settings(
            web_url=env["FASTLIVE_WEB_URL"],
            webcast_url=env["FASTLIVE_WEBCAST_URL"],
            sign_api_url=env["SIGN_API_URL"],
            connect=env["FASTLIVE_CONNECT"],
        )
        client = TikTokLiveClient("@rec", settings=settings)
        replayed: list = []
        client.on(BaseEvent)(replayed.append)
        await asyncio.wait_for(client.connect(), 10)
        await client.aclose()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
    assert replayed == expected and isinstance(replayed[-1], LiveEndEvent)


CLIENT_EVENTS = {"ConnectEvent", "DisconnectEvent", "ReconnectEvent", "ErrorEvent"}


# -- fastlive video, fastlive watch --video against the fake's FLV server -----------------------


def flv_indices(*paths: Path) -> list[int]:
    """Media indices across the files, in order; each file must be valid FLV throughout."""
    from fastlive.record.flv import read_flv
    from fastlive.testing.flv import media_index

    out = []
    for path in paths:
        tags = list(read_flv(path))
        assert [t.kind for t in tags[:3]] == [18, 9, 8], "config tags first"
        out += [i for t in tags if (i := media_index(t)) is not None]
    return out


async def test_video_to_the_stream_end_every_tag_once(tmp_path):
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        fake.add_room("cam", room_id=ROOM, video=GeneratedFLV(media_tags=600))
        code, _, err = await arun(fake, "video", "@cam", "-o", str(tmp_path / "cam.flv"))
        stream = fake.flv.streams[str(ROOM)]
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.flv"]
    assert flv_indices(tmp_path / "cam.flv") == stream.sent_indices() == list(range(600))
    assert "recorded" in err and "Traceback" not in err


async def test_video_duration_stops_it(tmp_path):
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        fake.add_room(
            "cam", room_id=ROOM, video=GeneratedFLV(media_tags=None), video_options={"rate": 300}
        )
        started = asyncio.get_running_loop().time()
        code, _, err = await arun(
            fake, "video", "@cam", "-o", str(tmp_path / "cam.flv"), "--duration", "1"
        )
        elapsed = asyncio.get_running_loop().time() - started
        sent = fake.flv.streams[str(ROOM)].sent_indices()
    assert code == 0, err
    assert elapsed < 8
    got = flv_indices(tmp_path / "cam.flv")
    assert 100 < len(got) and got == list(range(len(got))) == sent[: len(got)]


@pytest.mark.requires("ffmpeg")
async def test_video_mp4(tmp_path):
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        fake.add_room("cam", room_id=ROOM, video=GeneratedFLV(media_tags=300))
        code, _, err = await arun(fake, "video", "@cam", "-o", str(tmp_path / "cam.flv"), "--mp4")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.flv", "cam.mp4"]
    assert (tmp_path / "cam.mp4").read_bytes()[4:8] == b"ftyp" and "remuxed to" in err


async def test_video_errors_are_one_clear_line(tmp_path):
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        fake.add_room("cam", room_id=ROOM, video=GeneratedFLV(media_tags=100))
        fake.add_room("off", room_id=ROOM + 1, live=False, video=True)
        out_file = str(tmp_path / "x.flv")
        offline = await arun(fake, "video", "@off", "-o", out_file)
        quality = await arun(fake, "video", "@cam", "-o", out_file, "--quality", "uhd")
        unknown = await arun(fake, "video", "@cam", "-o", out_file, "--quality", "8k")
    for code, _, err in (offline, quality, unknown):
        assert code == 2 and err.startswith("fastlive: ") and err.count("\n") == 1, err
    assert "offline" in offline[2] and "fastlive live @off" in offline[2]
    assert "offers origin, hd, sd, ld" in quality[2] and "--quality" in quality[2]
    assert "use one of origin, uhd, hd, sd, ld" in unknown[2]
    assert list(tmp_path.iterdir()) == []


async def test_watch_video_beside_the_frames_on_one_clock(tmp_path):
    from fastlive.testing.flv import GeneratedFLV

    async with FakeTikTok() as fake:
        fake.add_room(
            "cam",
            room_id=ROOM,
            frames=room_traffic(ROOM, 6),
            interval=0.1,
            ends=True,
            video=GeneratedFLV(media_tags=None),
            video_options={"rate": 300},
        )
        code, _, err = await arun(
            fake, "watch", "@cam", "--once", "--poll-interval", "0.05", "--record",
            str(tmp_path), "--video", "--duration", "20",
        )  # fmt: skip
        sent = fake.flv.streams[str(ROOM)].sent_indices()
    assert code == 0, err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cam.1.flv", "cam.1.video.json", "cam.flrec"]
    assert flv_indices(tmp_path / "cam.1.flv") == sent and len(sent) > 50
    manifest = json.loads((tmp_path / "cam.1.video.json").read_text())
    assert manifest["stop_reason"] == "ended" and manifest["paths"] == [str(tmp_path / "cam.1.flv")]
    stamps = [r.time_ns / 1e9 for r in read_records(tmp_path / "cam.flrec")]
    (segment,) = manifest["segment_info"]
    assert stamps[0] <= segment["started_at"] <= stamps[-1]  # one wall clock for both
