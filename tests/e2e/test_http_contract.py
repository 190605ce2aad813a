"""Cross-cutting HTTP behaviour: problem details, correlation ids, body limits, health,
OpenAPI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from slo_engine.app import create_app
from slo_engine.infra.db import DATABASE
from slo_engine.live.reads import LIVE_GRAPH
from slo_engine.settings import Settings
from tests.e2e.conftest import INGEST, ingest

PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "correlation_id"}


def test_correlation_id_is_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/api/v1/health", headers={"X-Correlation-ID": "req-42"})
    assert echoed.headers["X-Correlation-ID"] == "req-42"
    generated = client.get("/api/v1/services/ghost")
    assert len(generated.headers["X-Correlation-ID"]) == 36
    assert generated.json()["correlation_id"] == generated.headers["X-Correlation-ID"]
    unsafe = client.get("/api/v1/health", headers={"X-Correlation-ID": "x" * 500})
    assert unsafe.headers["X-Correlation-ID"] != "x" * 500


def test_malformed_json_is_400_problem(client: TestClient) -> None:
    response = client.post(
        INGEST,
        content=b'{"source": "manual", "edges": [',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_FIELDS
    assert body["instance"] == INGEST
    assert body["correlation_id"] == response.headers["X-Correlation-ID"]


def test_body_above_the_limit_is_413_and_changes_nothing(client: TestClient) -> None:
    edges = [{"source": f"a{i}", "target": f"b{i}"} for i in range(3000)]
    response = client.post(INGEST, json={"source": "manual", "edges": edges})
    assert response.status_code == 413
    assert response.json()["status"] == 413
    assert client.get("/api/v1/services").json()["items"] == []


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    # (DELETE would be the deletion of a service named "dependencies": a 404.)
    wrong_method = client.put(INGEST)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/api/v1/health").json()["status"] == "ok"
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["live_graph"] == "revision 0, confirmed"


def test_readiness_is_503_until_the_graph_is_loaded(client: TestClient) -> None:
    """The database answers, but a process whose graph is not loaded yet (a large graph
    takes up to a minute) would answer graph reads 503: it is not ready for traffic."""
    live = LIVE_GRAPH.of(client.app)  # type: ignore[arg-type]
    loaded = live._snapshot
    live._snapshot = None  # as between a start and the end of the first load
    try:
        ready = client.get("/api/v1/health/ready")
        read = client.get("/api/v1/services/a/dependencies")
    finally:
        live._snapshot = loaded
    assert ready.status_code == 503
    assert ready.json()["type"].endswith("/not-ready")
    assert "being loaded" in ready.json()["detail"]
    assert read.status_code == 503 and "Retry-After" in read.headers
    assert client.get("/api/v1/health/ready").status_code == 200


def test_readiness_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:9/nowhere",
        db_statement_timeout_seconds=1,
    )
    with TestClient(create_app(settings)) as offline:
        assert offline.get("/api/v1/health").status_code == 200
        response = offline.get("/api/v1/health/ready")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 503


def test_openapi_declares_problem_responses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "Problem" in spec["components"]["schemas"]
    ingest_responses = spec["paths"][INGEST]["post"]["responses"]
    assert "application/problem+json" in ingest_responses["422"]["content"]
    assert "application/problem+json" in ingest_responses["400"]["content"]
    body_schema = spec["paths"][INGEST]["post"]["requestBody"]["content"]["application/json"]
    assert body_schema["schema"]["$ref"] == "#/components/schemas/IngestionRequest"
    assert "EdgeIn" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200
    # Every error any operation declares is a problem; 422 only where there is a body.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (
                        path,
                        method,
                        status,
                    )
            if "requestBody" not in operation:
                assert "422" not in operation["responses"], (path, method)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (ConnectionError("database went away"), 503),  # an outage: try again later
        (RuntimeError("a bug"), 500),  # anything else: logged, a 500 problem
    ],
)
def test_a_database_failure_is_a_problem_not_a_crash(
    client: TestClient, failure: Exception, status: int
) -> None:
    ingest(client, [("a", "b")])
    database = DATABASE.of(client.app)  # type: ignore[arg-type]
    original = database.sessions

    def broken() -> object:
        raise failure

    database.sessions = broken
    try:
        response = client.get("/api/v1/services")  # a listing reads the database
        # A graph read is answered by the live graph: no session, so no failure.
        untouched = client.get("/api/v1/services/a/dependencies")
    finally:
        database.sessions = original
    assert untouched.status_code == 200, untouched.text
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["correlation_id"] == response.headers["X-Correlation-ID"]
    assert ("Retry-After" in response.headers) == (status == 503)
    # The service answers again at once.
    assert client.get("/api/v1/services/a/dependencies").status_code == 200
