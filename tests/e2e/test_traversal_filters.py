"""Traversal filters on GET /services/{id}/dependencies, on Online Boutique: the worked
examples of docs/identity.md "Filters", on every engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import BOUTIQUE, INGEST, ingest, node_depths, query


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


def test_filtered_and_plain_answers_are_cached_apart(boutique: TestClient) -> None:
    for _ in range(2):
        plain = query(boutique, "frontend", depth=2)
        filtered = query(boutique, "frontend", depth=2, exclude="checkoutservice")
        assert "checkoutservice" in node_depths(plain)
        assert "checkoutservice" not in node_depths(filtered)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"kind": "database,table"}, "kind"),
        ({"criticality": "urgent"}, "criticality"),
        ({"discovery_source": "grafana"}, "discovery_source"),
        ({"exclude": "a b"}, "exclude"),
        ({"exclude": ",".join(f"s{i}" for i in range(51))}, "exclude"),
        ({"team": ""}, "team"),
    ],
)
def test_bad_filters_are_problems_naming_the_parameter(
    boutique: TestClient, params: dict[str, Any], named: str
) -> None:
    response = boutique.get("/api/v1/services/frontend/dependencies", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.text
