"""Aliases over HTTP: one service per thing however sources name it, merged in one
transaction and undone by deleting the alias. Both engines."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import caught_up, edge, ingest, make_key, settings_for

ALIASES = "/api/v1/aliases"


def add_alias(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(ALIASES, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["X-Graph-Revision"] == str(response.json()["merge"]["revision"])
    created: dict[str, Any] = response.json()
    return created


def delete_alias(client: TestClient, alias_id: str) -> dict[str, Any]:
    response = client.delete(f"{ALIASES}/{alias_id}")
    assert response.status_code == 200, response.text
    merge: dict[str, Any] = response.json()
    return merge


def whole_graph(client: TestClient) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """Every service (without its timestamps) and every edge, as the graph export
    answers them (stale edges included)."""
    response = client.get("/api/v1/graph", params={"include_stale": "true", "limit": 2000})
    assert response.status_code == 200, response.text
    answer = response.json()
    services = {
        s["service_id"]: {k: v for k, v in s.items() if k not in ("created_at", "updated_at")}
        for s in client.get("/api/v1/services", params={"limit": 1000}).json()["items"]
    }
    edges = {(e["source"], e["target"]): e for e in answer["edges"]}
    return services, edges


def three_names_of_checkout(client: TestClient) -> None:
    """The issue's case: Backstage says `checkout`, Istio `checkout.shop`, the
    OpenTelemetry service graph `checkoutservice`."""
    ingest(
        client,
        [edge("checkout", "payment", criticality="hard"), ("payment", "ledger")],
        nodes=[{"service_id": "checkout", "team": "shop", "criticality": "critical"}],
        source="backstage",
    )
    ingest(
        client, [edge("frontend.shop", "checkout.shop", request_rate=5.0)], source="service_mesh"
    )
    ingest(
        client,
        [edge("checkoutservice", "payment", request_rate=4.0), ("checkoutservice", "email")],
        source="otel_service_graph",
    )


def test_aliases_make_three_names_one_service_and_deleting_them_undoes_it(
    client: TestClient,
) -> None:
    three_names_of_checkout(client)
    before = whole_graph(client)
    assert {"checkout", "checkout.shop", "checkoutservice"} <= before[0].keys()

    exact = add_alias(client, alias="checkoutservice", service_id="checkout")
    assert exact["alias"]["origin"] == "api"
    assert exact["merge"]["services_merged"] == ["checkoutservice"]
    rule = add_alias(
        client,
        pattern=r"(?P<app>[a-z]+)\.shop",
        replacement=r"\g<app>",
        discovery_source="service_mesh",
    )
    assert rule["merge"]["edges_moved"] == 1
    caught_up(client)

    services, edges = whole_graph(client)
    # One service per thing; the merged-away names are gone from every answer.
    assert "checkoutservice" not in services and "checkout.shop" not in services
    assert services["checkout"]["team"] == "shop"  # the canonical keeps its declaration
    assert set(edges) == {
        ("checkout", "payment"),
        ("checkout", "email"),
        ("frontend", "checkout"),
        ("payment", "ledger"),
    }
    merged = edges[("checkout", "payment")]
    assert sorted(merged["discovery_sources"]) == ["backstage", "otel_service_graph"]
    assert merged["reported_as"] == [
        {"discovery_source": "otel_service_graph", "source": "checkoutservice", "target": "payment"}
    ]
    assert edges[("frontend", "checkout")]["reported_as"] == [
        {"discovery_source": "service_mesh", "source": "frontend.shop", "target": "checkout.shop"}
    ]
    # An edge nobody renamed says nothing of names.
    assert "reported_as" not in edges[("payment", "ledger")]

    # Sources keep reporting their own names; ingestion lands them on the canonical id.
    answer = ingest(client, [edge("checkoutservice", "shipping")], source="otel_service_graph")
    assert answer["nodes_upserted"] == 2
    shipping = whole_graph(client)[1][("checkout", "shipping")]
    assert shipping["reported_as"][0]["source"] == "checkoutservice"

    # Deleting both puts the graph back as the sources named it (plus the new edge).
    delete_alias(client, rule["alias"]["id"])
    undone = delete_alias(client, exact["alias"]["id"])
    assert undone["services_restored"] == ["checkoutservice"]
    caught_up(client)
    services_after, edges_after = whole_graph(client)
    assert ("checkoutservice", "shipping") in edges_after
    del edges_after[("checkoutservice", "shipping")]
    services_after.pop("shipping")
    assert {k: _edge_key(v) for k, v in edges_after.items()} == {
        k: _edge_key(v) for k, v in before[1].items()
    }
    assert services_after == before[0]
    assert client.get(ALIASES).json()["items"] == []


def _edge_key(edge_answer: dict[str, Any]) -> tuple[Any, ...]:
    return (
        tuple(sorted(edge_answer["discovery_sources"])),
        edge_answer["attributes"],
        edge_answer["is_stale"],
        edge_answer.get("reported_as"),
    )


def test_two_reports_of_one_source_keep_the_last_observed_and_set_the_other_aside(
    client: TestClient,
) -> None:
    ingest(
        client,
        [edge("cart", "redis", request_rate=1.0)],
        source="jaeger",
        observed_at="2026-12-01T10:00:00Z",
    )
    ingest(
        client,
        [edge("cartservice", "redis", request_rate=9.0)],
        source="jaeger",
        observed_at="2026-12-01T11:00:00Z",
    )
    created = add_alias(client, alias="cartservice", service_id="cart")
    assert created["merge"]["edges_set_aside"] == 1
    _, edges = whole_graph(client)
    assert edges[("cart", "redis")]["attributes"]["request_rate"] == 9.0  # observed last
    assert edges[("cart", "redis")]["reported_as"][0]["source"] == "cartservice"

    restored = delete_alias(client, created["alias"]["id"])
    assert restored["edges_restored"] == 1
    _, edges = whole_graph(client)
    assert edges[("cart", "redis")]["attributes"]["request_rate"] == 1.0
    assert edges[("cartservice", "redis")]["attributes"]["request_rate"] == 9.0


def test_a_call_between_two_names_of_one_service_is_set_aside_not_a_cycle(
    client: TestClient,
) -> None:
    ingest(client, [("api-gw", "api")], source="service_mesh")
    created = add_alias(client, alias="api-gw", service_id="api")
    assert created["merge"]["edges_set_aside"] == 1
    assert created["merge"]["cycles_opened"] == []
    assert whole_graph(client)[1] == {}
    # Reported again under both names: skipped with a warning, not a self-call.
    answer = ingest(client, [("api-gw", "api")], source="service_mesh")
    assert answer["edges_upserted"] == 0
    assert "the aliases make both ends api" in answer["warnings"][0]
    delete_alias(client, created["alias"]["id"])
    assert set(whole_graph(client)[1]) == {("api-gw", "api")}


def test_a_cycle_through_a_merged_name_is_renamed_with_its_acknowledgement(
    client: TestClient,
) -> None:
    opened = ingest(client, [("orders", "billing"), ("billing", "ordersvc")], source="manual")
    assert opened["circular_dependencies_detected"] == []
    cycle = ingest(client, [("ordersvc", "orders")], source="manual")
    assert cycle["circular_dependencies_detected"]
    first = cycle["circular_dependencies_detected"][0]["alert_id"]
    response = client.patch(
        f"/api/v1/circular-dependencies/{first}",
        json={"status": "acknowledged", "note": "known, fixing in Q1"},
    )
    assert response.status_code == 200, response.text

    created = add_alias(client, alias="ordersvc", service_id="orders")
    merge = created["merge"]
    # ordersvc -> orders becomes a self-call (set aside); orders -> billing -> orders
    # is the same cycle under the canonical name.
    assert merge["cycles_resolved"] and merge["cycles_opened"]
    assert "ordersvc" not in {name for path in merge["cycles_opened"] for name in path}
    alerts = client.get("/api/v1/circular-dependencies", params={"status": "acknowledged"})
    acknowledged = alerts.json()["items"]
    assert [a["note"] for a in acknowledged] == ["known, fixing in Q1"]
    assert "ordersvc" not in acknowledged[0]["cycle_path"]


def test_alias_refusals_are_problems_and_change_nothing(client: TestClient) -> None:
    ingest(client, [("a", "b")])
    cases = [
        ({"alias": "x"}, 422),
        ({"alias": "x", "service_id": "x"}, 422),
        ({"alias": "x", "service_id": "y", "pattern": "z", "replacement": "w"}, 422),
        ({"pattern": "(", "replacement": "a"}, 422),
        ({"pattern": "(.+)", "replacement": "\\2"}, 422),
        ({"alias": "not valid!", "service_id": "a"}, 422),
        ({"alias": "x", "service_id": "a", "discovery_source": "nope"}, 422),
        ({"alias": "x", "service_id": "a", "extra": 1}, 422),
    ]
    for body, status in cases:
        response = client.post(ALIASES, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    add_alias(client, alias="b2", service_id="b")
    for body in (
        {"alias": "b2", "service_id": "a"},  # one alias per name and source
        {"alias": "c", "service_id": "b2"},  # b2 is itself an alias: no chains
        {"alias": "b", "service_id": "a"},  # b is what b2 stands for: no chains
    ):
        response = client.post(ALIASES, json=body)
        assert response.status_code == 409, (body, response.text)
    missing = client.delete(f"{ALIASES}/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert client.delete(f"{ALIASES}/not-a-uuid").status_code == 400
    assert len(client.get(ALIASES).json()["items"]) == 1


def test_aliases_need_the_admin_scope(database_url: str) -> None:
    writer = make_key(database_url, "writer", Scope.READ, Scope.WRITE)
    app = create_app(settings_for(database_url))
    with TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {writer}"}
    ) as client:
        assert client.post(ALIASES, json={"alias": "a", "service_id": "b"}).status_code == 403
        assert client.get(ALIASES).status_code == 403


def test_the_change_log_records_the_merge_and_its_undoing(client: TestClient) -> None:
    ingest(client, [("web", "searchsvc")], source="jaeger")
    created = add_alias(client, alias="searchsvc", service_id="search")
    merged_at = created["merge"]["revision"]
    undone = delete_alias(client, created["alias"]["id"])
    entries = client.get("/api/v1/changes", params={"limit": 1000}).json()["items"]
    at_merge = {
        (e["type"], e["service_id"], e.get("target_id"))
        for e in entries
        if e["revision"] == merged_at
    }
    assert ("edge.retracted", "web", "searchsvc") in at_merge
    assert ("edge.reported", "web", "search") in at_merge
    assert ("service.deleted", "searchsvc", None) in at_merge
    at_undo = {
        (e["type"], e["service_id"], e.get("target_id"))
        for e in entries
        if e["revision"] == undone["revision"]
    }
    assert ("edge.retracted", "web", "search") in at_undo
    assert ("edge.reported", "web", "searchsvc") in at_undo
    assert ("service.created", "searchsvc", None) in at_undo


def test_a_cycle_both_names_keep_closing_stays_open_through_a_merge(client: TestClient) -> None:
    """A pair a merge rewrites in place (another report of the source moves in) is
    still in the graph: its cycle is not resolved."""
    ingest(
        client,
        [("checkout", "payment"), ("payment", "checkout")],
        source="jaeger",
        observed_at="2026-12-01T10:00:00Z",
    )
    ingest(
        client,
        [("checkoutservice", "payment")],
        source="jaeger",
        observed_at="2026-12-01T11:00:00Z",
    )
    merge = add_alias(client, alias="checkoutservice", service_id="checkout")["merge"]
    assert merge["edges_set_aside"] == 1
    assert merge["cycles_resolved"] == []
    alerts = client.get("/api/v1/circular-dependencies", params={"status": "open"}).json()
    assert [sorted(a["cycle_path"][:-1]) for a in alerts["items"]] == [["checkout", "payment"]]


def test_a_report_set_aside_does_not_come_back_after_its_pair_is_retracted(
    client: TestClient,
) -> None:
    ingest(client, [("cart", "redis")], source="manual", observed_at="2026-12-01T10:00:00Z")
    ingest(client, [("cartservice", "redis")], source="manual", observed_at="2026-12-01T11:00:00Z")
    assert add_alias(client, alias="cartservice", service_id="cart")["merge"]["edges_set_aside"]
    response = client.delete("/api/v1/services/cart/dependencies/redis")
    assert response.status_code == 200, response.text
    # An unrelated change of the aliases brings nothing back.
    unrelated = add_alias(client, alias="emailservice", service_id="email")["merge"]
    assert unrelated["edges_restored"] == 0
    assert whole_graph(client)[1] == {}


def test_rules_that_could_not_apply_or_would_chain_are_refused(client: TestClient) -> None:
    for body in (
        {"pattern": "(.+)x", "replacement": "\\q"},  # not a template
        {"pattern": "(.+)x", "replacement": "a\\"},  # a lone backslash
        {"pattern": "(?=x).*", "replacement": "a"},  # RE2 has no lookaround
        {"pattern": "(a)\\1", "replacement": "a"},  # nor backreferences
    ):
        response = client.post(ALIASES, json=body)
        assert response.status_code == 422, (body, response.text)
    add_alias(client, alias="checkoutservice", service_id="checkout")
    # A rule renaming what an exact alias stands for would chain: checkoutservice ->
    # checkout -> ... depends on order. Refused both ways round.
    chained = client.post(ALIASES, json={"pattern": "check(.+)", "replacement": "\\1"})
    assert chained.status_code == 409, chained.text
    add_alias(client, pattern="(.+)-v2", replacement="\\1")
    response = client.post(ALIASES, json={"alias": "pay", "service_id": "payment-v2"})
    assert response.status_code == 409, response.text
    assert "renamed to 'payment'" in response.json()["detail"]
