"""Source rules that keep the hot path honest: no I/O, clocks or logging in the core."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fastlive"

# Modules that must stay sans-I/O: bytes in, events and bytes out.
PURE = ["_decode.pyx", "session.py", "batch.py", "events.py"]
FORBIDDEN = re.compile(
    r"^\s*(import|from)\s+(asyncio|socket|logging|time|websockets|httpx|threading|select)\b",
    re.MULTILINE,
)


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_no_io(name):
    path = SRC / name
    if not path.exists():
        pytest.skip(f"{name} not written yet")
    text = path.read_text()
    assert not FORBIDDEN.findall(text), f"{name} imports an I/O, clock or logging module"
    assert "print(" not in text


def test_stub_lists_what_the_module_exports():
    import fastlive._decode as mod

    stub = (SRC / "_decode.pyi").read_text()
    declared = set(re.findall(r"^def (\w+)|^(\w+):", stub, re.MULTILINE))
    names = {a or b for a, b in declared}
    public = {n for n in dir(mod) if not n.startswith("_") and n.isidentifier()}
    public -= {"Batch", "DecodeError", "zlib"}  # imported helpers, not the module's own API
    assert names == public


def test_ruff_is_clean():
    """Style is ruff's (pinned in the test extra), checked like any other test."""
    import subprocess
    import sys

    root = SRC.parents[1]
    paths = ["src", "tests", "benchmarks", "proto"]
    for args in (["check", *paths], ["format", "--check", *paths]):
        out = subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
