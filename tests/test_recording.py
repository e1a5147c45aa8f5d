"""Recordings: append-only, crash-tolerant, replayed through the real decoder."""

from __future__ import annotations

import asyncio
import gzip
import time

import pytest

import fastlive
from fastlive.proto import webcast_pb2 as pb
from fastlive.record.frames import FETCH, FRAME, META, SENT, Recorder, RecordingError, read_records
from fastlive.record.replay import iter_batches, replay


def frame(msg_id: int, text: str) -> bytes:
    chat = pb.WebcastChatMessage(content=text)
    chat.common.msg_id = msg_id
    result = pb.ProtoMessageFetchResult(need_ack=True, internal_ext=f"ext{msg_id}")
    result.messages.add(
        method="WebcastChatMessage", payload=chat.SerializeToString(), msg_id=msg_id
    )
    out = pb.WebcastPushFrame(
        log_id=msg_id, payload_type="msg", payload=gzip.compress(result.SerializeToString())
    )
    return out.SerializeToString()


def test_round_trip(tmp_path):
    path = tmp_path / "room.flrec"
    with Recorder(path, meta={"room_id": 7, "unique_id": "nobody"}) as rec:
        rec.write(FETCH, pb.ProtoMessageFetchResult(cursor="c0").SerializeToString(), 1_000)
        for i in range(1, 4):
            rec.write(FRAME, frame(i, f"comment {i}"), 1_000 + i)
        rec.write(SENT, fastlive.build_heartbeat(7, 1), 2_000)
    records = list(read_records(path))
    assert [r.kind for r in records] == [META, FETCH, FRAME, FRAME, FRAME, SENT]
    assert records[0].meta() == {"room_id": 7, "unique_id": "nobody"}
    batches = list(iter_batches(path))
    assert [b.cursor for _, b in batches[:1]] == ["c0"]
    comments = [e.comment for _, b in batches for e in b.events]
    assert comments == ["comment 1", "comment 2", "comment 3"]
    assert [r.time_ns for r, _ in batches] == [1_000, 1_001, 1_002, 1_003]


@pytest.mark.parametrize("cut", [1, 5, 17, 30])
def test_torn_tail_keeps_everything_before(tmp_path, cut):
    path = tmp_path / "crash.flrec"
    with Recorder(path) as rec:
        rec.write(FRAME, frame(1, "kept"))
        size_before = path.stat().st_size
        rec.write(FRAME, frame(2, "torn"))
    data = path.read_bytes()
    path.write_bytes(data[: size_before + cut])  # the crash happened mid-record
    lost: list[int] = []
    records = list(read_records(path, truncated=lost))
    assert len(records) == 1 and lost == [size_before]
    # recording can go on after the crash: the torn tail is cut, new records follow
    with Recorder(path) as rec:
        rec.write(FRAME, frame(3, "after"))
    texts = [b.events[0].comment for _, b in iter_batches(path)]
    assert texts == ["kept", "after"]


def test_corrupt_record_is_detected(tmp_path):
    path = tmp_path / "flip.flrec"
    with Recorder(path) as rec:
        rec.write(FRAME, frame(1, "x"))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    lost: list[int] = []
    assert list(read_records(path, truncated=lost)) == [] and lost == [7]


def test_not_a_recording(tmp_path):
    path = tmp_path / "other.bin"
    path.write_bytes(b"hello world")
    with pytest.raises(RecordingError, match="not a fastlive recording"):
        list(read_records(path))
    with pytest.raises(RecordingError, match="not a fastlive recording"):
        Recorder(path)
    with pytest.raises(RecordingError, match="cannot read"):
        list(read_records(tmp_path / "missing.flrec"))


def test_bad_frame_is_reported_not_fatal(tmp_path):
    path = tmp_path / "bad.flrec"
    with Recorder(path) as rec:
        rec.write(FRAME, frame(1, "one"))
        rec.write(FRAME, b"\xff\xff\xff")
        rec.write(FRAME, frame(2, "two"))
    errors: list[fastlive.DecodeError] = []
    texts = [e.comment for _, b in iter_batches(path, errors=errors) for e in b.events]
    assert texts == ["one", "two"] and len(errors) == 1
    with pytest.raises(fastlive.DecodeError):
        list(iter_batches(path))


async def test_replay_paced(tmp_path):
    path = tmp_path / "paced.flrec"
    with Recorder(path) as rec:
        for i in range(3):
            rec.write(FRAME, frame(i + 1, str(i)), i * 100_000_000)  # 0.1 s apart
    start = time.monotonic()
    seen = [b.events[0].comment async for _, b in replay(path, speed=2.0)]
    elapsed = time.monotonic() - start
    assert seen == ["0", "1", "2"]
    assert elapsed >= 0.09  # 0.2 s of recording at double speed; no upper bound (noisy)
    with pytest.raises(ValueError):
        await asyncio.wait_for(anext(replay(path, speed=0)), 1)
