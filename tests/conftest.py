"""Shared fixtures: where the real captures live (outside the repo, never copied into it)."""

from __future__ import annotations

from pathlib import Path

import pytest

CAPTURES = Path(__file__).resolve().parents[1].parent / "shared" / "captures"
"""``../shared/captures`` beside the project root (see its README for what it holds)."""

collect_ignore = ["fuzz_decode_atheris.py"]  # a by-hand atheris harness, not tests


@pytest.fixture(scope="session")
def captures_dir() -> Path:
    """The captures folder; skips the test when it is absent (e.g. a bare clone)."""
    if not CAPTURES.is_dir():
        pytest.skip(f"real captures not found at {CAPTURES} (they live in ../shared/captures)")
    return CAPTURES
