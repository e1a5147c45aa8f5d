"""The README's examples run: the offline one against FakeTikTok, as written."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


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


def test_readme_commands_are_the_ci_commands():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    test_command = ci.strip().splitlines()[-1]
    assert test_command in README
