"""Circular-dependency alerts: one per strongly connected component, deduplicated,
acknowledged or resolved by people, resolved by the system when the component is gone."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import ingest

ALERTS = "/api/v1/circular-dependencies"


def _alerts(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get(ALERTS, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_alert_is_one_component_with_one_concrete_cycle(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("c", "d")])
    (alert,) = _alerts(client)
    assert alert["members"] == ["a", "b", "c"]
    assert alert["cycle_path"] == ["a", "b", "a"]
    assert alert["status"] == "open"


def test_the_same_component_is_the_same_alert(client: TestClient) -> None:
    first = ingest(client, [("a", "b"), ("b", "a")])["circular_dependencies_detected"]
    ingest(client, [("a", "b"), ("b", "a")], source="jaeger")
    ingest(client, [("x", "y")])
    (alert,) = _alerts(client)
    assert alert["alert_id"] == first[0]["alert_id"]


def test_a_component_that_grows_resolves_the_old_alert(client: TestClient) -> None:
    old = ingest(client, [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")])
    assert len(old["circular_dependencies_detected"]) == 2
    merged = ingest(client, [("b", "c"), ("d", "a")])["circular_dependencies_detected"]
    assert len(merged) == 1
    (open_alert,) = _alerts(client, status="open")
    assert open_alert["members"] == ["a", "b", "c", "d"]
    resolved = _alerts(client, status="resolved")
    assert sorted(tuple(a["members"]) for a in resolved) == [("a", "b"), ("c", "d")]
    assert all(a["resolved_by"] == "system" for a in resolved)


def test_acknowledge_then_resolve_records_who_and_when(client: TestClient) -> None:
    (cycle,) = ingest(client, [("a", "b"), ("b", "a")])["circular_dependencies_detected"]
    url = f"{ALERTS}/{cycle['alert_id']}"
    acked = client.patch(url, json={"status": "acknowledged", "actor": "alice", "note": "known"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "alice"
    assert acked.json()["acknowledged_at"] is not None
    assert acked.json()["note"] == "known"
    assert _alerts(client, status="acknowledged")[0]["alert_id"] == cycle["alert_id"]
    assert _alerts(client, status="open") == []

    resolved = client.patch(url, json={"status": "resolved", "actor": "bob"})
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_by"] == "bob"
    assert client.get(url).json()["status"] == "resolved"


def test_a_resolved_cycle_that_is_still_there_reopens_on_the_next_change(
    client: TestClient,
) -> None:
    (cycle,) = ingest(client, [("a", "b"), ("b", "a")])["circular_dependencies_detected"]
    url = f"{ALERTS}/{cycle['alert_id']}"
    client.patch(url, json={"status": "resolved", "actor": "bob"})
    reopened = ingest(client, [("b", "c")])["circular_dependencies_detected"]
    assert [c["alert_id"] for c in reopened] == [cycle["alert_id"]]
    assert client.get(url).json()["status"] == "open"


def test_actor_defaults_to_the_api_key_name(client: TestClient) -> None:
    (cycle,) = ingest(client, [("a", "a")])["circular_dependencies_detected"]
    url = f"{ALERTS}/{cycle['alert_id']}"

    response = client.patch(url, json={"status": "acknowledged"})

    assert response.status_code == 200, response.text
    assert response.json()["acknowledged_by"] == "e2e-admin"


def test_alert_errors(client: TestClient) -> None:
    (cycle,) = ingest(client, [("a", "a")])["circular_dependencies_detected"]
    url = f"{ALERTS}/{cycle['alert_id']}"
    assert (
        client.patch(f"{ALERTS}/not-a-uuid", json={"status": "resolved", "actor": "x"}).status_code
        == 404
    )
    missing = f"{ALERTS}/00000000-0000-0000-0000-000000000000"
    assert client.patch(missing, json={"status": "resolved", "actor": "x"}).status_code == 404
    assert client.patch(url, json={"status": "gone", "actor": "x"}).status_code == 422
    assert client.patch(url, json={"status": "resolved", "actor": ""}).status_code == 422
    client.patch(url, json={"status": "resolved", "actor": "x"})
    conflict = client.patch(url, json={"status": "acknowledged", "actor": "x"})
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "application/problem+json"
    assert client.get(ALERTS, params={"status": "sleeping"}).status_code == 400


def test_alert_pagination(client: TestClient) -> None:
    ingest(client, [(f"s{i}", f"s{i}") for i in range(7)])
    seen = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = client.get(ALERTS, params=params).json()
        seen.extend(a["alert_id"] for a in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7
