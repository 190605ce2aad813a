"""Shared buckets across real API processes, and the limiter through a Redis outage."""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.infra.migrate import upgrade_database
from tests.e2e.conftest import make_key, settings_for
from tests.local_servers import free_port, start_api, wait_until

SERVICES = "/api/v1/services"
READY = "/api/v1/health/ready"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    upgrade_database(url)
    return url


@pytest.fixture
def api_processes(
    database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[list[str], str]]:
    """Two API processes (slo-cli serve) on one database (each engine) and one Redis; yields their
    URLs and a key."""
    key = make_key(database_url, f"shared-{uuid.uuid4().hex[:8]}", Scope.READ)
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_QUERY": "10/hour",  # no refill while the test runs
    }
    processes, urls = [], []
    try:
        for index in range(2):
            process, url = start_api(env, tmp_path / f"api-{index}.log")
            processes.append(process)
            urls.append(url)
        yield urls, key
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_two_processes_sharing_redis_admit_exactly_the_capacity(
    api_processes: tuple[list[str], str],
) -> None:
    urls, key = api_processes
    for url in urls:
        assert httpx.get(url + READY).json()["checks"]["rate_limiter"] == "redis"

    async def storm() -> list[int]:
        headers = {"X-API-Key": key}
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            responses = await asyncio.gather(
                *(client.get(urls[i % 2] + SERVICES, headers=headers) for i in range(100))
            )
        return [r.status_code for r in responses]

    statuses = asyncio.run(storm())
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 90, statuses


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A Redis server of our own, that this test may pause and kill."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (the Redis suite needs it; .ci/run installs it)")
    port = free_port()
    command = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(
            lambda: socket.create_connection(("127.0.0.1", port), 0.2).close() is None,
            10,
            "redis-server",
        )
        return process

    process = start()
    try:
        yield process, f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def test_redis_paused_or_stopped_mid_load_means_no_5xx_and_the_fallback_then_recovery(
    sqlite_url: str,
    private_redis: tuple[subprocess.Popen[bytes], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="slo_engine.access.ratelimit")
    process, redis_url = private_redis
    key = {"X-API-Key": make_key(sqlite_url, "steady", Scope.READ)}
    settings = settings_for(
        sqlite_url,
        redis_url=redis_url,
        rate_limit_query="100000/minute",
        redis_retry_interval_seconds=0.3,
    )
    statuses: list[int] = []
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:

        def backend() -> str:
            return str(client.get(READY).json()["checks"]["rate_limiter"])

        def load(count: int) -> None:
            statuses.extend(client.get(SERVICES, headers=key).status_code for _ in range(count))

        load(20)
        assert backend() == "redis"

        process.send_signal(signal.SIGSTOP)  # paused: connections hang, nothing answers
        try:
            load(30)
            assert backend() == "memory"
            assert "failing" in client.get(READY).json()["checks"]["redis"]
        finally:
            process.send_signal(signal.SIGCONT)
        wait_until(lambda: (load(1), backend() == "redis")[1], 10, "the limiter back on Redis")

        process.kill()  # stopped: connections refused
        process.wait()
        load(30)
        assert backend() == "memory"

    assert statuses, "the load ran"
    assert all(status == 200 for status in statuses), statuses
    messages = [r.getMessage() for r in caplog.records]
    # Logged once per outage (two), not once per request; the recovery once.
    assert sum("Redis failed" in m for m in messages) == 2, messages
    assert sum("answers again" in m for m in messages) == 1, messages
