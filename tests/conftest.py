"""Shared fixtures: where the real captures live (outside the repo, never copied into it), and a
FakeTikTok on its own thread for clients that block in ``run()``."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fastlive.testing import FakeTikTok
from fastlive.testing.factory.wire import read_varint, varint  # noqa: F401 (for the tests)

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "captures"
"""``../shared/captures`` beside the project root (see its README for what it holds)."""

U64 = (1 << 64) - 1


def gzip_bomb(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes, built without holding them in memory."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    out = [comp.compress(chunk) for _ in range(size >> 20)]
    out.append(comp.compress(bytes(size & ((1 << 20) - 1))))
    out.append(comp.flush())
    return b"".join(out)


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


COMPONENTS = {
    "ffmpeg": (lambda: shutil.which("ffmpeg") is not None, "ffmpeg is not installed"),
    "curl_cffi": (
        lambda: importlib.util.find_spec("curl_cffi") is not None,
        "curl_cffi is not installed (fastlive[impersonate])",
    ),
}
"""What ``@pytest.mark.requires(name)`` checks, and the reason a test cannot run without it."""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a test whose component is absent, saying why; under ``CI=true``, fail it instead:
    ``.ci/run`` installs every component, so one missing there is a broken CI, not a skip."""
    for mark in item.iter_markers("requires"):
        for name in mark.args:
            present, reason = COMPONENTS[name]
            if present():
                continue
            if os.environ.get("CI") == "true":
                pytest.fail(f"{reason}: under CI=true .ci/run must install it", pytrace=False)
            pytest.skip(reason)
