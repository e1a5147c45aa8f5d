"""The ``fastlive`` command, run as a user would: a subprocess, output and exit code."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fastlive.proto import webcast_pb2 as pb

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "captures"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fastlive", *args], capture_output=True, text=True, timeout=120,
        check=False,
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
    frame = pb.WebcastPushFrame(payload_type="msg", payload=gzip.compress(result.SerializeToString()))
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
