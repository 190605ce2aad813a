"""Node kinds (docs/identity.md "Node kinds"): declared by node entries, observed by
edges' `source_kind`/`target_kind` for services nobody declared, in every answer that
lists services, filterable, recorded in the history; on every engine."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import INGEST, ingest, query, service_answer


def service(client: TestClient, service_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/services/{service_id}", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def kinds_listed(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/api/v1/services", params=params)
    assert response.status_code == 200, response.text
    return [item["service_id"] for item in response.json()["items"]]


def at_revision(client: TestClient, revision: str) -> str:
    """The time the graph was at `revision` (its change's `changed_at`)."""
    items = client.get("/api/v1/changes", params={"limit": 1000}).json()["items"]
    return str(max(c["changed_at"] for c in items if c["revision"] == int(revision)))


def test_declared_and_observed_kinds_in_every_answer(client: TestClient) -> None:
    ingest(
        client,
        [
            {"source": "checkout", "target": "orders-db", "target_kind": "database"},
            {"source": "checkout", "target": "events", "target_kind": "messaging"},
            {"source": "user", "target": "checkout", "source_kind": "virtual"},
            {"source": "checkout", "target": "stripe"},
        ],
        nodes=[{"service_id": "stripe", "kind": "external"}, {"service_id": "checkout"}],
        source="otel_service_graph",
    )
    expected = {
        "checkout": "service",
        "orders-db": "database",
        "events": "messaging",
        "user": "virtual",
        "stripe": "external",
    }
    for name, kind in expected.items():
        assert service(client, name)["kind"] == kind, name
    down = query(client, "checkout", direction="both")
    assert down["service"]["kind"] == "service"
    assert {n["service_id"]: n["kind"] for n in down["nodes"]} == {
        k: v for k, v in expected.items() if k != "checkout"
    }
    affected = service_answer(client, "orders-db", "impact")["affected"]
    assert [(a["service_id"], a["kind"]) for a in affected][:1] == [("checkout", "service")]
    graph = client.get("/api/v1/graph").json()
    assert {n["service_id"]: n["kind"] for n in graph["nodes"]} == expected
    assert kinds_listed(client, kind="database") == ["orders-db"]
    assert kinds_listed(client, kind="service") == ["checkout"]
    assert kinds_listed(client, kind="external") == ["stripe"]


def test_a_declared_kind_wins_over_what_sources_observe(client: TestClient) -> None:
    ingest(client, [], nodes=[{"service_id": "ledger", "kind": "service"}])
    ingest(
        client,
        [{"source": "billing", "target": "ledger", "target_kind": "database"}],
        source="otel_service_graph",
    )
    assert service(client, "ledger")["kind"] == "service"
    # Observed, then declared without a kind (a catalog, Kubernetes): the kind is kept,
    # and observations still move it, since nobody declared one.
    ingest(
        client,
        [{"source": "billing", "target": "cache", "target_kind": "database"}],
        source="otel_service_graph",
    )
    ingest(client, [], nodes=[{"service_id": "cache", "team": "platform"}], source="kubernetes")
    cache = service(client, "cache")
    assert (cache["kind"], cache["discovered"], cache["team"]) == ("database", False, "platform")
    ingest(
        client,
        [{"source": "billing", "target": "cache", "target_kind": "messaging"}],
        source="otel_service_graph",
    )
    assert service(client, "cache")["kind"] == "messaging"
    # Once a node entry declares the kind, observations no longer move it.
    ingest(client, [], nodes=[{"service_id": "cache", "kind": "database"}])
    ingest(
        client,
        [{"source": "billing", "target": "cache", "target_kind": "messaging"}],
        source="otel_service_graph",
    )
    assert service(client, "cache")["kind"] == "database"


def test_a_node_declared_and_observed_in_one_request(client: TestClient) -> None:
    """The request's declarations apply first, then what its edges observe."""
    ingest(
        client,
        [{"source": "api", "target": "orders-db", "target_kind": "database"}],
        nodes=[{"service_id": "orders-db", "team": "orders"}],
        source="kubernetes",
    )
    orders = service(client, "orders-db")
    assert (orders["kind"], orders["team"], orders["discovered"]) == ("database", "orders", False)
    ingest(
        client,
        [{"source": "api", "target": "orders-db", "target_kind": "messaging"}],
        nodes=[{"service_id": "orders-db", "kind": "database"}],
    )
    assert service(client, "orders-db")["kind"] == "database"


def test_an_observed_kind_change_is_history(client: TestClient) -> None:
    ingest(client, [("api", "store")], source="jaeger")
    before = client.get("/api/v1/services/store").headers["X-Graph-Revision"]
    ingest(
        client,
        [{"source": "api", "target": "store", "target_kind": "database"}],
        source="otel_service_graph",
    )
    assert service(client, "store")["kind"] == "database"
    changes = client.get(
        "/api/v1/changes", params={"type": "service.updated", "service": "store"}
    ).json()["items"]
    assert [(c["previous"], c["state"]["kind"]) for c in changes] == [
        ({"kind": "service"}, "database")
    ]
    # As of the revision before, the service was a plain service.
    past = client.get("/api/v1/services/store", params={"as_of": at_revision(client, before)})
    assert past.status_code == 200, past.text
    assert past.json()["kind"] == "service"


def test_a_kind_that_is_not_one_is_a_problem_and_changes_nothing(client: TestClient) -> None:
    for body in (
        {"source": "manual", "nodes": [{"service_id": "x", "kind": "lambda"}], "edges": []},
        {
            "source": "manual",
            "edges": [{"source": "a", "target": "b", "target_kind": "db"}],
        },
    ):
        response = client.post(INGEST, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "kind" in response.json()["errors"][0]["pointer"]
    assert kinds_listed(client) == []
    assert client.get("/api/v1/services", params={"kind": "lambda"}).status_code == 400
