"""POST /api/v1/services/dependencies: upserts, idempotency, atomicity, cycles, warnings."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import INGEST, edge, edge_pairs, ingest, node_depths, query


def _service(client: TestClient, service_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/services/{service_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_services_named_only_in_edges_are_discovered_until_declared(client: TestClient) -> None:
    result = ingest(client, [("checkout", "payment")])
    assert result["nodes_upserted"] == 2
    assert result["edges_upserted"] == 1
    assert _service(client, "payment")["discovered"] is True

    ingest(
        client,
        [],
        nodes=[
            {
                "service_id": "payment",
                "display_name": "Payment",
                "team": "payments",
                "criticality": "high",
                "metadata": {"tier": 1},
            }
        ],
    )
    payment = _service(client, "payment")
    assert payment["discovered"] is False
    assert payment["team"] == "payments"
    assert payment["metadata"] == {"tier": 1}
    # The query answer sees the new metadata at once.
    (node,) = query(client, "checkout")["nodes"]
    assert node["team"] == "payments"
    assert node["discovered"] is False


def test_a_node_entry_keeps_fields_it_does_not_give(client: TestClient) -> None:
    ingest(client, [], nodes=[{"service_id": "a", "team": "t1", "metadata": {"k": 1}}])
    ingest(client, [], nodes=[{"service_id": "a", "display_name": "A"}])
    service = _service(client, "a")
    assert service["team"] == "t1"
    assert service["display_name"] == "A"
    assert service["metadata"] == {"k": 1}


def test_ingesting_the_same_request_twice_is_idempotent(client: TestClient) -> None:
    body = {
        "source": "manual",
        "observed_at": "2026-11-20T10:00:00Z",
        "nodes": [{"service_id": "a", "team": "x"}],
        "edges": [edge("a", "b", protocol="grpc"), edge("b", "c")],
    }
    first = client.post(INGEST, json=body)
    second = client.post(INGEST, json=body)
    assert first.status_code == second.status_code == 200
    first_answer, second_answer = first.json(), second.json()
    # Each write commits its own graph revision, answered in the body and the header.
    assert second_answer.pop("revision") == first_answer.pop("revision") + 1
    assert second.headers["X-Graph-Revision"] == str(first.json()["revision"] + 1)
    assert first_answer == second_answer
    answer = query(client, "a")
    assert edge_pairs(answer) == {("a", "b"), ("b", "c")}
    assert len(answer["edges"]) == 2
    assert answer["edges"][0]["last_observed_at"] == "2026-11-20T10:00:00Z"
    listed = client.get("/api/v1/services").json()["items"]
    assert [s["service_id"] for s in listed] == ["a", "b", "c"]


def test_reingesting_updates_attributes_and_keeps_the_latest_observation(
    client: TestClient,
) -> None:
    ingest(client, [edge("a", "b", timeout_ms=100)], observed_at="2026-11-20T10:00:00Z")
    ingest(client, [edge("a", "b", timeout_ms=250)], observed_at="2026-11-19T10:00:00Z")
    (stored,) = query(client, "a")["edges"]
    assert stored["attributes"]["timeout_ms"] == 250
    assert stored["last_observed_at"] == "2026-11-20T10:00:00Z"


def test_one_bad_edge_rejects_the_whole_batch(client: TestClient) -> None:
    ingest(client, [("keep", "me")])
    response = client.post(
        INGEST,
        json={
            "source": "manual",
            "nodes": [{"service_id": "new-node"}],
            "edges": [edge("x", "y"), edge("y", "bad id!"), {"source": "z"}],
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/edges/1/target", "/edges/2/target"}
    listed = [s["service_id"] for s in client.get("/api/v1/services").json()["items"]]
    assert listed == ["keep", "me"]


def test_invalid_bodies_are_422_with_pointers(client: TestClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"source": "telepathy", "edges": []}, "/source"),
        ({"source": "manual", "edges": [{"target": "b"}]}, "/edges/0/source"),
        ({"source": "manual", "edges": [edge("-a", "b")]}, "/edges/0/source"),
        ({"source": "manual", "edges": [edge("a" * 256, "b")]}, "/edges/0/source"),
        (
            {"source": "manual", "edges": [edge("a", "b", criticality="fatal")]},
            "/edges/0/attributes/criticality",
        ),
        (
            {"source": "manual", "edges": [edge("a", "b", timeout_ms=-1)]},
            "/edges/0/attributes/timeout_ms",
        ),
        (
            {"source": "manual", "edges": [edge("a", "b", confidence_score=1.5)]},
            "/edges/0/attributes/confidence_score",
        ),
        (
            {"source": "manual", "edges": [edge("a", "b", colour="red")]},
            "/edges/0/attributes/colour",
        ),
        ({"source": "manual", "observed_at": "yesterday"}, "/observed_at"),
        ({"source": "manual", "observed_at": "2026-11-20T10:00:00"}, "/observed_at"),
        (
            {"source": "manual", "nodes": [{"service_id": "a", "criticality": "meh"}]},
            "/nodes/0/criticality",
        ),
        ({"edges": []}, "/source"),
        # Free-form JSON the store could not hold: a 422 here, never a 500 later.
        (
            {"source": "manual", "nodes": [{"service_id": "a", "metadata": {"n": 2**70}}]},
            "/nodes/0/metadata",
        ),
        (
            {"source": "manual", "edges": [edge("a", "b", retry_config={"n": -(2**64)})]},
            "/edges/0/attributes/retry_config",
        ),
    ]
    for body, pointer in cases:
        response = client.post(INGEST, json=body)
        assert response.status_code == 422, (body, response.text)
        assert pointer in {e["pointer"] for e in response.json()["errors"]}, (body, response.text)
    assert client.get("/api/v1/services").json()["items"] == []


def test_service_ids_accept_the_whole_alphabet(client: TestClient) -> None:
    odd = "a.B_c:d-9"
    ingest(client, [(odd, "x" * 255)])
    assert node_depths(query(client, odd)) == {"x" * 255: 1}


def test_self_dependency_is_a_cycle_of_length_one(client: TestClient) -> None:
    result = ingest(client, [("loop", "loop")])
    (cycle,) = result["circular_dependencies_detected"]
    assert cycle["cycle_path"] == ["loop", "loop"]


def test_cycles_are_reported_by_the_ingestion_that_creates_them(client: TestClient) -> None:
    assert ingest(client, [("a", "b"), ("b", "c")])["circular_dependencies_detected"] == []
    created = ingest(client, [("c", "a")])["circular_dependencies_detected"]
    assert [c["cycle_path"] for c in created] == [["a", "b", "c", "a"]]
    # Seen again, the same cycle is not "created" again.
    assert ingest(client, [("c", "a")])["circular_dependencies_detected"] == []
    assert ingest(client, [("c", "a")], source="jaeger")["circular_dependencies_detected"] == []


def test_duplicates_in_one_request_keep_the_last_entry_with_a_warning(client: TestClient) -> None:
    result = ingest(
        client,
        [edge("a", "b", timeout_ms=1), edge("a", "b", timeout_ms=2)],
        nodes=[{"service_id": "a", "team": "one"}, {"service_id": "a", "team": "two"}],
    )
    assert result["edges_upserted"] == 1
    assert len(result["warnings"]) == 2
    (stored,) = query(client, "a")["edges"]
    assert stored["attributes"]["timeout_ms"] == 2
    assert _service(client, "a")["team"] == "two"


def test_future_observations_are_clamped_with_a_warning(client: TestClient) -> None:
    result = ingest(client, [("a", "b")], observed_at="2999-01-01T00:00:00Z")
    assert any("future" in warning for warning in result["warnings"])
    (stored,) = query(client, "a")["edges"]
    assert stored["last_observed_at"] < "2999"


def test_confidence_defaults_to_the_source_base_and_can_be_given(client: TestClient) -> None:
    ingest(client, [("a", "b")], source="kubernetes")
    ingest(client, [edge("c", "d", confidence_score=0.42)], source="jaeger")
    assert query(client, "a")["edges"][0]["confidence_score"] == 0.7
    assert query(client, "c")["edges"][0]["confidence_score"] == 0.42


def test_empty_request_changes_nothing(client: TestClient) -> None:
    result = ingest(client, [])
    assert isinstance(result.pop("revision"), int)
    assert result == {
        "nodes_upserted": 0,
        "edges_upserted": 0,
        "edges_retracted": 0,
        "circular_dependencies_detected": [],
        "warnings": [],
    }


def test_warnings_are_capped(client: TestClient) -> None:
    edges = [edge("a", "b")] * 150
    result = ingest(client, edges)
    assert len(result["warnings"]) == 101
    assert result["warnings"][-1] == "... and 49 more warnings"
