"""`include=impact,availability` on GET /services/{id}/dependencies and GET
/services/{id}: the insights come in the same answer, equal to their own endpoints'
answers (lists cut at INCLUDED_LIST_LIMIT), on a real topology and every engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.topology.includes import INCLUDED_LIST_LIMIT
from tests.e2e.conftest import BOUTIQUE, INGEST, edge, ingest, service_answer


@pytest.fixture
def boutique(client: TestClient) -> TestClient:
    response = client.post(INGEST, json=json.loads(BOUTIQUE.read_text()))
    assert response.status_code == 200, response.text
    return client


@pytest.mark.parametrize("include_stale", ["false", "true"])
def test_a_subgraph_includes_the_roots_insights_as_their_endpoints_answer_them(
    boutique: TestClient, include_stale: str
) -> None:
    plain = service_answer(
        boutique, "checkoutservice", "dependencies", direction="both", include_stale=include_stale
    )
    both = service_answer(
        boutique,
        "checkoutservice",
        "dependencies",
        direction="both",
        include_stale=include_stale,
        include="impact,availability",
    )
    impact = service_answer(boutique, "checkoutservice", "impact", include_stale=include_stale)
    ceiling = service_answer(
        boutique, "checkoutservice", "availability", include_stale=include_stale
    )
    assert {k: v for k, v in both.items() if k not in ("impact", "availability")} == plain
    assert both["impact"] == impact
    assert both["availability"] == ceiling
    assert impact["totals"]["affected"] > 0 and ceiling["terms"], "a real topology has both"


def test_only_the_insights_named_are_included_each_once(boutique: TestClient) -> None:
    one = service_answer(boutique, "frontend", "dependencies", include="availability")
    assert "availability" in one and "impact" not in one
    twice = boutique.get(
        "/api/v1/services/frontend/dependencies", params={"include": "impact,impact"}
    )
    assert twice.status_code == 200
    assert twice.text.count('"impact":{') == 1
    assert "impact" not in service_answer(boutique, "frontend", "dependencies")


def test_a_service_answer_includes_its_insights(boutique: TestClient) -> None:
    plain = boutique.get("/api/v1/services/paymentservice").json()
    detail = boutique.get(
        "/api/v1/services/paymentservice", params={"include": "impact,availability"}
    )
    assert detail.status_code == 200, detail.text
    assert detail.headers["X-Graph-Revision"] == str(
        boutique.get("/api/v1/services/paymentservice").headers["X-Graph-Revision"]
    )
    body = detail.json()
    assert {k: v for k, v in body.items() if k not in ("impact", "availability")} == plain
    assert body["impact"] == service_answer(boutique, "paymentservice", "impact")
    assert body["availability"] == service_answer(boutique, "paymentservice", "availability")


def test_included_lists_are_cut_and_their_totals_count_everyone(client: TestClient) -> None:
    callers = INCLUDED_LIST_LIMIT + 25
    ingest(client, [edge(f"caller-{i:03}", "core", criticality="hard") for i in range(callers)])
    response = client.get("/api/v1/services/core", params={"include": "impact"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["impact"]["affected"]) == INCLUDED_LIST_LIMIT
    assert body["impact"]["truncated"] is True
    assert body["impact"]["totals"]["affected"] == callers


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"include": "impact,blast"}, "include"),
        ({"include": ""}, "include"),
        ({"include": "impact", "format": "dot"}, "include"),
    ],
)
def test_bad_includes_are_problems_naming_the_parameter(
    boutique: TestClient, params: dict[str, Any], pointer: str
) -> None:
    response = boutique.get("/api/v1/services/frontend/dependencies", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in response.text
    unknown = boutique.get("/api/v1/services/frontend", params={"include": "cycles"})
    assert unknown.status_code == 400


def test_an_unknown_service_is_a_404_with_or_without_includes(boutique: TestClient) -> None:
    for path in ("/api/v1/services/nope/dependencies", "/api/v1/services/nope"):
        response = boutique.get(path, params={"include": "impact,availability"})
        assert response.status_code == 404, response.text
