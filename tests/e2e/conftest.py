"""The HTTP API through an in-process ASGI client, on every database engine."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from slo_engine.access.keys import Scope
from slo_engine.access.service import create_key
from slo_engine.app import create_app
from slo_engine.cli import app as cli_app
from slo_engine.infra.db import Database
from slo_engine.live.reads import LIVE_GRAPH
from slo_engine.settings import Settings
from tests.local_servers import start_api, wait_until

INGEST = "/api/v1/services/dependencies"
# Real published topologies in the ingest format (examples/README.md).
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOUTIQUE = EXAMPLES / "online-boutique.json"
SOCK_SHOP = EXAMPLES / "sock-shop.json"
# What every JSON body is sent with (others are a 415).
JSON_CONTENT = {"Content-Type": "application/json"}


# Limits no functional test reaches; tests of the limits set their own.
UNLIMITED = "1000000/minute"


def make_key(database_url: str, name: str, *scopes: Scope, **options: Any) -> str:
    """Create an API key straight in the database (as `slo-cli api-keys create` does)."""

    async def create() -> str:
        database = Database.from_settings(Settings(database_url=database_url))
        try:
            async with database.session_scope() as session:
                _, plaintext = await create_key(session, name=name, scopes=list(scopes), **options)
        finally:
            await database.dispose()
        return plaintext

    return asyncio.run(create())


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "max_request_body_bytes": 64 * 1024,
        "rate_limit_ingestion": UNLIMITED,
        "rate_limit_query": UNLIMITED,
        "rate_limit_auth_failures": UNLIMITED,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def admin_key(database_url: str) -> str:
    return make_key(database_url, "e2e-admin", Scope.ADMIN)


@pytest.fixture
def client(database_url: str, admin_key: str) -> Iterator[TestClient]:
    """A client that sends an admin key (every scope) on every request."""
    app = create_app(settings_for(database_url))
    with TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}
    ) as test_client:
        yield test_client


def served(server: str, api_key: str, service_id: str) -> None:
    """Wait until a running server shows `service_id`: a write made by another process
    (the CLI) reaches its live graph within LIVE_GRAPH_BACKSTOP_SECONDS, not at once."""
    wait_until(
        lambda: (
            httpx.get(
                f"{server}/api/v1/services/{service_id}", headers={"X-API-Key": api_key}
            ).status_code
            == 200
        ),
        20,
        f"the server to show {service_id}",
    )


def caught_up(client: TestClient) -> None:
    """Bring the app's live graph up to the database now (a key or a row written by
    another process, as the CLI would) instead of waiting for its change feed, which
    would do the same within LIVE_GRAPH_BACKSTOP_SECONDS."""
    portal = client.portal
    assert portal is not None, "use the TestClient as a context manager"
    portal.call(LIVE_GRAPH.of(client.app).refresh)  # type: ignore[arg-type]


def edge(source: str, target: str, **attributes: Any) -> dict[str, Any]:
    return {"source": source, "target": target, "attributes": attributes}


def ingest(
    client: TestClient,
    edges: list[tuple[str, str]] | list[dict[str, Any]],
    *,
    nodes: list[dict[str, Any]] | None = None,
    source: str = "manual",
    **extra: Any,
) -> dict[str, Any]:
    """Ingest and insist on success; returns the response body."""
    body = {
        "source": source,
        "nodes": nodes or [],
        "edges": [e if isinstance(e, dict) else edge(*e) for e in edges],
        **extra,
    }
    response = client.post(INGEST, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def service_answer(client: TestClient, service_id: str, what: str, **params: Any) -> dict[str, Any]:
    """GET /api/v1/services/{service_id}/{what} (dependencies, impact, availability);
    insists on a 200 and returns the JSON answer."""
    response = client.get(f"/api/v1/services/{service_id}/{what}", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def query(client: TestClient, service_id: str, **params: Any) -> dict[str, Any]:
    return service_answer(client, service_id, "dependencies", **params)


def node_depths(answer: dict[str, Any]) -> dict[str, int]:
    return {node["service_id"]: node["depth"] for node in answer["nodes"]}


def edge_pairs(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in answer["edges"]}


# ------------------------------------------------------------------ slo-cli


cli_runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """slo-cli works on this test's database (DATABASE_URL)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def run(*args: str) -> str:
    """`slo-cli ARGS` in process; insists on success and returns what it printed."""
    result = cli_runner.invoke(cli_app, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


@pytest.fixture
def server(cli_env: str, tmp_path: Path) -> Iterator[str]:
    """A real `slo-cli serve` process on the test's database; its base URL."""
    process, url = start_api({"RATE_LIMIT_QUERY": "1000/minute"}, tmp_path / "server.log")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
