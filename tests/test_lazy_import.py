"""The core loads alone: ``import fastlive.session`` or a call of ``fastlive.decode`` in a fresh
interpreter brings in neither the network libraries nor the layers above the core.

(``tests/test_exports.py`` checks that every name of ``fastlive.__all__`` resolves; here the
star import and the export table are checked in a fresh process.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from fastlive.testing import chat, fetch_result, push_frame

HEAVY = (
    "httpx",
    "websockets",
    "fastlive.web",
    "fastlive.client",
    "fastlive.compat",
    "fastlive.monitor",
    "fastlive.record",
    "fastlive.cli",
    "fastlive.testing",
)
"""What the sans-I/O core must not load (a package counts with its submodules)."""


def _fresh(code: str, tmp_path, *argv: str) -> dict:
    """Run ``code`` in a new interpreter (away from the checkout) and return the JSON it prints
    last; ``loaded`` in it is the list of modules of ``HEAVY`` that ended up in sys.modules."""
    epilogue = textwrap.dedent(f"""
        import json as _json, sys as _sys
        _heavy = {HEAVY!r}
        result["loaded"] = sorted(
            m for m in _sys.modules if any(m == h or m.startswith(h + ".") for h in _heavy)
        )
        print(_json.dumps(result))
    """)
    done = subprocess.run(
        [sys.executable, "-c", "result = {}\n" + textwrap.dedent(code) + epilogue, *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_session_loads_no_network_library(tmp_path):
    got = _fresh(
        """
        import fastlive.session
        result["session"] = fastlive.session.__name__
        """,
        tmp_path,
    )
    assert got["session"] == "fastlive.session"
    assert got["loaded"] == []


def test_decoding_through_the_root_loads_no_network_library(tmp_path):
    frame = push_frame(
        fetch_result([("WebcastChatMessage", chat("made up", msg_id=41), 41)]), log_id=7
    )
    got = _fresh(
        """
        import sys
        import fastlive
        batch = fastlive.decode(bytes.fromhex(sys.argv[1]))
        result["log_id"] = batch.log_id
        result["events"] = [(type(e).__name__, e.msg_id, e.content) for e in batch.events]
        """,
        tmp_path,
        frame.hex(),
    )
    assert got["log_id"] == 7
    assert got["events"] == [["CommentEvent", 41, "made up"]]
    assert got["loaded"] == []


def test_importing_the_root_loads_only_the_version(tmp_path):
    got = _fresh(
        """
        import sys
        import fastlive
        result["fastlive"] = sorted(m for m in sys.modules if m.startswith("fastlive"))
        """,
        tmp_path,
    )
    assert got["fastlive"] == ["fastlive", "fastlive._version"]


def test_star_import_gives_every_public_name(tmp_path):
    got = _fresh(
        """
        import fastlive
        namespace = {}
        exec("from fastlive import *", namespace)
        result["all"] = sorted(fastlive.__all__)
        result["star"] = sorted(n for n in namespace if n != "__builtins__")
        result["exports"] = sorted(fastlive._EXPORTS)
        result["dir"] = sorted(set(fastlive.__all__) - set(dir(fastlive)))
        """,
        tmp_path,
    )
    assert got["star"] == got["all"]
    assert got["dir"] == []
    # the lazy table and __all__ list the same names (__version__ is eager)
    assert sorted([*got["exports"], "__version__"]) == got["all"]
