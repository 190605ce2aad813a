"""Metrics and logs after a scripted workload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import make_key, settings_for

DEPS = "/api/v1/services/{service_id}/dependencies"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def observed(database_url: str) -> TestClient:
    key = make_key(database_url, "observer", Scope.ADMIN)
    return TestClient(
        create_app(settings_for(database_url, log_json=True)),
        raise_server_exceptions=False,
        headers={"X-API-Key": key},
    )


def test_metrics_follow_a_scripted_workload(observed: TestClient) -> None:
    with observed as client:
        before = scrape(client)
        edges = [{"source": f"svc-{i}", "target": f"svc-{i + 1}"} for i in range(50)]
        edges.append({"source": "svc-50", "target": "svc-0"})  # one cycle through all
        ingest = client.post(
            "/api/v1/services/dependencies", json={"source": "jaeger", "edges": edges}
        )
        assert ingest.status_code == 200
        found = sum(
            client.get(f"/api/v1/services/svc-{i}/dependencies?depth=2").status_code == 200
            for i in range(51)
        )
        missing = sum(
            client.get(f"/api/v1/services/nobody-{i}/dependencies").status_code == 404
            for i in range(7)
        )
        after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = {"route": "/api/v1/services/{service_id}/dependencies", "method": "GET"}
    assert (found, missing) == (51, 7)
    assert delta("slo_engine_http_requests_total", **route, status_class="2xx") == 51
    assert delta("slo_engine_http_requests_total", **route, status_class="4xx") == 7
    assert (
        delta("slo_engine_http_request_duration_seconds_count", **route, status_class="2xx") == 51
    )
    assert (
        delta(
            "slo_engine_graph_traversal_duration_seconds_count", direction="downstream", depth="2"
        )
        == 51
    )
    assert delta("slo_engine_ingested_edges_total", discovery_source="jaeger") == 51
    assert delta("slo_engine_ingested_nodes_total", discovery_source="jaeger") == 51
    assert delta("slo_engine_ingestion_duration_seconds_count", discovery_source="jaeger") == 1
    allowed = {"endpoint_class": "query", "backend": "memory", "decision": "allowed"}
    assert (
        delta("slo_engine_rate_limit_decisions_total", **allowed) == 58
    )  # scrapes are not limited
    ingestion = {"endpoint_class": "ingestion", "backend": "memory", "decision": "allowed"}
    assert delta("slo_engine_rate_limit_decisions_total", **ingestion) == 1
    assert value(after, "slo_engine_graph_services") == 51
    assert value(after, "slo_engine_graph_edges", state="fresh") == 51
    assert value(after, "slo_engine_graph_edges", state="stale") == 0
    assert value(after, "slo_engine_circular_dependency_alerts_open") == 1
    assert value(after, "slo_engine_db_pool_connections", state="size") >= 1


def test_labels_stay_bounded_whatever_the_ids(observed: TestClient) -> None:
    with observed as client:
        for i in range(40):
            client.get(f"/api/v1/services/svc-{i}")
            client.get(f"/not/a/route/{i}")
            client.get(f"/ui/js/file-{i}.js")
        client.get("/ui/js/app.js")
        text = client.get("/metrics").text
        templates = set(client.get("/openapi.json").json()["paths"])
        # Routes the OpenAPI leaves out: the redirect to the page, the page's files and
        # its configuration, the API docs pages and their files.
        templates |= {"/", "/ui/*", "/ui/config.json", "/docs", "/redoc", "/docs/assets/*"}
    assert "svc-" not in text and "/not/a/route" not in text and "file-" not in text
    routes = {
        line.split('route="')[1].split('"')[0]
        for line in text.splitlines()
        if line.startswith("slo_engine_http_requests_total{")
    }
    # Only route templates (the metrics are per process: other tests' routes show too).
    assert routes <= templates | {"unmatched"}, routes - templates
    assert {"/api/v1/services/{service_id}", "unmatched", "/ui/*"} <= routes


def test_request_lines_are_json_with_the_correlation_id(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    key = make_key(database_url, "observer", Scope.ADMIN)
    # Made after capsys took stderr, so the log handler writes where the test reads.
    app = create_app(settings_for(database_url, log_json=True))
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
        response = client.get(
            "/api/v1/services/ghost/dependencies", headers={"X-Correlation-ID": "trace-me-42"}
        )
        assert response.status_code == 404
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    assert lines, "the app logged nothing"
    (request_line,) = [line for line in lines if line.get("correlation_id") == "trace-me-42"]
    assert request_line["event"] == "request"
    assert request_line["route"] == DEPS
    assert request_line["status"] == 404
    assert request_line["method"] == "GET"
    assert request_line["key_name"] == "observer"
    assert isinstance(request_line["duration_ms"], float)
    assert request_line["level"] == "info" and "timestamp" in request_line
    assert all(isinstance(line, dict) and "event" in line for line in lines)


def test_request_lines_honour_the_log_level(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    key = make_key(database_url, "quiet", Scope.ADMIN)
    app = create_app(settings_for(database_url, log_json=True, log_level="WARNING"))
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
        response = client.get(
            "/api/v1/services/ghost/dependencies", headers={"X-Correlation-ID": "hush-7"}
        )
        assert response.status_code == 404
    assert "hush-7" not in capsys.readouterr().err
    # And at INFO again (a later app reconfigures logging), the line is there.
    app = create_app(settings_for(database_url, log_json=True))
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
        client.get("/api/v1/services/ghost/dependencies", headers={"X-Correlation-ID": "say-8"})
    assert '"correlation_id":"say-8"' in capsys.readouterr().err
