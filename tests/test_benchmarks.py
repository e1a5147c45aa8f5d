"""Smoke test of the decode benchmark's harness (``benchmarks/``): never a timing assertion.

Every contender must see what the corpus holds, frame by frame, and fastlive's events must be the
corpus's messages (method and msg_id, in order).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bench_decode
import fastlive
from corpus import Corpus, build_corpus


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    """A tiny corpus: a few frames of 1 to 30 messages."""
    return build_corpus(n_frames=5, seed=11)


def test_corpus_is_deterministic(corpus: Corpus) -> None:
    again = build_corpus(n_frames=5, seed=11)
    assert again.frames == corpus.frames
    assert build_corpus(n_frames=5, seed=12).frames != corpus.frames
    assert all(1 <= n <= 30 for n in corpus.counts)
    assert corpus.head(2).n_messages == sum(corpus.counts[:2])


def test_corpus_bytes_are_the_same_in_another_process(corpus: Corpus) -> None:
    code = (
        "import hashlib, corpus; "
        "print(hashlib.sha256(b''.join(corpus.build_corpus(n_frames=5, seed=11).frames))"
        ".hexdigest())"
    )
    paths = [str(BENCHMARKS), *sys.path]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONHASHSEED": "random"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == hashlib.sha256(b"".join(corpus.frames)).hexdigest()


def test_fastlive_events_match_the_corpus(corpus: Corpus) -> None:
    for frame, methods, msg_ids in zip(corpus.frames, corpus.methods, corpus.msg_ids, strict=True):
        batch = fastlive.decode(frame)
        assert batch.payload_type == "msg"
        assert not [e for e in batch.events if isinstance(e, fastlive.DecodeErrorEvent)]
        assert [(e.method, e.msg_id) for e in batch.events] == list(
            zip(methods, msg_ids, strict=True)
        )


@pytest.mark.parametrize("name", list(bench_decode.CONTENDERS))
def test_every_contender_sees_every_message(corpus: Corpus, name: str) -> None:
    if name == "TikTokLive":
        pytest.importorskip("TikTokLive")
    counts = bench_decode.CONTENDERS[name](corpus)()
    expected = corpus.inflated_sizes if name == "zlib" else corpus.counts
    assert counts == expected
    bench_decode.check(corpus, name, counts)


def test_check_catches_a_contender_that_drops_a_message(corpus: Corpus) -> None:
    counts = list(corpus.counts)
    counts[-1] -= 1
    with pytest.raises(AssertionError, match=f"frame {len(counts) - 1}"):
        bench_decode.check(corpus, "fastlive", counts)


def test_quick_run_reports_every_contender(tmp_path: Path) -> None:
    pytest.importorskip("TikTokLive")
    out = tmp_path / "bench.json"
    report = bench_decode.main(["--quick", "--json", str(out)])
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(report))
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == set(bench_decode.CONTENDERS)
    full = report["corpus"]["messages"]
    assert results["fastlive"]["messages"] == results["protobuf"]["messages"] == full
    assert results["zlib"]["messages"] == full
    assert 0 < results["TikTokLive"]["messages"] <= full
    assert {g["goal"] for g in report["goals"]} == {g[3] for g in bench_decode.GOALS}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_video_benchmark_smoke(capsys):
    import bench_video

    assert bench_video.main(["--quick"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 2 and all("MiB" in row for row in rows)
