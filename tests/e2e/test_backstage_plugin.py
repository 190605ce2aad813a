"""The Backstage plugins (plugins/backstage/: the frontend plugin and the catalog backend
module) tested with Backstage's own test utilities against a real `slo-cli serve`.

This test starts the server on a free port of 127.0.0.1 with a fresh SQLite database,
ingests a real topology (examples/online-boutique.json) and one call tracing saw
(paymentservice -> frontend, which closes a cycle), makes a read key, and runs the
plugins' `npm test` (type check, then Jest) with SLO_ENGINE_URL and SLO_ENGINE_TOKEN
naming them. Jest's JSON report says how many tests ran; none may fail or be skipped.

The plugins' dependencies are installed by `make test` (`npm ci` into
plugins/backstage/node_modules, git-ignored). Without npm or them the test is skipped,
except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.local_servers import run_cli, served_env, start_api

REPOSITORY = Path(__file__).resolve().parents[2]
PLUGINS = REPOSITORY / "plugins" / "backstage"
BOUTIQUE = REPOSITORY / "examples" / "online-boutique.json"
INGEST = "/api/v1/services/dependencies"
# The whole npm test: a cold Jest cache transforms Backstage's ES modules first (about
# a minute); a warm one takes seconds. A hang fails the test instead of the run.
NPM_TEST_SECONDS = 900


@pytest.fixture
def npm() -> str:
    """npm's path, once the plugins' dependencies are installed; otherwise a skip, or a
    failure in CI (before any server is started)."""
    npm = shutil.which("npm")
    installed = (PLUGINS / "node_modules" / ".bin" / "jest").exists()
    if npm and installed:
        return npm
    missing = "npm" if not npm else "plugins/backstage/node_modules (make test runs npm ci)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the Backstage plugin tests must run in CI: {missing} is missing")
    pytest.skip(f"the Backstage plugin tests are off: {missing} is missing")


@dataclass(frozen=True)
class Served:
    url: str
    read_key: str
    log: Path


def created_key(env: dict[str, str], name: str, scope: str) -> str:
    created = json.loads(
        run_cli(env, "api-keys", "create", "--name", name, "--scope", scope, "--json")
    )
    key: str = created["key"]
    return key


@pytest.fixture
def served(npm: str, tmp_path: Path) -> Iterator[Served]:
    """A real `slo-cli serve` on a fresh SQLite database, Online Boutique and one
    observed call ingested through its API, and a read key for the plugins."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'slo_engine.db'}"
    env = {"DATABASE_URL": database_url}
    run_cli(env, "db", "upgrade")
    write_key = created_key(env, "topology", "write")
    read_key = created_key(env, "backstage", "read")
    log = tmp_path / "server.log"
    process, url = start_api(served_env(database_url), log)
    try:
        headers = {"Authorization": f"Bearer {write_key}", "Content-Type": "application/json"}
        response = httpx.post(url + INGEST, content=BOUTIQUE.read_bytes(), headers=headers)
        assert response.status_code == 200, response.text
        observed = {
            "source": "otel_service_graph",
            "edges": [
                {
                    "source": "paymentservice",
                    "target": "frontend",
                    "attributes": {"request_rate": 3.5, "error_rate": 0.01},
                }
            ],
        }
        response = httpx.post(url + INGEST, json=observed, headers=headers)
        assert response.status_code == 200, response.text
        cycles = response.json()["circular_dependencies_detected"]
        assert [c["cycle_path"] for c in cycles] == [
            ["checkoutservice", "paymentservice", "frontend", "checkoutservice"]
        ]
        yield Served(url=url, read_key=read_key, log=log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_backstage_plugins_against_a_real_server(npm: str, served: Served, tmp_path: Path) -> None:
    report = tmp_path / "jest.json"
    done = subprocess.run(
        [npm, "test", "--", "--json", f"--outputFile={report}"],
        cwd=PLUGINS,
        env={
            **os.environ,
            "SLO_ENGINE_URL": served.url,
            "SLO_ENGINE_TOKEN": served.read_key,
            "FORCE_COLOR": "0",
        },
        capture_output=True,
        text=True,
        timeout=NPM_TEST_SECONDS,
        check=False,
    )
    output = (done.stdout + done.stderr)[-20000:]
    assert done.returncode == 0, output
    results = json.loads(report.read_text())
    assert results["success"], output
    assert results["numFailedTests"] == 0, output
    assert results["numPendingTests"] == 0 and results["numTodoTests"] == 0, output
    assert results["numPassedTests"] > 0, output
    assert results["numPassedTests"] == results["numTotalTests"], output
    # Both packages' suites ran: the frontend plugin's and the catalog module's.
    suites = {Path(suite["name"]).relative_to(PLUGINS).parts[0] for suite in results["testResults"]}
    assert suites == {"slo-engine", "catalog-backend-module-slo-engine"}, suites
    # And they asked the real server, with the key made for them: its request log shows
    # every read the plugins make.
    asked = set()
    for line in served.log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "request" and entry.get("key_name") == "backstage":
            asked.add(entry["route"])
    assert asked >= {
        "/api/v1/graph",
        "/api/v1/circular-dependencies",
        "/api/v1/services/{service_id}/dependencies",
        "/api/v1/services/{service_id}/impact",
        "/api/v1/services/{service_id}/availability",
    }, asked
