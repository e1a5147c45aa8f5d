"""The lean path from socket to output: JSON lines written in batches, acks coalesced."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from types import SimpleNamespace

from fastlive.cli.format import JsonlWriter
from fastlive.client import TikTokLiveClient
from fastlive.events import ConnectEvent
from fastlive.record.frames import SENT
from fastlive.testing import FakeTikTok, chat, make_user

USER = make_user(7_300_000_000_000_000_002, "Bob B", "bob.b", fan_club_name="")
ROOM = 7_400_000_000_000_210_000
ROOM_KEY = SimpleNamespace(key="@lean", room_id=ROOM)


class Recorder:
    """A binary output that keeps each write apart."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.flushes = 0

    def write(self, data: bytes | bytearray) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        self.flushes += 1

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in b"".join(self.writes).splitlines()]


def connect(i: int) -> ConnectEvent:
    return ConnectEvent(unique_id=f"lean{i}", room_id=ROOM)


async def until(predicate, timeout: float = 20.0) -> None:
    """Poll until ``predicate()`` holds (the timeout only guards against a hang)."""
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_jsonl_writer_one_write_per_batch_in_order():
    out = Recorder()
    writer = JsonlWriter(out, interval=60.0)
    for i in range(200):
        writer.add(ROOM_KEY, connect(i))
    assert out.writes == [] and writer.pending > 0
    writer.flush()
    assert len(out.writes) == 1 and writer.writes == 1 and writer.pending == 0
    rows = out.lines()
    assert [r["unique_id"] for r in rows] == [f"lean{i}" for i in range(200)]
    assert {r["room"] for r in rows} == {"@lean"}
    writer.flush()  # nothing buffered: no empty write
    assert len(out.writes) == 1


async def test_jsonl_writer_flushes_by_the_interval_without_a_caller_flush():
    out = Recorder()
    writer = JsonlWriter(out, interval=0.01)
    writer.add(ROOM_KEY, connect(0))
    writer.add(ROOM_KEY, connect(1))
    await until(lambda: out.writes)
    assert len(out.writes) == 1 and [r["unique_id"] for r in out.lines()] == ["lean0", "lean1"]
    writer.close()
    assert len(out.writes) == 1


async def test_jsonl_writer_writes_a_full_buffer_at_once():
    out = Recorder()
    writer = JsonlWriter(out, interval=60.0, limit=500)
    for i in range(50):
        writer.add(ROOM_KEY, connect(i))
    assert 1 < len(out.writes) < 50  # batches of about 500 bytes, not one write per line
    writer.close()
    assert [r["unique_id"] for r in out.lines()] == [f"lean{i}" for i in range(50)]


# -- the command, into a pipe ---------------------------------------------------------------


def traffic(room_id: int, frames: int, per_frame: int) -> list[list]:
    out = []
    for f in range(frames):
        batch = []
        for m in range(per_frame):
            msg_id = room_id % 10**6 * 10_000 + f * 10 + m
            batch.append(
                (
                    "WebcastChatMessage",
                    chat(f"{f}.{m}", USER, msg_id=msg_id, room_id=room_id),
                    msg_id,
                )
            )
        out.append(batch)
    return out


async def start_watch(fake: FakeTikTok, *args: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "FASTLIVE_WEB_URL": fake.web_url,
        "FASTLIVE_WEBCAST_URL": fake.webcast_url,
        "SIGN_API_URL": fake.sign_api_url,
        "FASTLIVE_CONNECT": "signed",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SIGN_API_KEY", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "fastlive",
        "watch",
        *args,
        "--jsonl",
        "--poll-interval",
        "0.05",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def comments_by_room(out: bytes) -> dict[int, list[str]]:
    got: dict[int, list[str]] = {}
    for line in out.splitlines():
        row = json.loads(line)
        if row["type"] == "CommentEvent":
            got.setdefault(row["room_id"], []).append(row["content"])
    return got


async def test_watch_jsonl_every_event_reaches_the_pipe_in_order():
    async with FakeTikTok() as fake:
        sent = {}
        for i in range(4):
            rid = ROOM + i
            sent[rid] = traffic(rid, frames=40, per_frame=3)
            fake.add_room(f"lean{i}", room_id=rid, frames=sent[rid], ends=True)
        proc = await start_watch(fake, *(f"@lean{i}" for i in range(4)), "--once")
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    want = {rid: [f"{f}.{m}" for f in range(40) for m in range(3)] for rid in sent}
    assert comments_by_room(out) == want
    assert out.endswith(b"\n")


async def test_watch_jsonl_sigint_mid_run_writes_everything_received():
    async with FakeTikTok() as fake:
        room = fake.add_room("leanint", room_id=ROOM + 9, frames=traffic(ROOM + 9, 25, 2))
        proc = await start_watch(fake, "@leanint")
        try:
            await until(lambda: len(fake.acks(ROOM + 9)) >= 25, timeout=60)
            proc.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert room.traffic  # still live: the run was cut by the signal, not by an end
    assert proc.returncode == 0, err.decode()
    got = comments_by_room(out)[ROOM + 9]
    assert got == [f"{f}.{m}" for f in range(25) for m in range(2)]


# -- outgoing frames, coalesced per socket --------------------------------------------------


async def test_acks_coalesced_each_its_own_message_right_ids_in_order():
    async with FakeTikTok() as fake:
        fake.add_room("acker", room_id=ROOM + 20, frames=traffic(ROOM + 20, 150, 1), ends=True)
        settings = fake.settings(connect="signed", heartbeat_interval=0.05, reconnect=False)
        client = TikTokLiveClient("acker", settings=settings)
        connections = []
        sent = []
        client.add_frame_listener(lambda kind, data, t: sent.append(data) if kind == SENT else None)
        client.add_listener(ConnectEvent, lambda e: connections.append(client._runner.connection))
        await client.connect()
        await client.aclose()
        acks = fake.acks(ROOM + 20)
        [conn] = fake.ws_connections
        hbs = fake.heartbeats(ROOM + 20)
        received = [f.raw for f in fake.ws_received]
    # every frame acked once, with its own log_id and internal_ext, in the order sent
    assert len(acks) >= 149  # the ack of the final frame may meet the close
    assert [a.log_id for a in acks] == list(conn.sent_log_ids)[: len(acks)]
    assert all(conn.sent_log_ids[a.log_id] == a.internal_ext for a in acks)
    assert [h.seq for h in hbs] == list(range(1, len(hbs) + 1))
    # the frame listeners saw what the fake received, in order; fewer writes than frames
    assert received == sent[: len(received)]
    assert len(received) >= len(sent) - 1
    [connection] = connections
    assert 0 < connection.writes < len(sent)


# -- the Monitor's stream: a frame's events in one hand-off ---------------------------------


async def test_monitor_stream_takes_batches_larger_than_its_bound_in_order():
    from fastlive.monitor import Monitor
    from fastlive.monitor.limits import SignLimiter

    async with FakeTikTok() as fake:
        for i in range(3):
            fake.add_room(f"batch{i}", room_id=ROOM + 30 + i, frames=traffic(ROOM + 30 + i, 20, 7))
        monitor = Monitor(
            [f"@batch{i}" for i in range(3)],
            settings=fake.settings(connect="signed", heartbeat_interval=0.05),
            sign_limiter=SignLimiter(rate=200, burst=20),
            poll_interval=0.05,
            max_queue=3,  # smaller than a frame's 7 messages: the hand-off waits mid-batch
        )
        got: dict[int, list[str]] = {}
        async with monitor:
            stream = monitor.events()
            async for room, event in stream:
                if type(event).__name__ == "CommentEvent":
                    got.setdefault(room.room_id, []).append(event.comment)
                    if sum(map(len, got.values())) == 3 * 20 * 7:
                        break
                    if len(got.get(room.room_id, ())) % 5 == 0:
                        await asyncio.sleep(0.001)  # a slow consumer now and then
            assert stream.dropped == 0 and monitor.stats.dropped == 0
    want = [f"{f}.{m}" for f in range(20) for m in range(7)]
    assert got == {ROOM + 30 + i: want for i in range(3)}


# -- the benchmark of what a user runs ------------------------------------------------------


def test_bench_rooms_watch_mode_sees_every_event(tmp_path):
    """``bench_rooms.py --watch``: the command into a pipe, every event counted (no timing)."""
    import subprocess
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_rooms.py"
    out = tmp_path / "rooms.json"
    cmd = [sys.executable, str(bench), "--only", "fastlive", "--watch", "--rooms", "3"]
    cmd += ["--frames", "2", "--interval", "0.3", "--json", str(out)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(out.read_text())["results"]
    assert result["name"] == "fastlive watch"
    assert result["events"] == result["expected"] > 0
    assert result["cpu_run"] >= result["cpu"] >= 0
    assert "fastlive watch" in done.stdout
