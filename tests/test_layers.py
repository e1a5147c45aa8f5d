"""The layer rules of ``docs/architecture.md``, checked on the source: who may import whom.

Every import counts: at module level, inside functions, under ``if TYPE_CHECKING:`` (a type
is a dependency too, and a guarded import is one deleted guard away from a cycle) and literal
``importlib.import_module("...")`` calls. ``.py`` and ``.pyi`` files are parsed with ``ast``;
Cython files (``.pyx``, ``.pxd``) are read line by line. The one exemption is the package
root's ``if TYPE_CHECKING:`` block, which re-exports every public name for type checkers.

``check(root)`` works on any package folder (the tests below feed it made-up packages), and
a violation reads ``path:line: importer imports target: rule``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fastlive"

CORE = "core"
ROOT = "root"
SUBPACKAGES = (
    "web", "client", "compat", "sinks", "monitor", "record", "dashboard", "fleet", "cli",
    "testing",
)  # fmt: skip
CORE_PACKAGES = ("proto",)
"""Folders that belong to the core (data for the core, not a layer of their own)."""

# What each layer must never import (the root and its own layer are handled apart).
FORBIDDEN: dict[str, frozenset[str]] = {
    CORE: frozenset(SUBPACKAGES),
    "web": frozenset({"client", "compat", "monitor", "record", "fleet", "cli", "testing"}),
    "client": frozenset({"monitor", "record", "fleet", "cli", "testing"}),
    "compat": frozenset(
        {"monitor", "record", "fleet", "cli", "testing"}
    ),  # the client's TikTokLive face
    "record": frozenset({"monitor", "fleet", "cli", "testing"}),
    "sinks": frozenset(
        {"web", "client", "compat", "monitor", "record", "dashboard", "fleet", "cli", "testing"}
    ),
    "monitor": frozenset({"fleet", "cli", "testing"}),
    "dashboard": frozenset({"fleet", "cli", "testing"}),  # the web page over a Monitor
    # the fleet on NATS: workers, leases, the event stream; only the CLI imports it
    "fleet": frozenset({"compat", "record", "dashboard", "cli", "testing"}),
    "cli": frozenset(),  # the top; its one condition (testing) is checked apart
    "testing": frozenset({"fleet"}),  # the fake TikTok may use any layer but the fleet
}
SYNTAX_ERROR = "<syntax error>"
LAZY_TESTING = re.compile(r"(?:^|_)(?:demo|serve)(?:_|$)")
"""The CLI commands allowed to import ``testing`` (lazily): ``demo`` and ``serve``."""


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    importer: str  # dotted module name of the file
    target: str  # dotted module name imported
    lazy: bool  # inside a function
    type_only: bool  # under ``if TYPE_CHECKING:`` or in a stub
    functions: tuple[str, ...]  # enclosing function names, outermost first


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    importer: str
    target: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.target}: {self.rule}"


# -- reading imports ----------------------------------------------------------------------------


def module_name(root: Path, path: Path) -> str:
    """Dotted name of ``path`` in the package whose folder is ``root``."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.stem == "__init__"


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, module] if module else base)


def _is_module(root: Path, dotted: str) -> bool:
    """Whether ``dotted`` names a module or package inside ``root`` (source or compiled)."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return False
    where = root.joinpath(*parts[1:])
    if (where / "__init__.py").is_file():
        return True
    if any(where.with_name(where.name + ext).is_file() for ext in (".py", ".pyx", ".pyi")):
        return True
    return any(where.parent.glob(where.name + ".*.so")) or any(
        where.parent.glob(where.name + ".*.pyd")
    )


def _from_targets(root: Path, base: str, names: list[str]) -> Iterator[str]:
    """``from base import a, b``: each name that is a submodule is its own target."""
    for name in names:
        sub = f"{base}.{name}"
        yield sub if name != "*" and _is_module(root, sub) else base


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _python_imports(root: Path, path: Path) -> Iterator[Import]:
    importer = module_name(root, path)
    package = _is_package(path)
    stub = path.suffix == ".pyi"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:  # reported by check() rather than crashing the whole test
        yield Import(path, exc.lineno or 0, importer, SYNTAX_ERROR, False, False, ())
        return

    def visit(node: ast.AST, functions: tuple[str, ...], type_only: bool) -> Iterator[Import]:
        def make(target: str, line: int) -> Import:
            return Import(
                path, line, importer, target, bool(functions), type_only or stub, functions
            )

        if isinstance(node, ast.Import):
            for alias in node.names:
                yield make(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(importer, package, node.level, node.module)
            for target in _from_targets(root, base, [a.name for a in node.names]):
                yield make(target, node.lineno)
        elif (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("import_module", "__import__")
                )
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield make(node.args[0].value, node.lineno)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from visit(child, functions, True)
            for child in node.orelse:
                yield from visit(child, functions, type_only)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            functions = (*functions, getattr(node, "name", "<lambda>"))
        for child in ast.iter_child_nodes(node):
            yield from visit(child, functions, type_only)

    yield from visit(tree, (), False)


_CYTHON_DEF = re.compile(r"^(\s*)(?:async\s+def|def|cdef|cpdef)\s+(?:[\w\[\],. *]+\s+)*?(\w+)\s*\(")
_CYTHON_FROM = re.compile(r"^\s*from\s+(\.*)([\w.]*)\s+c?import\s+(.+)$")
_CYTHON_IMPORT = re.compile(r"^\s*c?import\s+(.+)$")


def _cython_imports(root: Path, path: Path) -> Iterator[Import]:
    """Cython is not Python: import lines by regex, functions tracked by indentation."""
    importer = module_name(root, path)
    package = _is_package(path)
    stack: list[tuple[int, str]] = []  # (indent, name) of the enclosing defs
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack and indent <= stack[-1][0]:
            stack.pop()
        functions = tuple(name for _, name in stack)
        if m := _CYTHON_DEF.match(line):
            stack.append((indent, m.group(2)))
            continue
        targets: list[str] = []
        if m := _CYTHON_FROM.match(line):
            base = _resolve_relative(importer, package, len(m.group(1)), m.group(2) or None)
            names = [
                n.strip().split()[0] for n in m.group(3).strip("()\\ ").split(",") if n.strip()
            ]
            targets = list(_from_targets(root, base, names or ["*"]))
        elif m := _CYTHON_IMPORT.match(line):
            targets = [n.strip().split()[0] for n in m.group(1).split(",") if n.strip()]
        cimport = " cimport " in f" {stripped} "
        for target in targets:
            yield Import(path, number, importer, target, bool(functions), cimport, functions)


def iter_imports(root: Path) -> Iterator[Import]:
    """Every import of every module under ``root`` (a package folder), in path order."""
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        if path.suffix in (".py", ".pyi"):
            yield from _python_imports(root, path)
        elif path.suffix in (".pyx", ".pxd"):
            yield from _cython_imports(root, path)


# -- the rules ----------------------------------------------------------------------------------


def layer_of(root: Path, dotted: str) -> str | None:
    """The layer of a module of the package, ``None`` outside it."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return None
    if len(parts) == 1:
        return ROOT
    if parts[1] == "__main__":
        return "cli"  # ``python -m fastlive`` is the CLI
    if parts[1] in SUBPACKAGES:
        return parts[1]
    return CORE


def _unknown_folders(root: Path) -> Iterator[Violation]:
    for folder in sorted(p for p in root.iterdir() if (p / "__init__.py").is_file()):
        if folder.name not in SUBPACKAGES and folder.name not in CORE_PACKAGES:
            yield Violation(
                folder / "__init__.py",
                1,
                module_name(root, folder / "__init__.py"),
                "-",
                "a package that is in no layer: add it to the layer rules (tests/test_layers.py) "
                "and to docs/architecture.md",
            )


def check(root: Path) -> list[Violation]:
    """Every layer rule broken by the package in folder ``root``."""
    root = Path(root)
    out = list(_unknown_folders(root))
    for imp in iter_imports(root):
        if imp.target == SYNTAX_ERROR:
            out.append(Violation(imp.path, imp.line, imp.importer, "-", "does not parse"))
            continue
        src, dst = layer_of(root, imp.importer), layer_of(root, imp.target)
        if dst is None:
            continue
        where = imp.path, imp.line, imp.importer, imp.target
        if src == ROOT:
            if dst not in (ROOT, CORE) and not imp.type_only:
                out.append(Violation(*where, "the package root imports only the core at run "
                                     "time (everything else loads on first use, PEP 562)"))  # fmt: skip
            continue
        if dst == ROOT:
            out.append(Violation(*where, "no module imports the package root (its lazy "
                                 "__getattr__ makes cycles): import the defining module"))  # fmt: skip
            continue
        if src == dst:
            continue
        if dst in FORBIDDEN[src]:
            out.append(Violation(*where, f"{src} must not import {dst}"))
        elif dst == "testing" and src == "cli":
            chain = (imp.importer, *imp.functions)
            if not imp.lazy:
                out.append(Violation(*where, "the CLI imports testing only inside a function"))
            elif not any(LAZY_TESTING.search(name.rsplit(".", 1)[-1]) for name in chain):
                out.append(Violation(*where, "only the CLI's demo and serve import testing"))
    return out


# -- the tests ----------------------------------------------------------------------------------


def test_the_package_keeps_its_layers():
    if not SRC.is_dir():
        pytest.skip(f"no source tree at {SRC}")
    violations = check(SRC)
    assert not violations, "layer rules broken:\n" + "\n".join(map(str, violations))


def test_every_source_folder_is_a_package():
    """A folder of modules without ``__init__.py`` imports from src/ but is left out of the wheel
    (``packages.find`` finds regular packages only)."""
    if not SRC.is_dir():
        pytest.skip(f"no source tree at {SRC}")
    folders = {p.parent for p in SRC.rglob("*.py") if "__pycache__" not in p.parts}
    assert sorted(str(f) for f in folders if not (f / "__init__.py").is_file()) == []


def test_the_rules_name_every_layer():
    assert set(FORBIDDEN) == {CORE, *SUBPACKAGES}


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "fastlive"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def _rules(violations: list[Violation]) -> list[tuple[str, int, str]]:
    return [(v.path.name, v.line, v.target) for v in violations]


def test_a_clean_made_up_package_passes(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from fastlive._version import v\nif TYPE_CHECKING:\n"
                       "    from fastlive.monitor import M\n",
        "_version.py": "v = 1\n",
        "events.py": "import json\nfrom . import _version\n",
        "_decode.pyx": "cimport cython\nfrom libc.stdint cimport uint8_t\n"
                       "from fastlive import events as _ev\nfrom fastlive.events import X\n",
        "web/api.py": "from fastlive.events import X\nfrom ..events import Y\nfrom . import other\n",
        "web/other.py": "",
        "client/client.py": "from fastlive.web.api import A\nfrom fastlive.compat import C\n",
        "compat/client.py": "from fastlive.client import TikTokLiveClient\n",
        "record/video.py": "def f():\n    from fastlive.client import C\n",
        "monitor/monitor.py": "from fastlive.client import C\nfrom fastlive.record.frames import R\n",
        "cli/main.py": "def cmd_demo():\n    from fastlive.testing import FakeTikTok\n"
                       "async def _serve():\n    import fastlive.testing.server\n",
        "cli/serve.py": "def run():\n    from fastlive.testing import FakeTikTok\n",
        "testing/server.py": "from fastlive.monitor import Monitor\nfrom fastlive.cli import main\n",
        "proto/__init__.py": "import importlib\nimportlib.import_module('fastlive.proto.pb2')\n",
        "__main__.py": "from fastlive.cli import main\n",
    })  # fmt: skip
    assert check(root) == []


def test_each_rule_catches_its_violation(tmp_path):
    root = _package(tmp_path, {
        "__init__.py": "from fastlive.monitor import Monitor\n",  # 1: root loads the monitor
        "session.py": "import os\n"
                      "from fastlive.web import TikTokWeb\n"  # 2: core -> web
                      "def f():\n    import fastlive\n"  # 4: core -> root, lazily
                      "from fastlive import Monitor\n"  # 5: the root, not a submodule
                      "if TYPE_CHECKING:\n    from fastlive.client import C\n",  # 7: type-only
        "_decode.pyx": "from fastlive import events\n"
                       "cdef class A:\n"
                       "    cpdef int f(self, x):\n"
                       "        from fastlive.monitor import M\n",  # 4: pyx, lazily
        "web/api.py": "from ..client import C\n",  # 1: relative, web -> client
        "client/client.py": "import fastlive.monitor.monitor\n"  # 1: client -> monitor
                            "importlib.import_module('fastlive.record.video')\n",  # 2: -> record
        "compat/events.py": "from fastlive.cli import main\n",  # 1: compat -> cli
        "monitor/monitor.py": "from fastlive.testing import Fake\n",  # 1: monitor -> testing
        "record/video.py": "from fastlive.monitor import M\n",  # 1: record -> monitor
        "cli/main.py": "from fastlive.testing import Fake\n"  # 1: testing at module level
                       "def cmd_watch():\n    from fastlive.testing import Fake\n",  # 3: watch
        "testing/server.py": "def f():\n    from fastlive import CommentEvent\n",  # 2: root
        "plugins/sqlite.py": "",  # a package in no layer
        "stats.py": "def f(:\n",  # does not parse
        "events.py": "",
    })  # fmt: skip
    got = _rules(check(root))
    assert got == [
        ("__init__.py", 1, "-"),
        ("__init__.py", 1, "fastlive.monitor"),
        ("_decode.pyx", 4, "fastlive.monitor"),
        ("main.py", 1, "fastlive.testing"),
        ("main.py", 3, "fastlive.testing"),
        ("client.py", 1, "fastlive.monitor.monitor"),
        ("client.py", 2, "fastlive.record.video"),
        ("events.py", 1, "fastlive.cli.main"),
        ("monitor.py", 1, "fastlive.testing"),
        ("video.py", 1, "fastlive.monitor"),
        ("session.py", 2, "fastlive.web"),
        ("session.py", 4, "fastlive"),
        ("session.py", 5, "fastlive"),
        ("session.py", 7, "fastlive.client"),
        ("stats.py", 1, "-"),
        ("server.py", 2, "fastlive"),
        ("api.py", 1, "fastlive.client"),
    ]
    text = "\n".join(map(str, check(root)))
    assert (
        "web/api.py:1: fastlive.web.api imports fastlive.client: web must not import client" in text
    )
    assert "only the CLI's demo and serve import testing" in text
    assert "plugins/__init__.py:1" in text


def test_relative_imports_resolve(tmp_path):
    root = _package(tmp_path, {"web/api.py": "", "web/__init__.py": "from .api import A\n",
                               "client/x.py": "from .. import events\nfrom ..web import api\n",
                               "events.py": ""})  # fmt: skip
    targets = {(i.importer, i.target) for i in iter_imports(root)}
    assert ("fastlive.web", "fastlive.web.api") in targets
    assert ("fastlive.client.x", "fastlive.events") in targets
    assert ("fastlive.client.x", "fastlive.web.api") in targets
