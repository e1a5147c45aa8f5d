"""Coverage-guided fuzzing of ``fastlive.decode`` with atheris (by hand, not a pytest test).

    pip install atheris
    python tests/fuzz_decode_atheris.py -atheris_runs=100000 [corpus_dir]

Seeded with the factory's frames (gzip and plain) and the repaired capture frame when
``../shared/captures`` is there. Any exception but ``fastlive.DecodeError`` is a finding;
so is a Batch whose events do not convert to builtins or JSON. atheris sees coverage of
Python code only: for coverage of the compiled decoder build it with clang and
``CFLAGS=-fsanitize=fuzzer-no-link``; for memory errors, ``FASTLIVE_SANITIZE=1`` (setup.py).
"""

from __future__ import annotations

import gzip
import random
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import msgspec

    import fastlive
    from fastlive.proto import webcast_pb2 as pb

from conftest import CAPTURES

MAX_INFLATED = 1 << 20
REPAIRED = CAPTURES / "tiktoklivejava" / "WebcastPushFrame.repaired.bin"


def seeds() -> list[bytes]:
    """Frames to start from: factory traffic, every factory message alone, the capture."""
    from fastlive.testing import factory

    out = []
    builders = [
        n
        for n in factory.__all__
        if n not in {"fetch_result", "generic", "push_frame", "random_traffic", "make_user"}
        and callable(getattr(factory, n))
    ]
    for name in builders:
        payload = getattr(factory, name)()
        method = _method_of(payload)
        batch = factory.fetch_result([(method, payload, 1)])
        out += [factory.push_frame(batch, log_id=1, gzip=g) for g in (False, True)]
    for traffic in factory.random_traffic(seed=7, n_frames=4):
        batch = factory.fetch_result(traffic[:5])
        out += [factory.push_frame(batch, log_id=-(2**62) - 1, gzip=g) for g in (False, True)]
    if REPAIRED.exists():
        out.append(REPAIRED.read_bytes())
    return out


def _method_of(payload: bytes) -> str:
    """``common.method`` (field 1, first in the factory's payloads)."""
    size, pos, shift = 0, 1, 0
    while True:
        size |= (payload[pos] & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if payload[pos - 1] < 0x80:
            break
    return pb.CommonMessageData.FromString(payload[pos : pos + size]).method


SEEDS: list[bytes] = []


def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(buf) + 1)
        op = rng.randrange(4)
        if op == 0 and buf:
            buf[min(i, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[i:i] = rng.randbytes(rng.randint(1, 10))
        elif op == 2:
            del buf[i : i + rng.randint(1, 8)]
        else:
            del buf[i:]
    return bytes(buf)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    """Mutate one layer of a seed frame and wrap it again (gzip and all), or plain libFuzzer.

    The compiled decoder gives atheris no coverage, so the corpus would shrink to a few
    inputs: drawing from the seeds keeps whole, valid envelopes around deep mutations.
    """
    rng = random.Random(seed)
    if not SEEDS or rng.random() < 0.3:
        return atheris.Mutate(data, max_size)
    frame = pb.WebcastPushFrame.FromString(rng.choice(SEEDS))
    packed = frame.payload[:3] == b"\x1f\x8b\x08"
    body = gzip.decompress(frame.payload) if packed else frame.payload
    layer = rng.randrange(3)
    if layer == 0:
        result = pb.ProtoMessageFetchResult.FromString(body)
        if result.messages:
            msg = rng.choice(result.messages)
            msg.payload = _mutate_bytes(rng, msg.payload)
        body = result.SerializeToString()
    elif layer == 1:
        body = _mutate_bytes(rng, body)
    frame.payload = gzip.compress(body, mtime=0) if packed else body
    out = frame.SerializeToString()
    if layer == 2:
        out = _mutate_bytes(rng, out)
    return out[:max_size]


def test_one_input(data: bytes) -> None:
    try:
        batch = fastlive.decode(data, max_inflated_size=MAX_INFLATED)
    except fastlive.DecodeError:
        return
    msgspec.to_builtins(batch)
    for event in batch.events:
        msgspec.json.encode(event.to_dict())
    # Also feed the bytes as a bare batch and as one message payload.
    for call in (
        lambda: fastlive.decode_fetch_result(data, max_inflated_size=MAX_INFLATED),
        lambda: fastlive.decode_message("WebcastRoomPinMessage", data),
    ):
        try:
            call()
        except fastlive.DecodeError:
            pass


def main() -> None:
    args = list(sys.argv)
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus dir: seed a fresh one
        corpus = Path(tempfile.mkdtemp(prefix="fastlive-fuzz-"))
        for i, frame in enumerate(seeds()):
            (corpus / f"seed-{i:03d}").write_bytes(frame)
        args.append(str(corpus))
        print(f"seed corpus: {corpus}", file=sys.stderr)
    SEEDS.extend(seeds())
    atheris.Setup(args, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
