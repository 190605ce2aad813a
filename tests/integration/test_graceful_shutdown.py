"""SIGTERM: readiness turns 503 at once, requests in flight and during the drain are
answered, then the process stops cleanly."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from slo_engine.access.keys import Scope
from slo_engine.infra.migrate import upgrade_database
from tests.e2e.conftest import make_key
from tests.local_servers import start_api


def test_sigterm_drains_then_stops(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'drain.db'}"
    upgrade_database(database_url)
    key = {"X-API-Key": make_key(database_url, "drainer", Scope.ADMIN)}
    log_path = tmp_path / "server.log"
    process, url = start_api(
        {
            "DATABASE_URL": database_url,
            "SHUTDOWN_DRAIN_SECONDS": "2",
            "RATE_LIMIT_INGESTION": "1000/minute",
            "LOG_JSON": "true",
        },
        log_path,
    )
    try:
        edges = [{"source": f"s{i}", "target": f"s{i + 1}"} for i in range(20_000)]
        in_flight: dict[str, int] = {}

        def big_ingest() -> None:
            response = httpx.post(
                f"{url}/api/v1/services/dependencies",
                json={"source": "manual", "edges": edges},
                headers=key,
                timeout=60,
            )
            in_flight["status"] = response.status_code

        worker = threading.Thread(target=big_ingest)
        worker.start()
        time.sleep(0.3)  # the ingestion is being handled
        process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        ready = httpx.get(f"{url}/api/v1/health/ready")
        assert ready.status_code == 503, ready.text
        assert "shutting down" in ready.json()["detail"]
        # Still serving during the drain.
        assert httpx.get(f"{url}/api/v1/services/s0", headers=key).status_code in (200, 404)
        worker.join(timeout=60)
        assert in_flight == {"status": 200}
        # uvicorn re-raises the SIGTERM it caught once its shutdown is complete, so the
        # exit status says "terminated by SIGTERM" (what supervisors expect).
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = log_path.read_text()
    assert "SIGTERM: not ready any more" in log
    assert "Scheduler has been shut down" in log
    assert "Application shutdown complete" in log
