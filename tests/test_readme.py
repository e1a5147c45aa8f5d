"""The README's examples run: the offline one against FakeTikTok, as written."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import CAPTURES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.DOTALL)


async def test_fake_tiktok_example_runs():
    [block] = [b for b in _python_blocks() if "FakeTikTok() as fake" in b]
    body = block.replace("        ...\n", "        seen.append(event)\n")
    source = "async def example(seen):\n" + textwrap.indent(body, "    ")
    namespace: dict = {}
    exec(compile(source, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    seen: list = []
    await namespace["example"](seen)
    names = {type(e).__name__ for e in seen}
    assert {"ConnectEvent", "CommentEvent", "LiveEndEvent"} <= names


def test_readme_test_command_and_ci_run_the_same_suite():
    *_, test_command = re.findall(r"```sh\n(.*?)\n```", _two_commands(), re.DOTALL)
    assert test_command.endswith(" && .venv/bin/python -m pytest")
    assert ".venv/bin/pip install -q -e '.[test]'" in test_command  # the source tree
    ci = (ROOT / ".ci" / "run").read_text()
    assert "`.ci/run`" in _two_commands() and "[test]" in ci and re.search(r"\bpytest\b", ci)


def _two_commands() -> str:
    """The README's section "The two commands"."""
    return README.split("## The two commands\n", 1)[1].split("\n## ", 1)[0]


def _fastlive(command: str, cwd: Path) -> subprocess.CompletedProcess:
    """One ``.venv/bin/fastlive ...`` of the README, run with this interpreter in ``cwd``."""
    [program, *args] = shlex.split(command)
    assert program == ".venv/bin/fastlive", command
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTLIVE_", "SIGN_API_"))}
    return subprocess.run(
        [sys.executable, "-m", "fastlive", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_main_command_works_in_a_bare_clone(tmp_path):
    """The main command, in a folder with nothing beside it (no ../shared): a user's clone."""
    [main_command, *_] = re.findall(r"```sh\n(.*?)\n```", _two_commands(), re.DOTALL)
    setup, install, *steps = main_command.split(" && ")
    assert setup == "python3 -m venv .venv" and install.startswith(".venv/bin/pip install")
    assert steps and "../" not in main_command  # nothing outside the clone
    assert not (tmp_path.parent / "shared").exists()
    for step in steps:
        done = _fastlive(step, tmp_path)
        assert done.returncode == 0, (step, done.stderr)
    summary = done.stderr.strip().splitlines()[-1]  # the last step's: the replay's
    assert int(summary.split()[0]) > 100 and "LiveEndEvent 1" in summary, summary
    assert "did not decode" not in done.stderr


@pytest.mark.skipif(not CAPTURES.is_dir(), reason="../shared/captures is absent on this machine")
def test_decode_of_the_captures_beside_the_clone_works():
    [command] = re.findall(r"`(\.venv/bin/fastlive decode [^`]*)`", _two_commands())
    assert "../shared/captures" in command
    done = _fastlive(command, ROOT)
    assert done.returncode == 0, done.stderr
    assert int(done.stderr.strip().splitlines()[-1].split()[0]) > 3000


async def test_monitor_example_runs(monkeypatch, tmp_path):
    import asyncio
    import sys

    from fastlive.testing import FakeTikTok, chat, gift, make_user

    [block] = [b for b in _python_blocks() if "Monitor(" in b]
    script = tmp_path / "monitor_example.py"
    script.write_text(block)
    carol = make_user(7_300_000_000_000_000_321, "Carol Singer", "carol.sings")
    async with FakeTikTok() as fake:
        fake.add_room(
            "alice",
            room_id=7_400_000_000_000_000_011,
            frames=[[("WebcastChatMessage", chat("hello from alice", carol, msg_id=1), 1)]],
        )
        fake.add_room("bob", room_id=7_400_000_000_000_000_012, live=False)
        fake.add_room("dave", room_id=7_400_000_000_000_000_001, frames=[])
        fake.add_room(
            "carol",
            room_id=7_400_000_000_000_000_013,
            frames=[
                [
                    (
                        "WebcastGiftMessage",
                        gift(repeat_count=3, repeat_end=1, user=carol, msg_id=2),
                        2,
                    )
                ]
            ],
        )
        env = {
            "FASTLIVE_WEB_URL": fake.web_url,
            "FASTLIVE_WEBCAST_URL": fake.webcast_url,
            "SIGN_API_URL": fake.sign_api_url,
            "FASTLIVE_WS_URL": fake.ws_url,
        }
        import os

        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        seen: list[str] = []
        try:
            async with asyncio.timeout(30):
                while not (
                    any("hello from alice" in s for s in seen)
                    and any("diamonds" in s for s in seen)
                ):
                    line = await proc.stdout.readline()
                    if not line:
                        break
                    seen.append(line.decode())
        finally:
            proc.kill()
            await proc.wait()
    assert any(s.startswith("@alice Carol Singer hello from alice") for s in seen), seen
    assert any(s.startswith("@carol Rose x 3 =") for s in seen), seen
    assert any("waiting" in s or "live" in s for s in seen)  # the state listener printed


async def test_client_example_runs(tmp_path):
    """The first example, as a script, against a fake room called someone."""
    import asyncio
    import os
    import sys

    from fastlive.testing import FakeTikTok, chat, gift, make_user

    [block] = [b for b in _python_blocks() if 'TikTokLiveClient("@someone")' in b]
    script = tmp_path / "client_example.py"
    script.write_text(block)
    room = 7_400_000_000_000_000_021
    dan = make_user(7_300_000_000_000_000_444, "Dan Example", "dan.example")
    async with FakeTikTok() as fake:
        fake.add_room("someone", room_id=room, frames=[
            [("WebcastChatMessage", chat("hi there", dan, msg_id=1, room_id=room), 1)],
            [("WebcastGiftMessage", gift(repeat_count=2, repeat_end=0, user=dan, msg_id=2), 2)],
            [("WebcastGiftMessage", gift(repeat_count=4, repeat_end=1, user=dan, msg_id=3), 3)],
        ], ends=True)  # fmt: skip
        env = {**os.environ, "FASTLIVE_WEB_URL": fake.web_url,
               "FASTLIVE_WEBCAST_URL": fake.webcast_url, "SIGN_API_URL": fake.sign_api_url,
               "FASTLIVE_WS_URL": fake.ws_url}  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(script), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = out.decode().splitlines()
    assert proc.returncode == 0, err.decode()
    assert lines[0] == f"connected to room {room}"
    # handlers are tasks: lines of different frames need not keep their order
    assert sorted(lines[1:]) == ["Dan Example: hi there", "dan.example sent 4 x Rose"]
