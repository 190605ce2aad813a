"""Retraction over HTTP: an edge a source no longer reports, a service deleted, a full
sync (`mode: replace`), and what each does to cycles, the change feed and the live
graphs of other processes. Both engines."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import (
    INGEST,
    caught_up,
    edge,
    edge_pairs,
    ingest,
    make_key,
    query,
    settings_for,
)


def retract(client: TestClient, source: str, target: str, **params: Any) -> dict[str, Any]:
    response = client.delete(f"/api/v1/services/{source}/dependencies/{target}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["X-Graph-Revision"] == str(response.json()["revision"])
    result: dict[str, Any] = response.json()
    return result


def reported_by(client: TestClient, source: str, target: str) -> list[str] | None:
    """The discovery sources of source -> target as answered, None if it is not there."""
    for found in query(client, source, depth=1, include_stale="true")["edges"]:
        if (found["source"], found["target"]) == (source, target):
            sources: list[str] = found["discovery_sources"]
            return sources
    return None


def changes(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/changes", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_retracting_one_source_keeps_the_edge_while_another_reports_it(
    client: TestClient,
) -> None:
    ingest(client, [("a", "b")], source="manual")
    ingest(client, [("a", "b")], source="jaeger")
    result = retract(client, "a", "b", discovery_source="manual")
    assert result["retracted"] == [{"source": "a", "target": "b", "discovery_source": "manual"}]
    assert reported_by(client, "a", "b") == ["jaeger"]
    # The last report gone, the merged edge leaves the graph.
    retract(client, "a", "b", discovery_source="jaeger")
    assert reported_by(client, "a", "b") is None
    assert {s["service_id"] for s in client.get("/api/v1/services").json()["items"]} == {"a", "b"}


def test_without_a_source_every_declared_source_is_retracted_and_observed_ones_stay(
    client: TestClient,
) -> None:
    for source in ("manual", "backstage", "otel_service_graph"):
        ingest(client, [("a", "b")], source=source)
    result = retract(client, "a", "b")
    assert sorted(r["discovery_source"] for r in result["retracted"]) == ["backstage", "manual"]
    assert reported_by(client, "a", "b") == ["otel_service_graph"]


def test_retracting_what_is_not_reported_is_a_404_and_changes_nothing(client: TestClient) -> None:
    revision = ingest(client, [("a", "b")], source="jaeger")["revision"]
    for params in ({}, {"discovery_source": "manual"}):
        response = client.delete("/api/v1/services/a/dependencies/b", params=params)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    response = client.delete("/api/v1/services/x/dependencies/y")
    assert response.status_code == 404
    assert reported_by(client, "a", "b") == ["jaeger"]
    assert ingest(client, [])["revision"] == revision + 1  # the refusals committed nothing


def test_bad_retraction_input_is_a_problem(client: TestClient) -> None:
    response = client.delete(
        "/api/v1/services/a/dependencies/b", params={"discovery_source": "nope"}
    )
    assert response.status_code == 400
    response = client.delete("/api/v1/services/a/dependencies/%20bad")
    assert response.status_code == 400


def test_a_retraction_that_breaks_a_cycle_resolves_its_alert_with_the_reason(
    client: TestClient,
) -> None:
    created = ingest(client, [("a", "b"), ("b", "c"), ("c", "a")])
    (cycle,) = created["circular_dependencies_detected"]
    result = retract(client, "c", "a")
    assert result["cycles_resolved"] == [cycle["cycle_path"]]
    alert = client.get(f"/api/v1/circular-dependencies/{cycle['alert_id']}").json()
    assert alert["status"] == "resolved"
    assert alert["resolved_by"] == "system"
    assert "c -> a retracted" in alert["note"]
    types = [c["type"] for c in changes(client, type=["cycle.opened", "cycle.resolved"])]
    assert types == ["cycle.opened", "cycle.resolved"]
    # Reporting the edge again reopens it.
    again = ingest(client, [("c", "a")])
    assert [c["alert_id"] for c in again["circular_dependencies_detected"]] == [cycle["alert_id"]]


def test_a_service_still_named_by_edges_is_not_deleted_without_cascade(
    client: TestClient,
) -> None:
    ingest(client, [("a", "b"), ("b", "c")], nodes=[{"service_id": "b", "team": "t"}])
    response = client.delete("/api/v1/services/b")
    assert response.status_code == 409, response.text
    listed = {e["detail"] for e in response.json()["errors"]}
    assert listed == {"a -> b (manual)", "b -> c (manual)"}
    assert client.get("/api/v1/services/b").status_code == 200

    result = client.delete("/api/v1/services/b", params={"cascade": "true"}).json()
    assert result["deleted_service"] == "b"
    assert len(result["retracted"]) == 2
    assert client.get("/api/v1/services/b").status_code == 404
    assert query(client, "a")["edges"] == []
    assert client.delete("/api/v1/services/b").status_code == 404
    deleted = changes(client, service="b", type="service.deleted")
    assert deleted[0]["previous"]["team"] == "t"


def test_deleting_a_service_needs_the_admin_scope(database_url: str, client: TestClient) -> None:
    ingest(client, [("a", "b")])
    writer = make_key(database_url, "writer", Scope.WRITE)
    response = client.delete("/api/v1/services/a", headers={"Authorization": f"Bearer {writer}"})
    assert response.status_code == 403
    response = client.delete(
        "/api/v1/services/a/dependencies/b", headers={"Authorization": f"Bearer {writer}"}
    )
    assert response.status_code == 200


def test_replace_retracts_what_the_source_no_longer_reports_in_scope(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("a", "c"), ("x", "y")], source="backstage")
    ingest(client, [("a", "c")], source="manual")
    result = ingest(
        client, [("a", "b")], source="backstage", mode="replace", scope={"services": ["a"]}
    )
    assert result["edges_retracted"] == 1
    assert reported_by(client, "a", "c") == ["manual"]  # another source's report stays
    assert reported_by(client, "a", "b") == ["backstage"]
    assert reported_by(client, "x", "y") == ["backstage"]  # out of scope
    # Without a scope the request is the source's whole report.
    result = ingest(client, [edge("a", "b")], source="backstage", mode="replace")
    assert result["edges_retracted"] == 1
    assert reported_by(client, "x", "y") is None
    retracted = changes(client, type="edge.retracted")
    assert [(c["service_id"], c["target_id"]) for c in retracted] == [("a", "c"), ("x", "y")]


def test_scope_without_replace_is_refused(client: TestClient) -> None:
    response = client.post(
        INGEST, json={"source": "manual", "scope": {"services": ["a"]}, "edges": []}
    )
    assert response.status_code == 422
    response = client.post(INGEST, json={"source": "manual", "mode": "sync", "edges": []})
    assert response.status_code == 422


def test_the_change_feed_pages_in_revision_order_with_actors(client: TestClient) -> None:
    ingest(client, [("a", "b")], nodes=[{"service_id": "a", "team": "t1"}])
    ingest(client, [edge("a", "b", criticality="soft")])
    ingest(client, [], nodes=[{"service_id": "a", "team": "t2"}])
    ingest(client, [edge("a", "b", criticality="soft")])  # nothing changed: no entry
    retract(client, "a", "b")
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/changes", params=params).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(c["revision"], c["type"]) for c in seen] == [
        (1, "service.created"),
        (1, "service.created"),
        (1, "edge.reported"),
        (2, "edge.changed"),
        (3, "service.updated"),
        (5, "edge.retracted"),
    ]
    assert {c["actor"] for c in seen} == {"e2e-admin"}
    changed = seen[3]
    assert changed["previous"] == {"criticality": None}
    assert changed["state"]["criticality"] == "soft"
    assert seen[4]["previous"] == {"team": "t1"}
    assert [c["revision"] for c in changes(client, since_revision=2)] == [3, 5]
    assert changes(client, service="b", type="edge.reported")[0]["target_id"] == "b"
    bad = client.get("/api/v1/changes", params={"cursor": "bm9wZQ"})
    assert bad.status_code == 400


def test_observed_figures_are_recorded_only_past_their_threshold(client: TestClient) -> None:
    ingest(client, [edge("a", "b", request_rate=100.0)], source="jaeger")
    ingest(client, [edge("a", "b", request_rate=110.0)], source="jaeger")  # 10%: noise
    ingest(client, [edge("a", "b", request_rate=200.0)], source="jaeger")
    recorded = changes(client, service="a", type=["edge.reported", "edge.changed"])
    assert [c["state"]["request_rate"] for c in recorded] == [100.0, 200.0]
    assert recorded[1]["previous"] == {"request_rate": 110.0}


def test_another_process_takes_a_retraction_out_of_its_live_graph(
    database_url: str, client: TestClient, admin_key: str
) -> None:
    ingest(client, [("a", "b"), ("b", "c")])
    other = create_app(settings_for(database_url))
    with TestClient(
        other, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}
    ) as replica:
        assert edge_pairs(query(replica, "a")) == {("a", "b"), ("b", "c")}
        retract(client, "b", "c")
        client.delete("/api/v1/services/a", params={"cascade": "true"})
        caught_up(replica)
        assert replica.get("/api/v1/services/a").status_code == 404
        assert query(replica, "b")["edges"] == []
        # Reported again after its retraction: back on the replica too.
        ingest(client, [("b", "c")])
        caught_up(replica)
        assert edge_pairs(query(replica, "b")) == {("b", "c")}
