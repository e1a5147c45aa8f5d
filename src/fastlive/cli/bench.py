"""``fastlive bench``: the decode benchmark, ``benchmarks/bench_decode.py`` of a checkout."""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Any

from fastlive.exceptions import FastLiveError

__all__ = ["add_parser", "cmd_bench"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="run the decode benchmark (benchmarks/bench_decode.py)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="its options (--quick, -n...)")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    script = _script()
    if script is None:
        raise FastLiveError(
            "the benchmarks live in the source tree, not in the installed package: "
            "run 'fastlive bench' in a checkout (or from one installed with pip install -e .)"
        )
    sys.path.insert(0, str(script.parent))
    sys.argv = [str(script), *args.bench_args]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


def _script() -> Path | None:
    """The checkout's benchmark: beside an editable install, else in the current folder."""
    # src/fastlive/cli/bench.py -> the checkout's top folder
    for top in (Path(__file__).resolve().parents[3], Path.cwd()):
        script = top / "benchmarks" / "bench_decode.py"
        if script.is_file():
            return script
    return None
