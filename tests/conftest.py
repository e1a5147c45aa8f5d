"""Shared fixtures: where the real captures live (outside the repo, never copied into it), and a
FakeTikTok on its own thread for clients that block in ``run()``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fastlive.testing import FakeTikTok

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "captures"
"""``../shared/captures`` beside the project root (see its README for what it holds)."""

U64 = (1 << 64) - 1


def varint(value: int) -> bytes:
    """Protobuf varint of ``value`` (negative numbers as their 64-bit two's complement)."""
    value &= U64
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the varint at ``pos``; IndexError past the end."""
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


collect_ignore = ["fuzz_decode_atheris.py"]  # a by-hand atheris harness, not tests


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The captures folder; skips the test when it is absent (e.g. a bare clone)."""
    if not CAPTURES.is_dir():
        pytest.skip(f"real captures not found at {CAPTURES} (they live in ../shared/captures)")
    return CAPTURES


@contextlib.contextmanager
def _fake_in_thread(**rooms: dict[str, Any]) -> Iterator[FakeTikTok]:
    ready, stop = threading.Event(), threading.Event()
    holder: dict = {}

    async def serve() -> None:
        async with FakeTikTok() as fake:
            for unique_id, options in rooms.items():
                fake.add_room(unique_id, **options)
            holder["fake"] = fake
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.01)

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(5), "the fake did not start"
        yield holder["fake"]
    finally:
        stop.set()
        thread.join(5)


@pytest.fixture
def fake_in_thread() -> Callable[..., contextlib.AbstractContextManager[FakeTikTok]]:
    """``with fake_in_thread(alice={"room_id": ..., ...}) as fake:`` a FakeTikTok with these
    rooms (``add_room`` options by handle) on its own loop and thread, so the test may block in
    ``client.run()``."""
    return _fake_in_thread


# -- the wheel under test (``.ci/run`` sets FASTLIVE_TEST_INSTALLED=1) --------------------------

SRC = Path(__file__).resolve().parents[1] / "src"


def _where_fastlive() -> list[Path]:
    import fastlive
    import fastlive._decode

    return [Path(m.__file__).resolve() for m in (fastlive, fastlive._decode)]


def pytest_report_header(config: pytest.Config) -> str:
    return f"fastlive: {_where_fastlive()[0].parent}"


def pytest_configure(config: pytest.Config) -> None:
    """With ``FASTLIVE_TEST_INSTALLED=1`` the suite tests an installed wheel: refuse to run on
    the checkout's ``src/`` (a file missing from the wheel must fail, not be found in src/)."""
    if os.environ.get("FASTLIVE_TEST_INSTALLED") != "1":
        return
    for path in _where_fastlive():
        if path.is_relative_to(SRC):
            raise pytest.UsageError(
                f"FASTLIVE_TEST_INSTALLED=1 but {path} is in the checkout's src/: install the "
                "wheel into the venv that runs pytest, and keep src/ off sys.path"
            )
