"""The HTTP API through an in-process ASGI client, on every database engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.app import create_app
from slo_engine.settings import Settings

INGEST = "/api/v1/services/dependencies"


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, max_request_body_bytes=64 * 1024))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


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


def query(client: TestClient, service_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/services/{service_id}/dependencies", params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def node_depths(answer: dict[str, Any]) -> dict[str, int]:
    return {node["service_id"]: node["depth"] for node in answer["nodes"]}


def edge_pairs(answer: dict[str, Any]) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in answer["edges"]}
