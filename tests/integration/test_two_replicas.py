"""The multi-replica model, shown with two real API processes sharing one PostgreSQL and
one Redis: a write through one is read through the other on the first read that passes
the write's revision (`min_revision`), rate limits are shared, and stopping one loses
nothing. (One run per job interval across replicas is shown by
tests/integration/test_scheduler.py; the live graph across replicas, on both engines, by
tests/integration/test_live_graph_replicas.py.)"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slo_engine.access.keys import Scope
from tests.conftest import _empty_postgres
from tests.e2e.conftest import make_key
from tests.local_servers import start_api

INGEST = "/api/v1/services/dependencies"


@pytest.fixture
def replicas(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[list[str], list[subprocess.Popen[bytes]], dict[str, str]]]:
    _empty_postgres(postgres_url)
    key = {"X-API-Key": make_key(postgres_url, f"replicas-{uuid.uuid4().hex[:6]}", Scope.ADMIN)}
    env = {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_QUERY": "5/hour",
        "RATE_LIMIT_INGESTION": "100/minute",
        "SHUTDOWN_DRAIN_SECONDS": "0.5",
    }
    urls, processes = [], []
    try:
        for name in ("a", "b"):
            process, url = start_api(env, tmp_path / f"replica-{name}.log")
            processes.append(process)
            urls.append(url)
        yield urls, processes, key
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_two_replicas_share_writes_limits_and_survive_a_stop(
    replicas: tuple[list[str], list[subprocess.Popen[bytes]], dict[str, str]],
    postgres_url: str,
) -> None:
    (a, b), (process_a, _), key = replicas

    # A write through A is read through B on the first read that passes the write's
    # revision: B waits until its live graph has applied it.
    wrote = httpx.post(
        f"{a}{INGEST}",
        headers=key,
        json={"source": "manual", "edges": [{"source": "checkout", "target": "payments"}]},
    )
    assert wrote.status_code == 200
    revision = wrote.json()["revision"]
    seen = httpx.get(
        f"{b}/api/v1/services/checkout/dependencies",
        params={"min_revision": revision},
        headers=key,
    )
    assert seen.status_code == 200, seen.text
    assert int(seen.headers["X-Graph-Revision"]) >= revision
    assert [n["service_id"] for n in seen.json()["nodes"]] == ["payments"]

    # The query bucket (5 per hour) is one bucket for both replicas (Redis).
    statuses = [
        httpx.get(f"{url}/api/v1/services", headers=key).status_code
        for url in (a, b, a, b, a, b, a, b)
    ]
    assert statuses.count(200) == 5 - 1, statuses  # one query was spent above
    assert statuses.count(429) == 4, statuses

    # Stopping A loses nothing: its write is there through B, and B takes writes.
    process_a.send_signal(signal.SIGTERM)
    assert process_a.wait(timeout=30) in (0, -signal.SIGTERM)
    more = httpx.post(
        f"{b}{INGEST}",
        headers=key,
        json={"source": "manual", "edges": [{"source": "payments", "target": "ledger"}]},
    )
    assert more.status_code == 200
    reader = {"X-API-Key": make_key(postgres_url, f"reader-{uuid.uuid4().hex[:6]}", Scope.READ)}
    after = httpx.get(f"{b}/api/v1/services/checkout/dependencies?depth=2", headers=reader)
    assert after.status_code == 200
    assert {n["service_id"] for n in after.json()["nodes"]} == {"payments", "ledger"}
