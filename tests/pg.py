"""A throwaway PostgreSQL cluster for tests: ``initdb`` and ``pg_ctl`` from the system's packages.

The cluster lives in a fresh temporary folder, listens on 127.0.0.1 at a free port (and on a
socket in that folder), trusts local connections and is removed at the end.  As root (CI),
``initdb`` refuses to run, so every server command runs as the ``postgres`` system user through
``runuser``.  Where the binaries are absent the tests skip with the reason; under ``CI=true`` a
missing piece fails them instead (``.ci/run`` installs Debian's ``postgresql``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip, or fail under CI=true, where a component the test needs is missing."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)", pytrace=False)
    pytest.skip(reason)


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian's newest, else the PATH's."""
    versions = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if versions:
        newest = max(versions, key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
        return Path(newest).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One initdb'd cluster; ``start()``, ``stop()`` (fast shutdown) and ``dsn(db)``.

    Tests run it without fsync (fast, nothing to keep); ``durable=True`` keeps PostgreSQL's
    defaults (fsync, synchronous commit), as the benchmark measures.
    """

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.user: str | None = None  # the system user the server runs as, when we are root
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                unavailable("running as root, and there is no 'postgres' user to run initdb as")
            self.user = "postgres"
        # as root, in /tmp: the server's user must reach the folder (TMPDIR may be root's own)
        where = "/tmp" if self.user is not None and os.path.isdir("/tmp") else None
        self.root = Path(tempfile.mkdtemp(prefix="fastlive-pg-", dir=where))
        self.data = self.root / "data"
        self.port = free_port()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\nmax_connections = 40\n"
            )
            if not durable:
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def _run(self, tool: str, *args: str) -> str:
        cmd = [str(self.bindir / tool), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(
            cmd, check=False, capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop at once, as an outage would: ``pg_ctl stop -m fast`` (clients are cut)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def dsn(self, database: str = "postgres", password: str | None = None) -> str:
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through psql over the socket (for setup and checks that need no driver)."""
        return self._run(
            "psql", "-X", "-q", "-At", "-h", str(self.root), "-p", str(self.port), "-U",
            "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql,
        )  # fmt: skip

    def remove(self) -> None:
        try:
            self.stop()
        except RuntimeError:
            pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


def cluster() -> Iterator[PgCluster]:
    """Body of a fixture: a started cluster, removed afterwards; skip (fail in CI) when absent."""
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL's initdb and pg_ctl are not installed (Debian: postgresql)")
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        unavailable("asyncpg is not installed (pip install 'fastlive[postgres]')")
    assert bindir is not None
    pg = PgCluster(bindir)
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()
