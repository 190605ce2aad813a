"""Discovery end to end: Backstage descriptors and Jaeger links through the CLI and the
scheduler's job runner, and each source's health through the API."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.cli import app as cli
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.infra.db import Database
from slo_engine.jobs.runner import JOBS
from slo_engine.settings import Settings
from tests.e2e.conftest import make_key, settings_for

CATALOG = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: artist-web
  title: Artist Web
spec:
  type: website
  lifecycle: production
  owner: group:default/artist-relations
  dependsOn:
    - component:default/artist-lookup
    - resource:artists-db
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: artist-lookup
spec:
  type: service
  lifecycle: experimental
  owner: team-a
  dependsOn: [resource:default/artists-db]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: artists-db
spec:
  type: database
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: artist-engagement-portal
spec:
  owner: team-a
"""
runner = CliRunner()


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    directory = tmp_path / "catalog"
    (directory / "nested").mkdir(parents=True)
    (directory / "nested" / "catalog-info.yaml").write_text(CATALOG)
    (directory / "README.md").write_text("not a descriptor")
    return directory


class FakeJaeger(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    v3_only = False

    def do_GET(self) -> None:
        links = [{"parent": "frontend", "child": "artist-web", "callCount": 600}]
        if type(self).v3_only:
            body = json.dumps({"dependencies": links}).encode()
            found = self.path.startswith("/api/v3/dependencies?")
        else:
            body = json.dumps({"data": links}).encode()
            found = self.path.startswith("/api/dependencies?")
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def jaeger_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeJaeger)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_backstage_through_the_job_runner_and_health_through_the_api(
    database_url: str, catalog: Path
) -> None:
    key = {"X-API-Key": make_key(database_url, "reader", Scope.ADMIN)}
    settings = settings_for(
        database_url, backstage_catalog_path=str(catalog), scheduler_enabled=False
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        sources = {
            s["name"]: s
            for s in client.get("/api/v1/discovery/sources", headers=key).json()["items"]
        }
        assert (
            sources["backstage"]["configured"] and sources["backstage"]["last_success_at"] is None
        )
        assert not sources["otel"]["configured"]
        ready = client.get("/api/v1/health/ready").json()
        assert ready["checks"]["discovery:backstage"] == "not run yet"

        jobs = JOBS.of(client.app)  # type: ignore[arg-type]
        assert set(jobs.jobs) == {"discover-backstage", "mark-stale", "cycle-scan", "history-prune"}
        assert client.portal.call(jobs.run_now, "discover-backstage") == "3 services, 3 edges"  # type: ignore[union-attr]

        sources = {
            s["name"]: s
            for s in client.get("/api/v1/discovery/sources", headers=key).json()["items"]
        }
        assert sources["backstage"]["healthy"] and sources["backstage"]["last_edges"] == 3
        assert client.get("/api/v1/health/ready").json()["checks"]["discovery:backstage"] == "ok"
        web = client.get("/api/v1/services/artist-web", headers=key).json()
        assert web["team"] == "artist-relations" and web["display_name"] == "Artist Web"
        assert web["discovered"] is False
        assert web["metadata"]["backstage"]["lifecycle"] == "production"
        answer = client.get("/api/v1/services/artist-web/dependencies?depth=2", headers=key).json()
        assert {e["source"] + ">" + e["target"] for e in answer["edges"]} == {
            "artist-web>artist-lookup",
            "artist-web>artists-db",
            "artist-lookup>artists-db",
        }
        assert all(e["discovery_sources"] == ["backstage"] for e in answer["edges"])


def test_discover_cli_dry_run_then_real_run(
    database_url: str, jaeger_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    dry = runner.invoke(cli, ["discover", "jaeger", "--jaeger-url", jaeger_url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert planned["source"] == "jaeger"
    assert planned["edges"] == [
        {
            "source": "frontend",
            "target": "artist-web",
            "attributes": {"communication_mode": "sync", "request_rate": 0.666667},
        }
    ]
    listed = runner.invoke(cli, ["api-keys", "list", "--json"])  # the database is untouched
    assert listed.exit_code == 0

    done = runner.invoke(cli, ["discover", "jaeger", "--jaeger-url", jaeger_url])
    assert done.exit_code == 0, done.output
    assert "1 edges ingested" in done.stdout

    FakeJaeger.v3_only = True  # a Jaeger that only serves /api/v3
    try:
        v3 = runner.invoke(cli, ["discover", "jaeger", "--jaeger-url", jaeger_url, "--dry-run"])
    finally:
        FakeJaeger.v3_only = False
    assert v3.exit_code == 0, v3.output
    assert json.loads(v3.stdout)["edges"] == planned["edges"]

    secret_url = "http://user:hunter2@127.0.0.1:9"
    dry_failure = runner.invoke(
        cli, ["discover", "jaeger", "--jaeger-url", secret_url, "--dry-run"]
    )
    assert dry_failure.exit_code == 1
    assert "hunter2" not in dry_failure.output

    failed = runner.invoke(cli, ["discover", "jaeger", "--jaeger-url", secret_url])
    assert failed.exit_code == 1 and "nothing was stored" in failed.output
    assert "hunter2" not in failed.output
    statuses = asyncio.run(_statuses(database_url))
    # One recorded failure: the dry run's was not stored, and no password in it.
    assert statuses["jaeger"].consecutive_failures == 1
    assert "hunter2" not in (statuses["jaeger"].last_error or "")
    unconfigured = runner.invoke(cli, ["discover", "otel"])
    assert unconfigured.exit_code == 1 and "PROMETHEUS_URL" in unconfigured.output


async def _statuses(database_url: str) -> Any:
    database = Database.from_settings(Settings(database_url=database_url))
    try:
        async with database.session_scope() as session:
            return await DiscoveryRepository(session).statuses()
    finally:
        await database.dispose()


def test_jobs_cli_lists_and_runs(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    listed = runner.invoke(cli, ["jobs", "list"])
    assert listed.exit_code == 0 and "mark-stale" in listed.stdout and "cycle-scan" in listed.stdout
    ran = runner.invoke(cli, ["jobs", "run", "mark-stale"])
    assert ran.exit_code == 0 and "0 edge reports flagged stale" in ran.stdout
    unknown = runner.invoke(cli, ["jobs", "run", "nope"])
    assert unknown.exit_code == 1


class FakeBackstage(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != "Bearer s3cret":
            self.send_response(401)
            self.end_headers()
            return
        first = "cursor=" not in self.path
        entity = {
            "kind": "Component" if first else "Resource",
            "metadata": {"name": "search" if first else "search-index", "namespace": "default"},
            "spec": {"owner": "group:default/discovery", "dependsOn": ["resource:search-index"]}
            if first
            else {"type": "elasticsearch", "owner": "discovery"},
        }
        page = {"items": [entity], "pageInfo": {"nextCursor": "page2"} if first else {}}
        body = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


def test_backstage_catalog_api_is_paged_with_the_bearer_token(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBackstage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("BACKSTAGE_TOKEN", "s3cret")
    try:
        dry = runner.invoke(cli, ["discover", "backstage", "--backstage-url", url, "--dry-run"])
    finally:
        server.shutdown()
        server.server_close()
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    assert [n["service_id"] for n in planned["nodes"]] == ["search", "search-index"]
    assert planned["edges"] == [
        {"source": "search", "target": "search-index", "attributes": {"criticality": "hard"}}
    ]
    paths = [path for path, _ in FakeBackstage.seen]
    assert "filter=kind%3Dcomponent&filter=kind%3Dresource" in paths[0]
    assert "cursor=page2" in paths[1]
