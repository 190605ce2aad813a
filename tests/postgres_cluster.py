"""A throwaway PostgreSQL cluster a test owns, for fault drills that stop the server.

The shared server (SLO_ENGINE_TEST_POSTGRES_URL) is never stopped: a drill that needs the
database to go away makes its own cluster with Debian's initdb in a temporary directory,
on a free port of 127.0.0.1, and stops it with `pg_ctl stop -m immediate` (what a crash
or a pulled plug looks like to clients: no goodbye, sessions cut). PostgreSQL refuses
to run as root, so under root every server command runs as the `postgres` OS user.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from tests.local_servers import free_port

T = TypeVar("T")

POSTGRES_USER = "postgres"
_VERSIONS_DIR = Path("/usr/lib/postgresql")
# pg_ctl's own wait for start and stop; crash recovery of a drill cluster takes well
# under a second.
_PG_CTL_WAIT_SECONDS = 30


# Another session holds a write lock on the table ($1): its transaction wrote and is open.
WRITE_IN_PROGRESS = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = $1 AND l.mode = 'RowExclusiveLock' AND l.granted
      AND l.pid <> pg_backend_pid()
)
"""


class ClusterUnavailableError(RuntimeError):
    """initdb, pg_ctl or the postgres user is missing, or the cluster did not start."""


def _bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian layout), else initdb's."""
    if _VERSIONS_DIR.is_dir():
        versions = sorted(
            (entry for entry in _VERSIONS_DIR.iterdir() if (entry / "bin" / "initdb").exists()),
            key=lambda entry: int(entry.name) if entry.name.isdigit() else 0,
        )
        if versions:
            return versions[-1] / "bin"
    initdb = shutil.which("initdb")
    if initdb is None:
        raise ClusterUnavailableError(f"no initdb under {_VERSIONS_DIR} or on PATH")
    return Path(initdb).parent


def _as_server_user() -> list[str]:
    """The prefix that runs a command as a user PostgreSQL accepts (not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise ClusterUnavailableError("running as root and runuser is missing")
    return ["runuser", "-u", POSTGRES_USER, "--"]


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on an event loop of its own (tests here are synchronous)."""
    return asyncio.run(coroutine)


@dataclass
class DrillCluster:
    """A running (or stopped) cluster: start and stop it at will on the same port."""

    root: Path
    port: int
    bin_dir: Path
    prefix: list[str]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def dsn(self, database: str = "postgres") -> str:
        """asyncpg's DSN for `database` on this cluster (trust authentication)."""
        return f"postgresql://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """The service's DATABASE_URL for `database` on this cluster."""
        return f"postgresql+asyncpg://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        command = [*self.prefix, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        done = subprocess.run(
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=_PG_CTL_WAIT_SECONDS + 10,
            check=False,
        )
        if done.returncode != 0:
            raise ClusterUnavailableError(
                f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()} "
                f"{done.stdout.strip()} (server log: {self.log_path})"
            )

    def start(self) -> None:
        """Start it on its port and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._pg_ctl(
            "-o", options, "-l", str(self.log_path), "-w", "-t", str(_PG_CTL_WAIT_SECONDS), "start"
        )

    def stop(self) -> None:
        """Stop it the hard way (`-m immediate`): every session is cut at once, nothing is
        flushed, and the next start runs crash recovery."""
        self._pg_ctl("-m", "immediate", "-w", "-t", str(_PG_CTL_WAIT_SECONDS), "stop")

    @property
    def running(self) -> bool:
        """What `pg_ctl status` says (0: a server runs; 3: none does)."""
        status = subprocess.run(
            [*self.prefix, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            cwd=self.root,
            capture_output=True,
            timeout=30,
            check=False,
        )
        return status.returncode == 0

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def execute(self, database: str, *statements: str) -> None:
        """Run `statements` on `database`, one connection for all of them."""

        async def go() -> None:
            connection = await asyncpg.connect(self.dsn(database), timeout=10)
            try:
                for statement in statements:
                    await connection.execute(statement)
            finally:
                await connection.close()

        run_sync(go())

    def fetch_value(self, database: str, query: str) -> Any:
        """The first column of the first row of `query` on `database`."""

        async def go() -> Any:
            connection = await asyncpg.connect(self.dsn(database), timeout=10)
            try:
                return await connection.fetchval(query)
            finally:
                await connection.close()

        return run_sync(go())

    def wait_for_write(
        self, database: str, table: str, timeout: float, give_up: Callable[[], bool]
    ) -> bool:
        """Whether another session came to hold a write lock on `table` (a transaction
        that has written to it and not ended yet) within `timeout` s; polled every few
        milliseconds, and abandoned early once `give_up()` is true."""

        async def go() -> bool:
            connection = await asyncpg.connect(self.dsn(database), timeout=10)
            try:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and not give_up():
                    if await connection.fetchval(WRITE_IN_PROGRESS, table):
                        return True
                    await asyncio.sleep(0.002)
                return False
            finally:
                await connection.close()

        return run_sync(go())

    def remove(self) -> None:
        """Stop it if it runs, and delete its directory."""
        try:
            if self.running:
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def create_cluster() -> DrillCluster:
    """initdb a new cluster in a fresh directory and start it on a free port.

    The directory is made directly under the system temporary directory: pytest's own
    (`/tmp/pytest-of-root`, mode 0700) is not reachable by the postgres user.
    """
    prefix = _as_server_user()
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="slo-drill-pg-"))
    try:
        if prefix:
            shutil.chown(root, user=POSTGRES_USER, group=None)
        cluster = DrillCluster(root=root, port=free_port(), bin_dir=bin_dir, prefix=prefix)
        command = [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(cluster.data_dir),
            "-A",
            "trust",
            "-U",
            POSTGRES_USER,
            "--no-sync",  # a drill cluster need not survive a power cut of the machine
        ]
        done = subprocess.run(
            command, cwd=root, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise ClusterUnavailableError(
                f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}"
            )
        cluster.start()
    except BaseException:
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run(
                [
                    *prefix,
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(root / "data"),
                    "-m",
                    "immediate",
                    "stop",
                ],
                cwd=root,
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster


def stop_api(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then a bounded wait (and SIGKILL if it does not go)."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
