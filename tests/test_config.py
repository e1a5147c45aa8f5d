"""``fastlive._config``: the one place that reads the environment."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fastlive"
READS_ENVIRONMENT = re.compile(r"\bos\.environ\b|\bos\.getenv\b|\bgetenv\(")
STILL_READING = {
    # Owners: move these into Settings.from_env, then drop them from this set.
    "cli/watch.py",  # NO_COLOR
    # An import-time implementation selector (like yarl's YARL_NO_EXTENSIONS) is read
    # before any Settings exist: it stays where it is, documented in its module.
    "_inflate.pyx",  # FASTLIVE_INFLATER
}
"""Modules outside ``_config`` known to read the environment today; no new ones."""


def readers() -> set[str]:
    found = set()
    for path in (*SRC.rglob("*.py"), *SRC.rglob("*.pyx")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "_config.py" or rel.startswith("testing/"):
            continue  # the fake prints an environment; it never reads one for the product
        if READS_ENVIRONMENT.search(path.read_text(encoding="utf-8")):
            found.add(rel)
    return found


def test_only_settings_read_the_environment():
    extra = readers() - STILL_READING
    assert not extra, f"read the environment in Settings.from_env, not in {sorted(extra)}"
