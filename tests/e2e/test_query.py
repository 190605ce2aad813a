"""GET /api/v1/services/{id}/dependencies: the contract's depth semantics on hand-made
graphs and on a real published topology."""

from __future__ import annotations

import itertools
import json

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import BOUTIQUE, INGEST, edge, edge_pairs, ingest, node_depths, query


def test_chain_depth_limits_nodes_and_edges(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")])
    answer = query(client, "a", depth=2)
    assert answer["service"]["service_id"] == "a"
    assert node_depths(answer) == {"b": 1, "c": 2}
    # Edges leave nodes closer than depth 2: a and b; c -> d is outside.
    assert edge_pairs(answer) == {("a", "b"), ("b", "c")}
    assert answer["statistics"] == {
        "total_nodes": 2,
        "total_edges": 2,
        "max_depth_reached": 2,
        "truncated": False,
        "unlisted_neighbours": {},
    }


def test_default_depth_is_three_and_direction_downstream(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("z", "a")])
    answer = query(client, "a")
    assert node_depths(answer) == {"b": 1, "c": 2, "d": 3}


def test_diamond_counts_each_node_once_at_its_shortest_distance(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d")])
    answer = query(client, "a", depth=2)
    assert node_depths(answer) == {"b": 1, "c": 1, "d": 1}
    assert edge_pairs(answer) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("a", "d")}


def test_cycle_through_the_root_keeps_the_closing_edge(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("b", "c"), ("c", "a")])
    answer = query(client, "a", depth=3)
    assert node_depths(answer) == {"b": 1, "c": 2}
    assert edge_pairs(answer) == {("a", "b"), ("b", "c"), ("c", "a")}
    # At depth 2, c is reached but its edge back to a leaves a node at distance 2: excluded.
    assert edge_pairs(query(client, "a", depth=2)) == {("a", "b"), ("b", "c")}


def test_self_dependency_is_kept(client: TestClient) -> None:
    ingest(client, [("a", "a"), ("a", "b")])
    answer = query(client, "a", depth=1)
    assert node_depths(answer) == {"b": 1}
    assert edge_pairs(answer) == {("a", "a"), ("a", "b")}


def test_upstream_walks_against_the_calls(client: TestClient) -> None:
    ingest(client, [("x", "a"), ("y", "x"), ("a", "b")])
    answer = query(client, "a", direction="upstream", depth=2)
    assert node_depths(answer) == {"x": 1, "y": 2}
    assert edge_pairs(answer) == {("x", "a"), ("y", "x")}


def test_both_is_the_union_not_an_undirected_walk(client: TestClient) -> None:
    # c calls b, which a also calls: c is neither downstream nor upstream of a.
    ingest(client, [("a", "b"), ("c", "b"), ("u", "a")])
    answer = query(client, "a", direction="both", depth=3)
    assert node_depths(answer) == {"b": 1, "u": 1}
    assert edge_pairs(answer) == {("a", "b"), ("u", "a")}


def test_both_reports_each_node_at_its_smaller_distance(client: TestClient) -> None:
    ingest(client, [("a", "b"), ("b", "c"), ("c", "a")])
    answer = query(client, "a", direction="both", depth=2)
    # c is 2 hops downstream and 1 hop upstream.
    assert node_depths(answer) == {"b": 1, "c": 1}
    assert edge_pairs(answer) == {("a", "b"), ("b", "c"), ("c", "a")}


def test_max_nodes_keeps_the_closest_and_marks_truncation(client: TestClient) -> None:
    ingest(client, [("r", "b"), ("r", "a"), ("r", "c"), ("a", "d"), ("d", "e")])
    answer = query(client, "r", depth=3, max_nodes=2)
    assert node_depths(answer) == {"a": 1, "b": 1}
    assert edge_pairs(answer) == {("r", "a"), ("r", "b")}
    assert answer["statistics"]["truncated"] is True
    # The frontier of the cut: r's c and a's d are in reach but not listed.
    assert answer["statistics"]["unlisted_neighbours"] == {"a": 1, "r": 1}
    # Both ways: callers cut count too, on the service they call.
    ingest(client, [("u1", "r"), ("u2", "r"), ("u3", "u1")])
    both = query(client, "r", direction="both", depth=2, max_nodes=4)
    assert node_depths(both) == {"a": 1, "b": 1, "c": 1, "u1": 1}
    assert both["statistics"]["unlisted_neighbours"] == {"a": 1, "r": 1, "u1": 1}


def test_layered_fan_out_of_six_answers_depth_ten(client: TestClient) -> None:
    layers = [[f"l{layer}-{i}" for i in range(6 if layer else 1)] for layer in range(11)]
    edges = [
        (caller, callee)
        for upper, lower in itertools.pairwise(layers)
        for caller in upper
        for callee in lower
    ]
    ingest(client, edges)
    answer = query(client, "l0-0", depth=10)
    assert answer["statistics"]["total_nodes"] == 60
    assert answer["statistics"]["total_edges"] == len(edges)
    assert answer["statistics"]["max_depth_reached"] == 10


def test_edges_from_several_sources_come_back_once_merged(client: TestClient) -> None:
    ingest(client, [edge("a", "b", criticality="soft", timeout_ms=300)], source="manual")
    ingest(
        client,
        [edge("a", "b", criticality="hard", request_rate=12.5, error_rate=0.01)],
        source="service_mesh",
    )
    (merged,) = query(client, "a")["edges"]
    assert merged["discovery_sources"] == ["manual", "service_mesh"]
    assert merged["attributes"]["criticality"] == "soft"  # declared wins over observed
    assert merged["attributes"]["timeout_ms"] == 300
    assert merged["attributes"]["request_rate"] == 12.5  # only the mesh measured it
    assert merged["confidence_score"] == pytest.approx(1 - (1 - 0.9) * (1 - 0.95))
    assert merged["is_stale"] is False


def test_unknown_service_is_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/services/ghost/dependencies")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    "params",
    [
        {"depth": 0},
        {"depth": 11},
        {"depth": "three"},
        {"direction": "sideways"},
        {"max_nodes": 0},
        {"include_stale": "maybe"},
    ],
)
def test_bad_query_parameters_are_400(client: TestClient, params: dict[str, object]) -> None:
    ingest(client, [("a", "b")])
    response = client.get("/api/v1/services/a/dependencies", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errors"][0]["pointer"].startswith("/query/")


def test_online_boutique_frontend(client: TestClient) -> None:
    document = json.loads(BOUTIQUE.read_text())
    response = client.post(INGEST, json=document)
    assert response.status_code == 200, response.text
    assert response.json()["circular_dependencies_detected"] == []

    answer = query(client, "frontend", depth=1)
    direct = {e["target"] for e in document["edges"] if e["source"] == "frontend"}
    assert set(node_depths(answer)) == direct

    everything = query(client, "frontend", depth=10)
    reachable = {e["target"] for e in document["edges"]} - {"frontend"}
    assert set(node_depths(everything)) == reachable
    assert "loadgenerator" not in node_depths(everything)

    callers = query(client, "productcatalogservice", direction="upstream", depth=10)
    assert set(node_depths(callers)) >= {"frontend", "checkoutservice", "loadgenerator"}
    for node in answer["nodes"]:
        assert node["team"] is not None


def test_answers_follow_writes_made_after_a_query(client: TestClient) -> None:
    ingest(client, [edge("a", "b", timeout_ms=100)])
    first = query(client, "a")
    assert first["edges"][0]["attributes"]["timeout_ms"] == 100
    assert first["nodes"][0]["team"] is None
    ingest(
        client,
        [edge("a", "b", timeout_ms=200), edge("b", "c")],
        nodes=[{"service_id": "b", "team": "core"}],
    )
    second = query(client, "a")
    assert second["edges"][0]["attributes"]["timeout_ms"] == 200
    assert second["nodes"][0]["team"] == "core"
    assert node_depths(second) == {"b": 1, "c": 2}
    ingest(client, [edge("a", "b", protocol="grpc")], source="jaeger")
    (merged, _) = query(client, "a")["edges"]
    assert merged["discovery_sources"] == ["manual", "jaeger"]
