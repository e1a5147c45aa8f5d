"""Gzip inflation: zlib against zlib-ng, ISA-L and libdeflate, on the decoder's payloads.

Two corpora of websocket push frames, each frame's gzip payload extracted beforehand:

- ``decode``: the decode benchmark's corpus (``corpus.py``): 1 to 30 messages per frame.
- ``small``: the same traffic regrouped 2 or 3 messages per frame, as TikTok sends it in 2026.

Every contender inflates every payload with the decoder's checks (the whole member, nothing
after it, at most ``max_inflated_size`` bytes); its output is compared with zlib's before any
timing. The machine may be busy (other jobs, 2 cores), so the contenders run side by side in
rounds, in a rotating order: in each round, each one's time is the best of 3 runs of enough
passes to last 0.1 s, and its ratio is zlib's time *in that round* over its own. The table gives
the median over the rounds and the spread (lowest to highest) of the ratio.

    python benchmarks/bench_inflate.py                # both corpora, about 1 minute
    python benchmarks/bench_inflate.py --quick        # a smoke run, seconds
    python benchmarks/bench_inflate.py --json benchmarks/results/inflate.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import timeit
import zlib
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

import corpus as _corpus
from corpus import build_corpus, dist_version
from fastlive import _inflate
from fastlive._decode import DEFAULT_MAX_INFLATED_SIZE
from fastlive.proto import webcast_pb2 as pb
from fastlive.testing import fetch_result, push_frame, random_traffic

__all__ = ["CONTENDERS", "build_small_corpus", "corpora", "main", "measure"]

LIMIT = DEFAULT_MAX_INFLATED_SIZE
_MAXSIZE = sys.maxsize

Inflate = Callable[[bytes], bytes]


# ---------------------------------------------------------------------------
# Corpora


def build_small_corpus(n_frames: int = 2_000, seed: int = 2_023) -> list[bytes]:
    """``n_frames`` gzip push frames of 2 or 3 messages each: the decode corpus's traffic
    (same users, same mix), regrouped. The same seed gives the same bytes."""
    rng = random.Random(seed ^ 0x5EED)
    messages: list[tuple[str, bytes, int]] = []
    batches = random_traffic(
        seed,
        n_frames // 5 + 1,  # 15.5 messages per batch on average, 2.5 per small frame
        make_users=_corpus._users,
        chat_lines=_corpus._LINES,
    )
    frames: list[bytes] = []
    for batch in batches:
        messages.extend(batch)
    while len(frames) < n_frames:
        if len(messages) < 3:
            more = random_traffic(seed + len(frames), 20, make_users=_corpus._users)
            messages.extend(m for b in more for m in b)
        k = rng.randint(2, 3)
        group, messages = messages[:k], messages[k:]
        body = pb.ProtoMessageFetchResult.FromString(fetch_result(group)).SerializeToString(
            deterministic=True
        )
        frames.append(push_frame(body, log_id=7_460_000_000_000_000_000 + len(frames)))
    return frames


def payloads_of(frames: Sequence[bytes]) -> list[bytes]:
    """Each frame's gzip payload."""
    return [pb.WebcastPushFrame.FromString(f).payload for f in frames]


def corpora(n_frames: int, seed: int) -> dict[str, list[bytes]]:
    """Name -> frames: ``decode`` (1-30 messages per frame) and ``small`` (2-3)."""
    return {
        "decode": build_corpus(n_frames, seed).frames,
        "small": build_small_corpus(n_frames, seed),
    }


# ---------------------------------------------------------------------------
# Contenders: each makes the decoder's inflate (whole member, nothing after it, capped)


def _streaming(module: Any) -> Inflate:
    """``decompressobj(31)`` with the decoder's checks: what ``_decode.pyx`` does with zlib."""
    decompressobj = module.decompressobj
    max_length = LIMIT + 1 if LIMIT < _MAXSIZE else LIMIT

    def inflate(payload: bytes) -> bytes:
        d = decompressobj(31)
        out = d.decompress(payload, max_length)
        if len(out) > LIMIT or not d.eof or d.unused_data:
            raise ValueError("bad payload")
        return out

    return inflate


def _zlib() -> Inflate:
    return _streaming(zlib)


def _zlib_ng() -> Inflate:
    return _streaming(import_module("zlib_ng.zlib_ng"))


def _isal() -> Inflate:
    return _streaming(import_module("isal.isal_zlib"))


def _libdeflate() -> Inflate:
    """libdeflate bare: ISIZE from the trailer, capped, one call, bytes out."""
    gzip_decompress = import_module("deflate").gzip_decompress

    def inflate(payload: bytes) -> bytes:
        size = int.from_bytes(payload[-4:], "little")
        if size > LIMIT:
            raise ValueError("too large")
        out = gzip_decompress(payload, size)
        if len(out) != size:
            raise ValueError("lying trailer")
        return bytes(out)

    return inflate


def _fastlive() -> Inflate:
    """What the decoder calls: ``fastlive._inflate.inflate``, every guard included."""
    inflate_ = _inflate.inflate

    def inflate(payload: bytes) -> bytes:
        return inflate_(payload, LIMIT)

    return inflate


def _fastlive_zlib() -> Inflate:
    """``fastlive._inflate.inflate_zlib``: the decoder's zlib code as it is today, compiled."""
    inflate_zlib = _inflate.inflate_zlib

    def inflate(payload: bytes) -> bytes:
        return inflate_zlib(payload, LIMIT)

    return inflate


CONTENDERS: dict[str, tuple[str, Callable[[], Inflate], str]] = {
    "zlib": ("zlib decompressobj (today)", _zlib, "zlib"),
    "zlib-ng": ("zlib-ng decompressobj", _zlib_ng, "zlib-ng"),
    "isal": ("ISA-L isal_zlib decompressobj", _isal, "isal"),
    "libdeflate": ("libdeflate gzip_decompress", _libdeflate, "deflate"),
    "fastlive-zlib": ("fastlive._inflate.inflate_zlib", _fastlive_zlib, "fastlive"),
    "fastlive": ("fastlive._inflate.inflate", _fastlive, "fastlive"),
}
"""Name -> (label, factory, distribution). ``zlib`` is the baseline of every ratio."""


# ---------------------------------------------------------------------------
# Measuring


def measure(
    payloads: Sequence[bytes],
    names: Sequence[str],
    rounds: int,
    quick: bool = False,
    frames: Sequence[bytes] | None = None,
) -> dict[str, dict[str, Any]]:
    """Check every contender against zlib, then time them side by side for ``rounds`` rounds.

    With ``frames`` (the payloads' push frames), ``fastlive.decode`` of each frame runs in the
    same rounds, as ``"decode"``. In a round, each contender runs one timed pass (enough passes
    over the corpus for about 0.1 s) after the other, three times over in a rotating order, and
    its best counts: contenders that share a round share the machine's load.

    Returns name -> {"us": [µs per frame, one per round], "ratio": [zlib's time over its own]}.
    """
    fns = {name: CONTENDERS[name][1]() for name in names}
    expected = [zlib.decompress(p, 31) for p in payloads]
    for name, fn in fns.items():
        if [fn(p) for p in payloads] != expected:
            raise AssertionError(f"{name} does not inflate the corpus as zlib does")
    runs: dict[str, Callable[[], None]] = {}
    for name, fn in fns.items():

        def run(fn: Inflate = fn) -> None:
            for p in payloads:
                fn(p)

        runs[name] = run
    if frames is not None:
        import fastlive

        decode = fastlive.decode

        def decoding(inflater: str) -> Callable[[], None]:
            def run_decode() -> None:
                before = _inflate.inflater
                _inflate.use(inflater)
                try:
                    for f in frames:
                        decode(f)
                finally:
                    _inflate.use(before)

            return run_decode

        if decoder_uses_inflate():
            for inflater in _inflate.available():
                runs[f"decode:{inflater}"] = decoding(inflater)
        else:
            runs["decode:zlib"] = decoding(_inflate.inflater)
    numbers = {
        name: 1 if quick else max(1, timeit.Timer(run).autorange()[0] // 2)  # ~0.1 s
        for name, run in runs.items()
    }
    out: dict[str, dict[str, Any]] = {name: {"us": [], "ratio": []} for name in runs}
    order = list(runs)
    for k in range(rounds):
        best = dict.fromkeys(runs, float("inf"))
        for rep in range(3):
            shift = (k * 3 + rep) % len(order)
            for name in order[shift:] + order[:shift]:
                t = timeit.timeit(runs[name], number=numbers[name]) / numbers[name]
                best[name] = min(best[name], t / len(payloads))
        for name in runs:
            out[name]["us"].append(best[name] * 1e6)
            out[name]["ratio"].append(best["zlib"] / best[name])
    return out


def decoder_uses_inflate() -> bool:
    """Whether ``fastlive.decode`` inflates through ``fastlive._inflate`` (the patched decoder).

    The empty member is one that the libdeflate path hands to zlib: decoding one shows in
    ``handed_to_zlib`` if the decoder calls ``fastlive._inflate``, and not otherwise.
    """
    import fastlive

    if "libdeflate" not in _inflate.available():
        return False
    before = _inflate.inflater
    _inflate.use("libdeflate")
    try:
        _inflate.handed_to_zlib(reset=True)
        fastlive.decode(push_frame(b"", log_id=1))
        return _inflate.handed_to_zlib(reset=True) == 1
    finally:
        _inflate.use(before)


def _slow_path_count(payloads: Sequence[bytes]) -> int | None:
    """How many of ``payloads`` fastlive's libdeflate path leaves to zlib (None: not in use)."""
    if _inflate.inflater != "libdeflate":
        return None
    _inflate.handed_to_zlib(reset=True)
    for p in payloads:
        _inflate.inflate(p, LIMIT)
    return _inflate.handed_to_zlib(reset=True)


# ---------------------------------------------------------------------------
# Reporting


def environment() -> dict[str, Any]:
    """Python, machine and the inflaters' versions."""
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "versions": {
            "zlib": zlib.ZLIB_RUNTIME_VERSION,
            "zlib-ng": dist_version("zlib-ng"),
            "isal": dist_version("isal"),
            "deflate": dist_version("deflate"),
            "fastlive": dist_version("fastlive"),
        },
        "fastlive_inflater": _inflate.inflater,
    }


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append(
            " | ".join(
                [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
            )
        )
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def installed() -> list[str]:
    """The contenders whose package is installed (zlib always)."""
    names = []
    for name, (_, factory, _dist) in CONTENDERS.items():
        try:
            factory()
        except ImportError:
            continue
        names.append(name)
    return names


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Build both corpora, check and time every installed contender; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--frames", type=int, default=2_000, help="frames per corpus")
    parser.add_argument("--seed", type=int, default=2_023, help="corpus seed")
    parser.add_argument("--rounds", type=int, default=9, help="side-by-side rounds (median)")
    parser.add_argument(
        "--corpus", nargs="+", choices=["decode", "small"], default=["decode", "small"]
    )
    parser.add_argument("--only", nargs="+", choices=list(CONTENDERS), help="zlib always runs")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    parser.add_argument("--quick", action="store_true", help="tiny corpora, one pass per round")
    args = parser.parse_args(argv)
    if args.quick:
        args.frames, args.rounds = 12, 2

    env = environment()
    print(f"Python   {env['python']} on {env['platform']}")
    print("versions " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()))
    print(f"fastlive inflater in use: {env['fastlive_inflater']}")
    names = [n for n in installed() if n == "zlib" or not args.only or n in args.only]
    missing = [n for n in CONTENDERS if n not in installed()]
    if missing:
        print("not installed: " + ", ".join(missing))
    report: dict[str, Any] = {"environment": env, "rounds": args.rounds, "corpora": {}}
    for cname, frames in corpora(args.frames, args.seed).items():
        if cname not in args.corpus:
            continue
        payloads = payloads_of(frames)
        inflated = [len(zlib.decompress(p, 31)) for p in payloads]
        print(
            f"\ncorpus {cname!r}: {len(frames):,} frames, gzip payload p50"
            f" {statistics.median(map(len, payloads)):,.0f} B, inflated p50"
            f" {statistics.median(inflated):,.0f} B"
        )
        res = measure(payloads, names, args.rounds, quick=args.quick, frames=frames)
        handed = _slow_path_count(payloads)
        if handed is not None:
            print(f"fastlive's libdeflate path handed {handed} of {len(payloads):,} to zlib")
        rows = [("inflater", "µs/frame", "µs spread", "× zlib", "ratio spread")]
        for name in names:
            us, ratio = res[name]["us"], res[name]["ratio"]
            rows.append(
                (
                    CONTENDERS[name][0],
                    f"{statistics.median(us):.2f}",
                    f"{min(us):.2f}-{max(us):.2f}",
                    f"{statistics.median(ratio):.2f}",
                    f"{min(ratio):.2f}-{max(ratio):.2f}",
                )
            )
        print(_table(rows))
        decodes = {name.split(":", 1)[1]: res.pop(name) for name in list(res) if ":" in name}
        for inflater, dec in decodes.items():
            print(
                f"fastlive.decode, whole frames, inflating with {inflater}:"
                f" {statistics.median(dec['us']):.2f} µs/frame (same rounds); zlib's inflate is"
                f" {statistics.median(dec['ratio']):.0%} of it"
                f" ({min(dec['ratio']):.0%}-{max(dec['ratio']):.0%})"
            )
        if "libdeflate" in decodes:
            speedup = [
                a / b
                for a, b in zip(decodes["zlib"]["us"], decodes["libdeflate"]["us"], strict=True)
            ]
            print(
                f"fastlive.decode with libdeflate over with zlib: {statistics.median(speedup):.2f}x"
                f" faster ({min(speedup):.2f}-{max(speedup):.2f})"
            )
        else:
            print("(this fastlive.decode does not inflate through fastlive._inflate)")
        report["corpora"][cname] = {
            "frames": len(frames),
            "payload_p50": statistics.median(map(len, payloads)),
            "inflated_p50": statistics.median(inflated),
            "results": {
                name: {
                    **res[name],
                    "us_median": statistics.median(res[name]["us"]),
                    "ratio_median": statistics.median(res[name]["ratio"]),
                }
                for name in names
            },
            "decode": decodes,
        }
    print(
        "\n× zlib: zlib's time over the contender's, in the same round (higher is faster);"
        f"\nmedian of {args.rounds} rounds; spreads are the lowest and highest round."
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
