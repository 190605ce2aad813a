"""GET /api/v1/graph/overview end to end, on every engine: Online Boutique grouped,
expanded and filtered; the grouping keys the sources record; a generated 2,000-service
graph checked against counts made here from the generator's own lists; the graph reads'
revision, ETag and access rules; and bad parameters refused with RFC 9457 problems."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from bench.run import generate_microservices
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import BOUTIQUE, edge, ingest, make_key, settings_for

OVERVIEW = "/api/v1/graph/overview"
PROBLEM = "application/problem+json"
NO_TEAM = "(no team)"


def overview(client: TestClient, *params: tuple[str, Any], **named: Any) -> dict[str, Any]:
    response = client.get(OVERVIEW, params=[*params, *named.items()])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    answer: dict[str, Any] = response.json()
    assert response.headers["x-graph-revision"] == str(answer["revision"])
    return answer


def boutique(client: TestClient) -> dict[str, Any]:
    document = json.loads(BOUTIQUE.read_text())
    return ingest(client, document["edges"], nodes=document["nodes"])


def groups(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["id"]: group for group in answer["groups"]}


def edge_counts(answer: dict[str, Any]) -> dict[tuple[Any, ...], int]:
    return {
        (e["source_group"], e["target_group"], e["source"], e["target"]): e["edges"]
        for e in answer["edges"]
    }


def test_online_boutique_by_team_then_expanded(client: TestClient) -> None:
    document = json.loads(BOUTIQUE.read_text())
    written = boutique(client)
    team_of = {node["service_id"]: node.get("team") or NO_TEAM for node in document["nodes"]}
    pairs = [(e["source"], e["target"]) for e in document["edges"]]

    answer = overview(client)
    assert answer["revision"] == written["revision"]
    assert answer["group_by"] == "team"
    assert answer["totals"] == {
        "services": len(team_of),
        "edges": len(pairs),
        "groups": len(set(team_of.values())),
    }
    assert answer["truncated"] == {"groups": False, "members": False}
    assert answer["nodes"] == []
    by_team = groups(answer)
    assert {g: by_team[g]["services"] for g in by_team} == dict(Counter(team_of.values()))
    inside = Counter(team_of[s] for s, t in pairs if team_of[s] == team_of[t])
    assert {g: by_team[g]["internal_edges"] for g in by_team if inside[g]} == dict(inside)
    between = Counter(
        (team_of[s], team_of[t], None, None) for s, t in pairs if team_of[s] != team_of[t]
    )
    assert edge_counts(answer) == dict(between)

    # Expanding checkout draws its services; the edges from and to them go per service.
    expanded = overview(client, ("expand", "checkout"))
    members = {n["service_id"] for n in expanded["nodes"]}
    assert members == {s for s, team in team_of.items() if team == "checkout"}
    assert all(n["group"] == "checkout" for n in expanded["nodes"])
    assert groups(expanded)["checkout"]["expanded"]
    assert groups(expanded)["checkout"]["members_shown"] == len(members)

    def end(service: str) -> str | None:
        return service if service in members else None

    drawn = Counter(
        (team_of[s], team_of[t], end(s), end(t))
        for s, t in pairs
        if team_of[s] != team_of[t] or s in members
    )
    assert edge_counts(expanded) == dict(drawn)
    # Collapsing is asking again without it.
    assert overview(client) == answer


def test_filters_apply_before_grouping(client: TestClient) -> None:
    boutique(client)
    traffic = [
        edge("cartservice", "redis-cart", request_rate=30.0, error_rate=0.001),
        edge("cartservice", "cart-cache", request_rate=12.0, error_rate=0.02),
        edge("frontend", "cartservice", request_rate=25.0, error_rate=0.01),
    ]
    ingest(
        client,
        traffic,
        source="otel_service_graph",
        nodes=[{"service_id": "cart-cache", "kind": "database"}],
    )
    plain = overview(client, group_by="kind")
    assert groups(plain)["database"]["services"] == 1
    services_only = overview(client, group_by="kind", kind="service")
    assert set(groups(services_only)) == {"service"}
    assert services_only["totals"]["services"] == plain["totals"]["services"] - 1

    traced = overview(client, discovery_source="otel_service_graph", group_by="team")
    assert traced["totals"]["edges"] == 3
    # cart-cache is declared by the node entry (no team), not discovered from an edge.
    assert overview(client, discovered="true")["totals"]["services"] == 0

    # cartservice: 30 + 12 out, 25 in (67 req/s); redis-cart 30, frontend 25, cart-cache
    # 12; every other service has no figures and counts as 0.
    busy = overview(client, ("expand", "checkout"), min_request_rate="26")
    assert busy["totals"]["services"] == 2
    assert {n["service_id"]: n["request_rate"] for n in busy["nodes"]} == {
        "cartservice": 67.0,
        "redis-cart": 30.0,
    }
    checkout = overview(client, team="checkout", exclude="redis-*")
    assert {g["id"] for g in checkout["groups"]} == {"checkout"}
    assert checkout["totals"]["services"] == 2

    heavy = [e for e in plain["edges"] if e["request_rate"] is not None]
    assert heavy, "the traffic's figures are summed on the group edges"
    storefront_to_checkout = edge_counts(overview(client))[("storefront", "checkout", None, None)]
    assert storefront_to_checkout >= 1


def test_namespace_and_system_groups(client: TestClient) -> None:
    # As the Backstage source records a system, and as the mesh names workloads.
    ingest(
        client,
        [("web", "api"), ("api", "reviews.bookinfo")],
        nodes=[
            {"service_id": "web", "metadata": {"backstage": {"system": "system:default/shop"}}},
            {"service_id": "api", "metadata": {"backstage": {"system": "shop"}}},
        ],
    )
    ingest(
        client,
        [("reviews.bookinfo", "ratings.bookinfo"), ("productpage.bookinfo", "reviews.bookinfo")],
        source="service_mesh",
    )
    by_namespace = overview(client, group_by="namespace")
    assert {g["id"]: g["services"] for g in by_namespace["groups"]} == {
        "bookinfo": 3,
        "default": 2,
    }
    assert edge_counts(by_namespace) == {("default", "bookinfo", None, None): 1}
    assert groups(by_namespace)["bookinfo"]["internal_edges"] == 2
    by_system = overview(client, group_by="system")
    assert {g["id"]: g["services"] for g in by_system["groups"]} == {
        "(no system)": 3,
        "shop": 2,
    }


def test_cycles_mark_their_groups(client: TestClient) -> None:
    boutique(client)
    assert not any(g["in_cycle"] for g in overview(client)["groups"])
    ingest(client, [("paymentservice", "frontend")], source="otel_service_graph")
    marked = groups(overview(client))
    assert marked["payments"]["in_cycle"] and marked["storefront"]["in_cycle"]
    assert not marked["ads"]["in_cycle"]


def test_revision_etag_and_access(client: TestClient, database_url: str) -> None:
    written = boutique(client)
    first = client.get(OVERVIEW, params={"expand": "checkout"})
    etag = first.headers["etag"]
    again = client.get(OVERVIEW, params={"expand": "checkout"}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert overview(client, min_revision=written["revision"])["revision"] == written["revision"]
    # Another question is another tag.
    assert client.get(OVERVIEW).headers["etag"] != etag
    unauthenticated = client.get(OVERVIEW, headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    writer = make_key(database_url, "writer-only", Scope.WRITE)
    forbidden = client.get(OVERVIEW, headers={"Authorization": f"Bearer {writer}"})
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == PROBLEM


BAD_PARAMETERS = [
    ({"group_by": "owner"}, "/query/group_by"),
    ({"expand": "a\x00b"}, "/query/expand/0"),
    ({"expand": ""}, "/query/expand/0"),
    ([("expand", f"g{i}") for i in range(51)], "/query/expand"),
    ({"min_request_rate": "-1"}, "/query/min_request_rate"),
    ({"min_request_rate": "nan"}, "/query/min_request_rate"),
    ({"min_request_rate": "inf"}, "/query/min_request_rate"),
    ({"min_request_rate": "1e13"}, "/query/min_request_rate"),
    ({"max_groups": "0"}, "/query/max_groups"),
    ({"max_groups": "501"}, "/query/max_groups"),
    ({"max_members": "2001"}, "/query/max_members"),
    ({"discovered": "maybe"}, "/query/discovered"),
    ({"include_stale": "yes please"}, "/query/include_stale"),
    ({"kind": "service,robot"}, "/query/kind"),
    ({"team": ","}, "/query/team"),
    ({"criticality": "urgent"}, "/query/criticality"),
    ({"discovery_source": "carrier-pigeon"}, "/query/discovery_source"),
    ({"exclude": "a b"}, "/query/exclude"),
    ({"exclude": ",".join(f"x{i}" for i in range(51))}, "/query/exclude"),
    ({"min_revision": "999999"}, "/query/min_revision"),
]


@pytest.mark.parametrize(("params", "pointer"), BAD_PARAMETERS, ids=[p for _, p in BAD_PARAMETERS])
def test_bad_parameters_are_400_problems(client: TestClient, params: Any, pointer: str) -> None:
    response = client.get(OVERVIEW, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 400
    assert pointer in [error["pointer"] for error in problem["errors"]], problem


def test_as_of_before_the_history_is_410(client: TestClient) -> None:
    boutique(client)
    response = client.get(OVERVIEW, params={"as_of": "2001-01-01T00:00:00Z"})
    assert response.status_code == 410, response.text
    assert response.headers["content-type"] == PROBLEM


# ------------------------------------------------------------------ 2,000 services


@pytest.fixture
def large_client(database_url: str, admin_key: str) -> Iterator[TestClient]:
    """A client of an app that takes the generated graph in one ingestion."""
    app = create_app(settings_for(database_url, max_request_body_bytes=16 * 1024 * 1024))
    with TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}
    ) as test_client:
        yield test_client


def test_a_generated_graph_of_2000_services(large_client: TestClient) -> None:
    graph = generate_microservices(2000, seed=17)
    ingest(
        large_client,
        [edge(s, t, **a) for (s, t), a in zip(graph.edges, graph.attributes, strict=True)],
        nodes=graph.nodes,
    )
    team_of = dict.fromkeys(graph.service_ids, NO_TEAM)
    team_of.update({node["service_id"]: node["team"] for node in graph.nodes})
    rate_of = dict(zip(graph.edges, (a["request_rate"] for a in graph.attributes), strict=True))

    answer = overview(large_client)
    assert answer["totals"] == {
        "services": 2000,
        "edges": len(graph.edges),
        "groups": len(set(team_of.values())),
    }
    assert {g["id"]: g["services"] for g in answer["groups"]} == dict(Counter(team_of.values()))
    assert [g["services"] for g in answer["groups"]] == sorted(
        (g["services"] for g in answer["groups"]), reverse=True
    )
    inside = Counter(team_of[s] for s, t in graph.edges if team_of[s] == team_of[t])
    assert {g["id"]: g["internal_edges"] for g in answer["groups"]} == {
        team: inside[team] for team in set(team_of.values())
    }
    between: Counter[tuple[str, str]] = Counter()
    rates: Counter[tuple[str, str]] = Counter()
    for s, t in graph.edges:
        if team_of[s] != team_of[t]:
            between[(team_of[s], team_of[t])] += 1
            rates[(team_of[s], team_of[t])] += rate_of[(s, t)]
    assert {(e["source_group"], e["target_group"]): e["edges"] for e in answer["edges"]} == dict(
        between
    )
    for found in answer["edges"]:
        key = (found["source_group"], found["target_group"])
        assert found["request_rate"] == pytest.approx(rates[key])

    # The undeclared majority expanded, with a budget smaller than it: the most connected
    # first, the rest folded into the group, and every edge still counted once.
    degree = Counter(end for pair in graph.edges for end in pair)
    budget = 300
    expanded = overview(large_client, ("expand", NO_TEAM), ("max_members", budget))
    assert expanded["truncated"] == {"groups": False, "members": True}
    drawn = [n["service_id"] for n in expanded["nodes"]]
    assert len(drawn) == budget
    unexpanded = [sid for sid, team in team_of.items() if team == NO_TEAM]
    ranked = sorted(unexpanded, key=lambda sid: (-degree[sid], sid))
    assert drawn == ranked[:budget]
    folded_inside = groups(expanded)[NO_TEAM]["internal_edges"]
    assert sum(e["edges"] for e in expanded["edges"]) + sum(
        g["internal_edges"] for g in expanded["groups"] if g["id"] != NO_TEAM
    ) + sum(
        1
        for s, t in graph.edges
        if team_of[s] == team_of[t] == NO_TEAM and s not in drawn and t not in drawn
    ) == len(graph.edges)
    assert folded_inside == inside[NO_TEAM]

    # Two teams expanded in full: their services, and their edges per service.
    chosen = [answer["groups"][1]["id"], answer["groups"][2]["id"]]
    both = overview(large_client, *[("expand", team) for team in chosen])
    members = {sid for sid, team in team_of.items() if team in chosen}
    assert {n["service_id"] for n in both["nodes"]} == members
    per_service = Counter(
        (s if s in members else None, t if t in members else None)
        for s, t in graph.edges
        if s in members or t in members
    )
    service_edges = {
        (e["source"], e["target"]): e["edges"]
        for e in both["edges"]
        if e["source"] is not None and e["target"] is not None
    }
    assert service_edges == {pair: count for pair, count in per_service.items() if None not in pair}
    assert max_groups_cut(large_client) == 5


def max_groups_cut(client: TestClient) -> int:
    cut = overview(client, max_groups=5)
    assert cut["truncated"]["groups"]
    assert cut["totals"]["groups"] > 5
    shown = {g["id"] for g in cut["groups"]}
    assert all({e["source_group"], e["target_group"]} <= shown for e in cut["edges"])
    return len(cut["groups"])
