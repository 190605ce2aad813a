"""Traversal filters on GET /services/{id}/dependencies, on Online Boutique: the worked
examples of docs/identity.md "Filters", on every engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import BOUTIQUE, INGEST, edge, ingest, node_depths, query

PROBLEM = "application/problem+json"


@pytest.fixture
def boutique(client: TestClient) -> TestClient:
    response = client.post(INGEST, json=json.loads(BOUTIQUE.read_text()))
    assert response.status_code == 200, response.text
    # Tracing also sees the cart's Redis as a database, and a call nobody declared.
    ingest(
        client,
        [
            {"source": "cartservice", "target": "redis-cart"},
            {"source": "cartservice", "target": "cart-cache", "target_kind": "database"},
            {"source": "adservice", "target": "ads-db", "target_kind": "database"},
        ],
        source="otel_service_graph",
    )
    return client


def test_excluding_a_service_leaves_out_what_lies_only_behind_it(boutique: TestClient) -> None:
    everything = node_depths(query(boutique, "frontend", depth=3))
    assert {"cartservice", "redis-cart", "cart-cache"} <= everything.keys()
    without_cart = query(boutique, "frontend", depth=3, exclude="cartservice")
    depths = node_depths(without_cart)
    assert set(everything) - set(depths) == {"cartservice", "redis-cart", "cart-cache"}
    assert all("cartservice" not in (e["source"], e["target"]) for e in without_cart["edges"])
    # Patterns: every *-db and the ad service.
    patterned = node_depths(query(boutique, "frontend", depth=3, exclude="*-db,adservice"))
    assert not {"ads-db", "adservice"} & patterned.keys()
    assert "cart-cache" in patterned


def test_only_some_kinds_teams_or_criticalities(boutique: TestClient) -> None:
    services_only = node_depths(query(boutique, "frontend", depth=3, kind="service"))
    assert not {"cart-cache", "ads-db"} & services_only.keys()
    assert "redis-cart" in services_only  # declared by people as a plain service
    checkout_team = node_depths(query(boutique, "frontend", depth=3, team="checkout"))
    assert set(checkout_team) == {"checkoutservice", "cartservice", "redis-cart"}
    critical = node_depths(query(boutique, "frontend", criticality="critical", depth=3))
    assert set(critical) == {"checkoutservice", "paymentservice"}
    # Upstream too: who calls the product catalog, through critical services only.
    callers = query(
        boutique, "productcatalogservice", direction="upstream", depth=3, criticality="critical"
    )
    assert node_depths(callers) == {"frontend": 1, "checkoutservice": 1}


def test_declared_edges_only(boutique: TestClient) -> None:
    declared = query(boutique, "cartservice", discovery_source="manual,backstage")
    assert {(e["source"], e["target"]) for e in declared["edges"]} == {
        ("cartservice", "redis-cart")
    }
    observed = query(boutique, "cartservice", discovery_source="otel_service_graph")
    assert {(e["source"], e["target"]) for e in observed["edges"]} == {
        ("cartservice", "redis-cart"),
        ("cartservice", "cart-cache"),
    }


def test_the_blast_radius_travels_only_what_the_filters_let_through(
    boutique: TestClient,
) -> None:
    def affected(**params: Any) -> set[str]:
        response = boutique.get("/api/v1/services/redis-cart/impact", params=params)
        assert response.status_code == 200, response.text
        return {a["service_id"] for a in response.json()["affected"]}

    everyone = affected()
    assert {"cartservice", "checkoutservice", "frontend", "loadgenerator"} <= everyone
    # Without the checkout service, the failure still reaches the frontend through the
    # cart, but not through checkout.
    assert affected(exclude="checkoutservice") == everyone - {"checkoutservice"}
    assert affected(team="checkout") == {"cartservice", "checkoutservice"}
    assert affected(discovery_source="jaeger") == set()


def test_only_discovered_or_only_declared_services(boutique: TestClient) -> None:
    everything = node_depths(query(boutique, "frontend", depth=3))
    # Tracing named cart-cache and ads-db, nobody declared them.
    declared = node_depths(query(boutique, "frontend", depth=3, discovered="false"))
    assert set(declared) == set(everything) - {"cart-cache", "ads-db"}
    # Both lie only behind declared services: from the frontend, nothing is crossed.
    assert node_depths(query(boutique, "frontend", depth=3, discovered="true")) == {}
    assert node_depths(query(boutique, "cartservice", discovered="true")) == {"cart-cache": 1}
    # The queried service is never filtered out, discovered or not.
    upstream = query(boutique, "cart-cache", direction="upstream", depth=3, discovered="false")
    assert node_depths(upstream) == {
        "cartservice": 1,
        "frontend": 2,
        "checkoutservice": 2,
        "loadgenerator": 3,
    }


def traced(client: TestClient) -> TestClient:
    """Request rates as tracing measures them (requests per second, in and out):
    frontend 40 + 25 = 65, checkoutservice 40 + 10 = 50, paymentservice 10,
    cartservice 25 + 30 + 12 = 67, redis-cart 30, cart-cache 12; every other service
    has no figure, which counts as 0."""
    ingest(
        client,
        [
            edge("frontend", "checkoutservice", request_rate=40.0),
            edge("checkoutservice", "paymentservice", request_rate=10.0),
            edge("frontend", "cartservice", request_rate=25.0),
            edge("cartservice", "redis-cart", request_rate=30.0),
            {
                "source": "cartservice",
                "target": "cart-cache",
                "target_kind": "database",
                "attributes": {"request_rate": 12.0},
            },
        ],
        source="otel_service_graph",
    )
    return client


def test_min_request_rate(boutique: TestClient) -> None:
    traced(boutique)
    # At least 30 req/s: redis-cart has exactly 30; paymentservice (10) and cart-cache
    # (12) are left out, and everything without a figure.
    busy = query(boutique, "frontend", depth=3, min_request_rate="30")
    assert node_depths(busy) == {"checkoutservice": 1, "cartservice": 1, "redis-cart": 2}
    assert {(e["source"], e["target"]) for e in busy["edges"]} == {
        ("frontend", "checkoutservice"),
        ("frontend", "cartservice"),
        ("checkoutservice", "cartservice"),
        ("cartservice", "redis-cart"),
    }
    assert node_depths(query(boutique, "frontend", depth=3, min_request_rate="11")) == {
        "checkoutservice": 1,
        "cartservice": 1,
        "redis-cart": 2,
        "cart-cache": 2,
    }
    # The queried service (10 req/s) is never filtered out; the loadgenerator (no
    # figure) is not crossed.
    callers = query(
        boutique, "paymentservice", direction="upstream", depth=3, min_request_rate="20"
    )
    assert node_depths(callers) == {"checkoutservice": 1, "frontend": 2}
    # 0, the default, leaves nothing out.
    plain = node_depths(query(boutique, "frontend", depth=3))
    assert node_depths(query(boutique, "frontend", depth=3, min_request_rate="0")) == plain
    # The blast radius travels only the busy callers too.
    response = boutique.get("/api/v1/services/redis-cart/impact", params={"min_request_rate": "20"})
    assert response.status_code == 200, response.text
    assert {a["service_id"] for a in response.json()["affected"]} == {
        "cartservice",
        "checkoutservice",
        "frontend",
    }
    declared = boutique.get("/api/v1/services/cartservice/impact", params={"discovered": "true"})
    assert declared.status_code == 200, declared.text
    assert declared.json()["affected"] == []


def test_filtered_and_plain_answers_are_cached_apart(boutique: TestClient) -> None:
    for _ in range(2):
        plain = query(boutique, "frontend", depth=2)
        filtered = query(boutique, "frontend", depth=2, exclude="checkoutservice")
        assert "checkoutservice" in node_depths(plain)
        assert "checkoutservice" not in node_depths(filtered)
        declared = query(boutique, "cartservice", discovered="false")
        assert "cart-cache" not in node_depths(declared)
        assert "cart-cache" in node_depths(query(boutique, "cartservice"))
        busy = query(boutique, "frontend", depth=2, min_request_rate="1")
        assert node_depths(busy) == {}  # the fixture's edges have no figures


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"kind": "database,table"}, "kind"),
        ({"criticality": "urgent"}, "criticality"),
        ({"discovery_source": "grafana"}, "discovery_source"),
        ({"exclude": "a b"}, "exclude"),
        ({"exclude": ",".join(f"s{i}" for i in range(51))}, "exclude"),
        ({"team": ""}, "team"),
        ({"discovered": "maybe"}, "discovered"),
        ({"min_request_rate": "-1"}, "min_request_rate"),
        ({"min_request_rate": "abc"}, "min_request_rate"),
        ({"min_request_rate": "nan"}, "min_request_rate"),
        ({"min_request_rate": "inf"}, "min_request_rate"),
        ({"min_request_rate": "1e13"}, "min_request_rate"),
    ],
)
def test_bad_filters_are_problems_naming_the_parameter(
    boutique: TestClient, params: dict[str, Any], named: str
) -> None:
    for what in ("dependencies", "impact"):
        response = boutique.get(f"/api/v1/services/frontend/{what}", params=params)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
        assert named in response.text
