"""GET /api/v1/services and GET /api/v1/services/{service_id}."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient

from tests.e2e.conftest import ingest


def _seed(client: TestClient) -> None:
    ingest(
        client,
        [("web", "api"), ("api", "db")],
        nodes=[
            {"service_id": "web", "team": "front", "criticality": "high"},
            {"service_id": "api", "team": "back", "criticality": "critical"},
            {"service_id": "solo", "team": "back", "criticality": "low"},
        ],
    )


def test_get_one_service(client: TestClient) -> None:
    _seed(client)
    body = client.get("/api/v1/services/api").json()
    assert body["service_id"] == "api"
    assert body["team"] == "back"
    assert body["criticality"] == "critical"
    assert body["discovered"] is False
    assert body["created_at"].endswith("Z")


def test_unknown_service_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/services/ghost")
    assert response.status_code == 404
    assert response.json()["title"] == "Service not found"


def test_filters(client: TestClient) -> None:
    _seed(client)

    def ids(**params: object) -> list[str]:
        response = client.get("/api/v1/services", params=params)
        assert response.status_code == 200, response.text
        return [s["service_id"] for s in response.json()["items"]]

    assert ids() == ["api", "db", "solo", "web"]
    assert ids(team="back") == ["api", "solo"]
    assert ids(criticality="critical") == ["api"]
    assert ids(discovered="true") == ["db"]
    assert ids(discovered="false", team="back", criticality="low") == ["solo"]


def test_search_matches_id_or_display_name_case_insensitively(client: TestClient) -> None:
    ingest(
        client,
        [("web", "api")],
        nodes=[
            {"service_id": "payments-api", "display_name": "Payments"},
            {"service_id": "ledger", "display_name": "Money Ledger"},
            {"service_id": "pay-100", "display_name": "Pay 100%_off"},
        ],
    )

    def ids(search: str) -> list[str]:
        response = client.get("/api/v1/services", params={"search": search})
        assert response.status_code == 200, response.text
        return [s["service_id"] for s in response.json()["items"]]

    assert ids("PAY") == ["pay-100", "payments-api"]
    assert ids("money") == ["ledger"]
    assert ids("e") == ["ledger", "payments-api", "web"]
    # LIKE wildcards in the text are matched literally.
    assert ids("%_") == ["pay-100"]
    assert ids("0%") == ["pay-100"]
    assert ids("_") == ["pay-100"]
    assert ids("nothing") == []


def test_cursor_pagination_walks_every_service_once(client: TestClient) -> None:
    names = [f"svc-{i:03d}" for i in range(23)]
    ingest(client, [], nodes=[{"service_id": name} for name in names])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/v1/services", params=params).json()
        seen.extend(s["service_id"] for s in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    assert pages == 5


def test_bad_list_parameters_are_400(client: TestClient) -> None:
    for params in ({"limit": 0}, {"limit": 1001}, {"cursor": "!!!"}, {"criticality": "x"}):
        response = client.get("/api/v1/services", params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_crafted_cursors_are_400_on_every_paginated_list(client: TestClient) -> None:
    """Deep nesting would exhaust the JSON parser's recursion: refused before parsing."""
    nested = base64.urlsafe_b64encode(b"[" * 1500).decode().rstrip("=")[:2048]
    other_shapes = [
        base64.urlsafe_b64encode(raw).decode().rstrip("=")
        for raw in (b'[["a"]]', b'[{"a": 1}]', b'{"a": 1}', b"[1, 2, 3]", b"null", b"[5]")
    ]
    # Shaped like an alert cursor, but with a number for the id or a time at the end of
    # time (converting it to UTC overflows).
    other_shapes += [
        base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")
        for values in (
            ["2026-01-01T00:00:00+00:00", 5],
            ["9999-12-31T23:59:59-23:59", "8f14e45f-ceea-467f-a0e6-0b3c1a6f8a7e"],
        )
    ]
    for path in ("/api/v1/services", "/api/v1/circular-dependencies", "/api/v1/graph"):
        for cursor in (nested, *other_shapes):
            response = client.get(path, params={"cursor": cursor})
            assert response.status_code == 400, (path, cursor, response.text)
            assert response.headers["content-type"] == "application/problem+json"
