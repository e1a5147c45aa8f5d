"""The decoder's gzip inflate (``fastlive._inflate``): libdeflate on the fast path, zlib behind it.

Every test runs with each inflater that is installed. The contract, checked by ``same_as_zlib``:
for every payload zlib's ``decompressobj`` accepts, the same bytes; for every one it refuses,
``DecodeError`` with zlib's reason and offset, except one documented case (a corrupt stream whose
trailer claims more than the limit is refused as a bomb up front); and never more than the
limit out.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import struct
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import gzip_bomb
from fastlive import _inflate
from fastlive.exceptions import DecodeError

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
LIMIT = 16 << 20
BAD = "bad gzip payload (Error -3 while decompressing data: "
TOO_LARGE = "inflated payload larger than max_inflated_size="
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(params=_inflate.available(), autouse=True)
def inflater(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each installed inflater in turn; the one in use before is put back afterwards."""
    before = _inflate.inflater
    assert _inflate.use(request.param) == request.param
    try:
        yield request.param
    finally:
        _inflate.use(before)


def outcome(fn, payload: bytes, limit: int = LIMIT):
    """("ok", bytes) or (exception type, reason, offset)."""
    try:
        return ("ok", fn(payload, limit))
    except DecodeError as exc:
        return (DecodeError, exc.reason, exc.offset)
    except ValueError as exc:
        return (ValueError, str(exc), None)


def same_as_zlib(payload: bytes, limit: int = LIMIT):
    """Check ``inflate`` against ``inflate_zlib`` on one payload; return zlib's outcome."""
    want = outcome(_inflate.inflate_zlib, payload, limit)
    got = outcome(_inflate.inflate, payload, limit)
    if want[0] == "ok":
        assert got == want
        assert len(got[1]) <= limit
    elif got != want:
        # the one documented difference: a trailer that claims more than the limit
        isize = int.from_bytes(payload[-4:], "little")
        assert got == (DecodeError, too_large(limit), 0), (got, want)
        assert want[0] is DecodeError and isize > limit
    return want


def too_large(limit: int) -> str:
    return f"{TOO_LARGE}{limit} bytes (raise the limit if the peer is trusted)"


def gz(data: bytes, level: int = 9) -> bytes:
    return gzip.compress(data, compresslevel=level, mtime=0)


def sync_flushed(chunks: list[bytes], finish: bool = True, mode: int = zlib.Z_SYNC_FLUSH) -> bytes:
    """A gzip stream of ``chunks``, each ended by a flush; ``finish`` adds the last block and
    the trailer."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    out = b"".join(comp.compress(c) + comp.flush(mode) for c in chunks)
    return out + comp.flush(zlib.Z_FINISH) if finish else out


BATCH = b"".join(
    b"\x0a\x12WebcastChatMessage\x12\x40" + bytes(range(i, i + 64)) + b"\x18" + bytes([i])
    for i in range(60)
)
"""Something shaped like a batch: repetitive, the way the decoder's payloads are."""


# ---------------------------------------------------------------------------
# Valid streams


@pytest.mark.parametrize("level", [0, 1, 6, 9])
@pytest.mark.parametrize("data", [b"", b"x", BATCH, os.urandom(5000), bytes(100_000)])
def test_valid_members_inflate_as_zlib(data, level):
    payload = gz(data, level)
    assert same_as_zlib(payload) == ("ok", data)
    assert type(_inflate.inflate(payload, LIMIT)) is bytes


def test_valid_members_take_the_fast_path(inflater):
    """Not one valid member of the kinds TikTok sends goes the slow way (with libdeflate)."""
    if inflater == "zlib":
        pytest.skip("the fast path is libdeflate's")
    _inflate.handed_to_zlib(reset=True)
    payloads = [gz(BATCH, level) for level in range(10)]
    payloads += [gz(random.Random(n).randbytes(n)) for n in (1, 100, 70_000)]
    payloads += [sync_flushed([BATCH[:999], BATCH[999:]], mode=m) for m in (2, 3)]
    for payload in payloads:
        assert _inflate.inflate(payload, LIMIT) == zlib.decompress(payload, 31)
    assert _inflate.handed_to_zlib() == 0
    _inflate.inflate(gz(b""), LIMIT)
    with pytest.raises(DecodeError):
        _inflate.inflate(payloads[0] * 2, LIMIT)
    assert _inflate.handed_to_zlib(reset=True) == 2
    assert _inflate.handed_to_zlib() == 0


def test_heartbeat_empty_member():
    """Server heartbeats carry the 20-byte gzip of nothing."""
    for payload in (gz(b""), sync_flushed([], finish=True)):
        assert len(payload) == 20
        assert same_as_zlib(payload) == ("ok", b"")
    for payload in (gz(b"", 0), sync_flushed([b""], finish=True)):  # a stored block, a flush
        assert same_as_zlib(payload) == ("ok", b"")
        assert same_as_zlib(payload, 0) == ("ok", b"")


@pytest.mark.parametrize("mode", [zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH])
def test_flushed_blocks_then_finish(mode):
    chunks = [BATCH[:700], b"", BATCH[700:2000], BATCH[2000:]]
    assert same_as_zlib(sync_flushed(chunks, mode=mode)) == ("ok", BATCH)


def test_flushed_blocks_without_final_block_or_trailer_are_truncated():
    """zlib's decompressobj never reaches eof on them: today's decoder says "truncated"."""
    payload = sync_flushed([BATCH[:1000], BATCH[1000:]], finish=False)
    assert payload.endswith(b"\x00\x00\xff\xff")
    want = same_as_zlib(payload)
    assert want == (DecodeError, "truncated gzip payload", len(payload))


def test_optional_header_fields_go_to_zlib():
    """FNAME, FEXTRA, FCOMMENT, FHCRC: parsed (and the header CRC checked) by zlib."""
    raw = zlib.compress(BATCH, 9, wbits=-15)
    trailer = struct.pack("<II", zlib.crc32(BATCH), len(BATCH))
    base = b"\x1f\x8b\x08%c\x00\x00\x00\x00\x00\xff"
    fname = base % 0x08 + b"batch.bin\x00"
    extra = base % 0x04 + b"\x04\x00AB\x00\x00"
    comment = base % 0x10 + b"hi\x00"
    hcrc = base % 0x02
    hcrc += struct.pack("<H", zlib.crc32(hcrc) & 0xFFFF)
    for header in (fname, extra, comment, hcrc):
        assert same_as_zlib(header + raw + trailer) == ("ok", BATCH)
    bad_hcrc = base % 0x02 + b"\x00\x00"
    assert same_as_zlib(bad_hcrc + raw + trailer)[0] is DecodeError  # header crc mismatch
    assert same_as_zlib(base % 0x20 + raw + trailer)[0] is DecodeError  # reserved flag


# ---------------------------------------------------------------------------
# What must be refused: the same refusal as zlib


def test_concatenated_members_are_refused():
    one, two = gz(BATCH), gz(BATCH[::-1])
    for payload, offset in [(one + one, len(one)), (one + two, len(one)), (two + one, len(two))]:
        assert same_as_zlib(payload) == (
            DecodeError,
            "bytes after the end of the gzip payload",
            offset,
        )
    empty = gz(b"")
    assert same_as_zlib(empty + empty)[1] == "bytes after the end of the gzip payload"
    assert same_as_zlib(one + empty)[1] == "bytes after the end of the gzip payload"


@pytest.mark.parametrize("extra", [b"?", b"xy", b"\x00" * 8, b"\x1f\x8b\x08"])
def test_bytes_after_the_member_are_refused(extra):
    one = gz(BATCH)
    for payload in (one + extra, one + extra + one[-8:], one + extra + one[-4:]):
        # the last two end with the member's own trailer: libdeflate alone would accept them
        assert same_as_zlib(payload) == (
            DecodeError,
            "bytes after the end of the gzip payload",
            len(one),
        )


def test_every_truncation_is_refused():
    for payload in (gz(BATCH), gz(b"x"), gz(b""), sync_flushed([BATCH[:500], BATCH[500:]])):
        for cut in range(len(payload)):
            assert same_as_zlib(payload[:cut])[0] is DecodeError


def test_bad_crc_and_lying_isize_are_refused():
    payload = bytearray(gz(BATCH))
    n, size = len(payload), len(BATCH)
    crc = bytearray(payload)
    crc[-8] ^= 1
    assert same_as_zlib(bytes(crc))[1] == f"{BAD}incorrect data check)"
    for lie in (size - 1, size + 1, size // 2, size * 2, 1, 2**31, 2**32 - 1, LIMIT, LIMIT + 1):
        lying = payload[:-4] + struct.pack("<I", lie)
        want = same_as_zlib(bytes(lying))
        assert want[0] is DecodeError
        assert want[1] == f"{BAD}incorrect length check)"
    assert n == len(payload)


def test_flipped_data_is_refused():
    payload = gz(BATCH, level=0)  # stored blocks: a flipped bit is a flipped byte of the output
    for i in range(15, len(payload) - 8, 97):  # past the block header (padding bits there)
        bad = bytearray(payload)
        bad[i] ^= 0x10
        assert same_as_zlib(bytes(bad))[0] is DecodeError


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x1f",
        b"\x1f\x8b\x08",
        b"\x1f\x8b\x08\x00",
        b"\x1f\x8b\x08" + b"\x00" * 7 + b"\xff\xff\xff",
        b"\x1f\x8b\x08garbage",
        b"\x1f\x8b\x08\x00" + b"\x00" * 30,
        b"\x1f\x8b\x09\x00" + bytes(16),  # not deflate
        b"not gzip at all, but twenty bytes or more",
        b"\x78\x9c" + zlib.compress(b"zlib, not gzip")[2:],
    ],
)
def test_garbage_is_refused(payload):
    assert same_as_zlib(payload)[0] is DecodeError


# ---------------------------------------------------------------------------
# The limit


def test_exactly_at_the_limit():
    payload = gz(BATCH)
    assert same_as_zlib(payload, len(BATCH)) == ("ok", BATCH)
    assert same_as_zlib(payload, len(BATCH) - 1) == (
        DecodeError,
        f"{TOO_LARGE}{len(BATCH) - 1} bytes (raise the limit if the peer is trusted)",
        0,
    )
    assert same_as_zlib(payload, 0)[0] is DecodeError
    assert same_as_zlib(payload, sys.maxsize) == ("ok", BATCH)


@pytest.mark.parametrize("limit", [-1, -2, -(2**62)])
def test_negative_limit(limit):
    assert same_as_zlib(gz(BATCH), limit) == (
        ValueError,
        "max_inflated_size must be zero or more",
        None,
    )


def _peak(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        try:
            result = call()
        except DecodeError as exc:
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("limit", [0, 1000, 1 << 20])
def test_bomb_with_an_honest_trailer_is_refused_within_the_limit(limit):
    bomb = gzip_bomb(64 << 20)
    err, peak = _peak(lambda: _inflate.inflate(bomb, limit))
    assert isinstance(err, DecodeError)
    assert err.reason.startswith(f"{TOO_LARGE}{limit} ")
    assert peak < limit + (4 << 20)
    assert same_as_zlib(bomb, limit)[0] is DecodeError


@pytest.mark.parametrize("lie", [0, 1, 100, 1 << 20])
def test_bomb_with_a_lying_trailer_is_refused_within_the_limit(lie):
    bomb = gzip_bomb(64 << 20)
    bomb = bomb[:-4] + struct.pack("<I", lie)
    limit = 2 << 20
    err, peak = _peak(lambda: _inflate.inflate(bomb, limit))
    assert isinstance(err, DecodeError)
    assert err.reason.startswith(f"{TOO_LARGE}{limit} ")
    assert peak < limit + (4 << 20)


def test_isize_past_what_the_input_can_hold_goes_to_zlib():
    """A claim beyond 1032 bytes out per byte in is a lie: zlib's reason, not the bomb's."""
    payload = gz(b"tiny")
    for claim in (_inflate.MAX_RATIO * len(payload) + 1, 2**32 - 1):
        lying = payload[:-4] + struct.pack("<I", claim)
        assert outcome(_inflate.inflate, lying, 2**40) == outcome(
            _inflate.inflate_zlib, lying, 2**40
        )
        assert outcome(_inflate.inflate, lying, 2**40)[1].endswith("incorrect length check)")


# ---------------------------------------------------------------------------
# Differential: random streams, and random damage to them


@st.composite
def gzip_streams(draw) -> bytes:
    data = draw(
        st.one_of(
            st.binary(max_size=3000),
            st.builds(lambda b, k: b * k, st.binary(min_size=1, max_size=40), st.integers(1, 200)),
        )
    )
    how = draw(st.sampled_from(["gzip", "flushes", "flushes-unfinished"]))
    if how == "gzip":
        return gz(data, draw(st.integers(0, 9)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return sync_flushed(chunks, finish=how == "flushes")


@st.composite
def damaged(draw) -> bytes:
    payload = bytearray(draw(gzip_streams()))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "cut", "append", "isize", "concat"]))
        if kind == "flip" and payload:
            i = draw(st.integers(0, len(payload) - 1))
            payload[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del payload[draw(st.integers(0, len(payload))) :]
        elif kind == "append":
            payload += draw(st.binary(min_size=1, max_size=12))
        elif kind == "isize" and len(payload) >= 4:
            payload[-4:] = struct.pack("<I", draw(st.integers(0, 2**32 - 1)))
        elif kind == "concat":
            payload += draw(gzip_streams())
    return bytes(payload)


@SETTINGS
@given(gzip_streams(), st.sampled_from([LIMIT, 0, 100, 5000]))
def test_differential_valid_streams(payload, limit):
    same_as_zlib(payload, limit)


@SETTINGS
@given(damaged(), st.sampled_from([LIMIT, 100, 5000]))
def test_differential_damaged_streams(payload, limit):
    same_as_zlib(payload, limit)


@SETTINGS
@given(st.binary(max_size=200))
def test_differential_garbage(data):
    same_as_zlib(b"\x1f\x8b\x08\x00" + data)
    same_as_zlib(data)


# ---------------------------------------------------------------------------
# What libdeflate accepts that zlib does not (pinned; see the module docstring)


class _Bits:
    def __init__(self) -> None:
        self.acc = self.n = 0

    def put(self, value: int, k: int) -> None:  # k bits, least significant first
        self.acc |= value << self.n
        self.n += k

    def code(self, code: int, k: int) -> None:  # a Huffman code, most significant bit first
        for i in range(k - 1, -1, -1):
            self.put((code >> i) & 1, 1)


def test_forbidden_length_symbol_286():
    """A fixed-Huffman block: 'a', then litlen symbol 286 (forbidden by RFC 1951), distance 1.

    zlib refuses it; libdeflate reads 286 as length 258. The trailer is right for that reading,
    so the fast path returns it: bounded and CRC-checked, and no encoder writes it."""
    bits = _Bits()
    bits.put(1, 1)  # BFINAL
    bits.put(1, 2)  # fixed Huffman
    bits.code(0x30 + ord("a"), 8)
    bits.code(0xC0 + 286 - 280, 8)
    bits.code(0, 5)  # distance symbol 0: 1
    bits.code(0, 7)  # end of block
    raw = bits.acc.to_bytes((bits.n + 7) // 8, "little")
    text = b"a" * 259
    payload = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + raw
    payload += struct.pack("<II", zlib.crc32(text), len(text))
    assert outcome(_inflate.inflate_zlib, payload)[1].endswith("invalid literal/length code)")
    got = outcome(_inflate.inflate, payload)
    if _inflate.inflater == "libdeflate":
        assert got == ("ok", text)
    else:
        assert got == outcome(_inflate.inflate_zlib, payload)


# ---------------------------------------------------------------------------
# Choosing the inflater


def test_use_and_inflater():
    assert _inflate.inflater in _inflate.INFLATERS
    assert _inflate.use("zlib") == "zlib" == _inflate.inflater
    assert _inflate.use(None) == _inflate.available()[0] == _inflate.inflater
    assert _inflate.use("auto") == _inflate.available()[0]
    with pytest.raises(ValueError, match="unknown inflater"):
        _inflate.use("gzip")
    assert "zlib" in _inflate.available()


def _python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "FASTLIVE_INFLATER"}
    out = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip() + out.stderr


def test_environment_variable_picks_the_inflater():
    code = "import fastlive._inflate as m; print(m.inflater)"
    assert _python(code, FASTLIVE_INFLATER="zlib") == "zlib"
    assert _python(code).startswith(_inflate.available()[0])
    out = _python(code, FASTLIVE_INFLATER="bogus")
    assert out.startswith(_inflate.available()[0])
    assert "FASTLIVE_INFLATER ignored" in out


def test_without_the_deflate_package_zlib_is_used():
    code = (
        "import sys; sys.modules['deflate'] = None\n"
        "import gzip, fastlive._inflate as m\n"
        "print(m.inflater, m.available(), m.inflate(gzip.compress(b'ok'), 10))\n"
        "try:\n    m.use('libdeflate')\nexcept ValueError as e:\n    print('refused', e)\n"
    )
    out = _python(code)
    assert out.startswith("zlib ('zlib',) b'ok'\nrefused inflater 'libdeflate' is not installed")


def test_bench_inflate_smoke(inflater):
    """The benchmark's harness: every contender checked against zlib (no timing assertion)."""
    if inflater != _inflate.available()[0]:
        pytest.skip("once is enough")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_inflate
    finally:
        sys.path.remove(str(BENCHMARKS))
    frames = bench_inflate.build_small_corpus(30, seed=5)
    assert frames == bench_inflate.build_small_corpus(30, seed=5)
    payloads = bench_inflate.payloads_of(frames)
    assert all(2 <= zlib.decompress(p, 31).count(b"Webcast") for p in payloads)
    names = bench_inflate.installed()
    res = bench_inflate.measure(payloads, names, rounds=1, quick=True)
    assert set(res) == set(names) and res["zlib"]["ratio"] == [1.0]


def test_stub_lists_what_the_module_exports():
    stub = (Path(_inflate.__file__).parent / "_inflate.pyi").read_text()
    declared = set(re.findall(r"^def (\w+)|^(\w+):", stub, re.MULTILINE))
    names = {a or b for a, b in declared} - {"Inflater"}
    assert names == set(_inflate.__all__)
    assert all(hasattr(_inflate, name) for name in names)
