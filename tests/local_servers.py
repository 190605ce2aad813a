"""Helpers for tests that start real server processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `check` until it returns something true; connection errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# Limits no functional test reaches.
UNLIMITED = "1000000/minute"


def served_env(database_url: str, **more: str) -> dict[str, str]:
    """The environment of a `slo-cli serve` under test: its database, limits out of the
    way (failed authentications included: fuzzers and corpora send many on purpose), no
    scheduled jobs, no webhook delivery (its poll would show in the tests that watch
    the database's sessions; the webhook tests turn it on), and no draining at the end."""
    return {
        "DATABASE_URL": database_url,
        "RATE_LIMIT_QUERY": UNLIMITED,
        "RATE_LIMIT_INGESTION": UNLIMITED,
        "RATE_LIMIT_AUTH_FAILURES": UNLIMITED,
        "SCHEDULER_ENABLED": "false",
        "WEBHOOK_DELIVERY_ENABLED": "false",
        "SHUTDOWN_DRAIN_SECONDS": "0",
        **more,
    }


def start_api(
    env: dict[str, str], log_path: Path, *, ready_path: str = "/api/v1/health/ready"
) -> tuple[subprocess.Popen[bytes], str]:
    """`slo-cli serve` on a free port of 127.0.0.1 with `env` added to ours; returns the
    process and its base URL once `ready_path` answers 200 (readiness by default; pass
    /api/v1/health for a server that must start while its database is down). The
    caller stops it."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slo_engine.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**os.environ, **env},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: httpx.get(f"{url}{ready_path}", timeout=1).status_code == 200,
            30,
            f"slo-cli serve on {url}{ready_path} (log: {log_path})",
        )
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, url


def run_cli(env: dict[str, str], *args: str) -> str:
    """`slo-cli ARGS` with `env` added to ours; its output, insisting on success."""
    done = subprocess.run(
        [sys.executable, "-m", "slo_engine.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout
