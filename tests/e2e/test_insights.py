"""GET /services/{id}/impact and /availability on a real published topology (Google's
Online Boutique, examples/), on every database engine. The figures are the worked
examples of docs/insights.md."""

from __future__ import annotations

import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.insights import service as insights_service
from slo_engine.jobs.runner import JOBS
from slo_engine.observability.metrics import ANSWER_CACHE_LOOKUPS
from tests.e2e.conftest import BOUTIQUE, INGEST, edge, ingest, make_key, service_answer


@pytest.fixture
def boutique(client: TestClient) -> TestClient:
    response = client.post(INGEST, json=json.loads(BOUTIQUE.read_text()))
    assert response.status_code == 200, response.text
    return client


def impact(client: TestClient, service_id: str, **params: Any) -> dict[str, Any]:
    return service_answer(client, service_id, "impact", **params)


def availability(client: TestClient, service_id: str, **params: Any) -> dict[str, Any]:
    return service_answer(client, service_id, "availability", **params)


def test_a_soft_dependency_degrades_and_the_degradation_climbs_hard_edges(
    boutique: TestClient,
) -> None:
    body = impact(boutique, "emailservice")
    assert body["service"]["service_id"] == "emailservice"
    assert [(a["service_id"], a["impact"], a["distance"]) for a in body["affected"]] == [
        ("checkoutservice", "degraded", 1),
        ("frontend", "degraded", 2),
        ("loadgenerator", "degraded", 3),
    ]
    frontend = body["affected"][1]
    assert frontend["path"] == ["frontend", "checkoutservice", "emailservice"]
    assert frontend["path_edges"] == [
        {
            "source": "frontend",
            "target": "checkoutservice",
            "criticality": "hard",
            "communication_mode": "sync",
            "effect": "degraded",
        },
        {
            "source": "checkoutservice",
            "target": "emailservice",
            "criticality": "soft",
            "communication_mode": "sync",
            "effect": "degraded",
        },
    ]
    assert body["totals"] == {
        "affected": 3,
        "down": 0,
        "degraded": 3,
        "by_team": [
            {"team": "checkout", "down": 0, "degraded": 1},
            {"team": "platform", "down": 0, "degraded": 1},
            {"team": "storefront", "down": 0, "degraded": 1},
        ],
        "by_criticality": [
            {"criticality": "critical", "down": 0, "degraded": 2},
            {"criticality": "low", "down": 0, "degraded": 1},
        ],
    }


def test_a_hard_dependency_takes_its_callers_down(boutique: TestClient) -> None:
    body = impact(boutique, "redis-cart")
    assert [(a["service_id"], a["impact"], a["distance"]) for a in body["affected"]] == [
        ("cartservice", "down", 1),
        ("checkoutservice", "down", 2),
        ("frontend", "down", 2),
        ("loadgenerator", "down", 3),
    ]
    assert body["totals"]["by_team"][0] == {"team": "checkout", "down": 2, "degraded": 0}
    # depth bounds the walk.
    shallow = impact(boutique, "redis-cart", depth=2)
    assert [a["service_id"] for a in shallow["affected"]] == [
        "cartservice",
        "checkoutservice",
        "frontend",
    ]
    assert impact(boutique, "loadgenerator")["affected"] == []
    # A bounded list keeps the worst hit and complete totals.
    bounded = impact(boutique, "redis-cart", max_affected=2)
    assert [a["service_id"] for a in bounded["affected"]] == ["cartservice", "checkoutservice"]
    assert bounded["truncated"] is True and body["truncated"] is False
    assert bounded["totals"] == body["totals"]


def test_cycles_are_walked_once_and_stale_edges_only_on_request(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("b", "a"), ("c", "a")])
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    ingest(client, [("old", "b")], source="otel_service_graph", observed_at=long_ago)
    client.portal.call(JOBS.of(client.app).run_now, "mark-stale")  # type: ignore[arg-type]

    fresh = impact(client, "b")
    assert [(a["service_id"], a["impact"], a["distance"]) for a in fresh["affected"]] == [
        ("a", "down", 1),
        ("c", "down", 2),
    ]
    with_stale = impact(client, "b", include_stale="true")
    assert [a["service_id"] for a in with_stale["affected"]] == ["a", "old", "c"]


def test_the_availability_ceiling_shows_its_arithmetic(client: TestClient) -> None:
    document = json.loads(BOUTIQUE.read_text())
    for node in document["nodes"]:
        if node["service_id"] == "paymentservice":
            node["metadata"] = {"slo_target": 0.9995}
        if node["service_id"] == "checkoutservice":
            node["metadata"] = {"slo_target": "0.9999"}
    assert client.post(INGEST, json=document).status_code == 200
    # Tracing saw 0.2% of checkout's calls to currency fail: worse than its 99.9%.
    ingest(
        client,
        [edge("checkoutservice", "currencyservice", error_rate=0.002, request_rate=12.5)],
        source="otel_service_graph",
    )

    body = availability(client, "checkoutservice")
    terms = {t["service_id"]: t for t in body["terms"]}
    assert body["terms"][0]["service_id"] == "checkoutservice"
    assert set(terms) == {
        "checkoutservice",
        "productcatalogservice",
        "shippingservice",
        "paymentservice",
        "currencyservice",
        "cartservice",
        "redis-cart",
    }
    assert terms["checkoutservice"]["factor_source"] == "metadata"
    assert terms["paymentservice"]["factor"] == 0.9995
    assert terms["currencyservice"]["factor"] == pytest.approx(0.998)
    assert terms["currencyservice"]["factor_source"] == "observed"
    assert terms["redis-cart"]["factor_source"] == "default"
    expected = 0.9999 * 0.9995 * 0.998 * 0.999**4
    assert body["ceiling"] == pytest.approx(expected)
    assert body["nines"] == pytest.approx(-math.log10(1 - expected), abs=1e-3)
    assert body["dependencies"] == 6
    assert body["arithmetic"].endswith(f"= {format(body['ceiling'], '.12g')}")
    assert "0.998 (currencyservice, observed)" in body["arithmetic"]
    # The product of the factors shown is the ceiling.
    assert math.prod(t["factor"] for t in body["terms"]) == pytest.approx(body["ceiling"])
    assert body["limiting"][0]["members"] == ["currencyservice"]
    assert body["truncated"] is False

    # A bound on the lists keeps the figures whole.
    bounded = availability(client, "checkoutservice", max_terms=2)
    assert bounded["truncated"] is True
    assert [t["service_id"] for t in bounded["terms"]] == [
        t["service_id"] for t in body["terms"][:2]
    ]
    assert bounded["limiting"] == body["limiting"][:2]
    assert len(bounded["units"]) == 2
    assert (bounded["ceiling"], bounded["arithmetic"]) == (body["ceiling"], body["arithmetic"])
    assert [u["cycle"] for u in body["units"]] == [False] * 7
    # emailservice is soft: counted only in the "if soft were hard" figure.
    assert body["if_soft_were_hard"]["dependencies"] == 7
    assert body["if_soft_were_hard"]["ceiling"] == pytest.approx(expected * 0.999)
    assert body["default_slo_target"] == 0.999


def test_a_cycle_is_one_unit_and_a_bad_target_is_a_note(client: TestClient) -> None:
    ingest(
        client,
        [("web", "x"), ("x", "y"), ("y", "x"), edge("web", "queue", communication_mode="async")],
        nodes=[{"service_id": "x", "metadata": {"slo_target": 99.9}}],
    )
    body = availability(client, "web")
    assert [u["members"] for u in body["units"] if u["cycle"]] == [["x", "y"]]
    assert body["ceiling"] == pytest.approx(0.999**3)
    assert any("x, y depend on each other" in note for note in body["notes"])
    assert any("slo_target 99.9 is not a number in (0, 1]" in note for note in body["notes"])
    assert any("no declared criticality" in note for note in body["notes"])
    # The async queue is not counted, even if soft ones were hard.
    assert body["if_soft_were_hard"]["dependencies"] == 2


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/services/ghost/impact", {}, 404),
        ("/api/v1/services/ghost/availability", {}, 404),
        ("/api/v1/services/a/impact", {"depth": "0"}, 400),
        ("/api/v1/services/a/impact", {"depth": "11"}, 400),
        ("/api/v1/services/a/impact", {"include_stale": "maybe"}, 400),
        ("/api/v1/services/a/impact", {"max_affected": "0"}, 400),
        ("/api/v1/services/a/availability", {"include_stale": "maybe"}, 400),
        ("/api/v1/services/bad%20id/impact", {}, 400),
    ],
)
def test_bad_requests_get_problems(
    client: TestClient, path: str, params: dict[str, str], status: int
) -> None:
    ingest(client, [("a", "b")])
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_answers_match_their_documented_schemas(boutique: TestClient) -> None:
    schemas = boutique.get("/openapi.json").json()["components"]["schemas"]
    for path, name in (("impact", "ImpactOut"), ("availability", "AvailabilityOut")):
        answer = boutique.get(f"/api/v1/services/checkoutservice/{path}").json()
        assert set(answer) == set(schemas[name]["properties"]), name


def test_stale_edges_count_in_the_ceiling_only_on_request(client: TestClient) -> None:
    ingest(client, [("web", "api")])
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    ingest(client, [("api", "old-db")], source="otel_service_graph", observed_at=long_ago)
    client.portal.call(JOBS.of(client.app).run_now, "mark-stale")  # type: ignore[arg-type]
    assert availability(client, "web")["dependencies"] == 1
    assert availability(client, "web", include_stale="true")["dependencies"] == 2


def test_insights_need_the_read_scope(client: TestClient, database_url: str) -> None:
    ingest(client, [("a", "b")])
    writer = make_key(database_url, "writer-only", Scope.WRITE)
    for path in ("/api/v1/services/b/impact", "/api/v1/services/b/availability"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 401
        denied = client.get(path, headers={"Authorization": f"Bearer {writer}"})
        assert denied.status_code == 403


@pytest.mark.parametrize("what", ["impact", "availability"])
def test_a_heavy_answer_does_not_hold_up_other_requests(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """The answer is computed in a worker thread: while one is still being computed,
    the same server answers other requests (before, a blast radius reaching half of a
    large graph held the event loop for its whole computation)."""
    ingest(client, [("a", "b"), ("b", "c")])
    entered, release = threading.Event(), threading.Event()
    name = f"{what}_answer"
    compute = getattr(insights_service, name)

    def slow(*args: Any) -> bytes:
        entered.set()
        release.wait(10)
        return compute(*args)  # type: ignore[no-any-return]

    monkeypatch.setattr(insights_service, name, slow)
    with ThreadPoolExecutor(2) as pool:
        heavy = pool.submit(client.get, f"/api/v1/services/b/{what}")
        try:
            assert entered.wait(10)
            other = pool.submit(client.get, "/api/v1/services/a/dependencies")
            # On the event loop, the heavy answer would hold this one up until released.
            assert other.result(timeout=5).status_code == 200
            assert not heavy.done()
        finally:
            release.set()
        assert heavy.result(timeout=10).status_code == 200


def test_insights_are_kept_per_revision_and_never_outlive_it(boutique: TestClient) -> None:
    """Asked again at the same revision, an insight comes from the answer cache (the
    same bytes); after a write, it is computed for the new graph; a past graph's is
    never taken from the cache."""

    def hits() -> float:
        return float(ANSWER_CACHE_LOOKUPS.labels("hit")._value.get())

    first = boutique.get("/api/v1/services/paymentservice/impact")
    before = hits()
    again = boutique.get("/api/v1/services/paymentservice/impact")
    ceiling = boutique.get("/api/v1/services/paymentservice/availability")
    ceiling_again = boutique.get("/api/v1/services/paymentservice/availability")
    assert hits() - before == 2
    assert again.content == first.content and ceiling_again.content == ceiling.content
    assert again.headers["X-Graph-Revision"] == first.headers["X-Graph-Revision"]
    moment = datetime.now(UTC).isoformat()
    # A new caller of payments: the next answer is of the new graph, not the kept one.
    ingest(boutique, [edge("fraud-check", "paymentservice", criticality="hard")])
    after = boutique.get("/api/v1/services/paymentservice/impact").json()
    assert "fraud-check" in {a["service_id"] for a in after["affected"]}
    assert "fraud-check" not in {a["service_id"] for a in first.json()["affected"]}
    # The graph as it was before the write: computed, never read from the cache.
    before_past = hits()
    past = boutique.get("/api/v1/services/paymentservice/impact", params={"as_of": moment})
    assert past.status_code == 200, past.text
    assert past.headers["X-Graph-Revision"] == first.headers["X-Graph-Revision"]
    assert past.json()["affected"] == first.json()["affected"]
    assert hits() == before_past
