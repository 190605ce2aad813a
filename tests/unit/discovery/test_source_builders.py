"""The pure part of each source: query answers in, the ingest request out."""

from __future__ import annotations

from typing import Any

import pytest

from slo_engine.discovery.prometheus import Sample, parse_vector
from slo_engine.discovery.sources.backstage import build_backstage_graph
from slo_engine.discovery.sources.jaeger import build_jaeger_graph
from slo_engine.discovery.sources.mesh import build_mesh_graph
from slo_engine.discovery.sources.otel import build_otel_graph
from slo_engine.errors import SourceError


def edges_of(discovered: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["source"], e["target"]): e.get("attributes", {}) for e in discovered.request.edges}


def kinds_of(discovered: Any) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(source_kind, target_kind) of each edge, as the source reported them."""
    return {
        (e["source"], e["target"]): (e.get("source_kind"), e.get("target_kind"))
        for e in discovered.request.edges
    }


def s(value: float, **labels: str) -> Sample:
    return Sample(labels, value)


def test_otel_maps_connection_types_and_figures() -> None:
    requests = [
        s(900, client="frontend", server="checkout"),
        s(450, client="checkout", server="orders-queue", connection_type="messaging_system"),
        s(90, client="checkout", server="postgres", connection_type="database"),
        s(9, client="user", server="frontend", connection_type="virtual_node"),
    ]
    failed = [s(90, client="frontend", server="checkout")]
    server_p95 = [s(0.175, client="frontend", server="checkout")]
    client_p95 = [
        s(0.2, client="frontend", server="checkout"),
        s(0.01, client="checkout", server="postgres", connection_type="database"),
    ]
    found = build_otel_graph(requests, failed, server_p95, client_p95, [], 900)

    edges = edges_of(found)
    assert edges[("frontend", "checkout")] == {
        "communication_mode": "sync",
        "request_rate": 1.0,
        "error_rate": 0.1,
        "latency_p95_ms": 175.0,
    }
    assert edges[("checkout", "orders-queue")]["communication_mode"] == "async"
    assert edges[("checkout", "orders-queue")]["protocol"] == "messaging_system"
    assert edges[("checkout", "postgres")]["protocol"] == "database"
    assert edges[("checkout", "postgres")]["latency_p95_ms"] == 10.0  # client view as fallback
    assert edges[("user", "frontend")]["protocol"] == "virtual_node"
    assert found.request.source == "otel_service_graph"
    assert found.request.nodes == []  # observations never declare services


def test_otel_presence_gauge_alone_makes_an_edge_without_figures() -> None:
    found = build_otel_graph([], [], [], [], [s(1, client="a", server="b")], 900)
    assert edges_of(found) == {("a", "b"): {"communication_mode": "sync"}}


def test_otel_names_that_cannot_be_service_ids_are_cleaned_or_skipped() -> None:
    found = build_otel_graph([s(10, client="My App", server="///")], [], [], [], [], 60)
    assert edges_of(found) == {}
    assert found.warnings and "skipped" in found.warnings[0]


def test_mesh_prefers_destination_reports_and_names_by_workload_and_namespace() -> None:
    labels = {
        "source_workload": "productpage-v1",
        "source_workload_namespace": "bookinfo",
        "destination_workload": "reviews-v2",
        "destination_workload_namespace": "bookinfo",
        "destination_service_name": "reviews",
        "destination_service_namespace": "bookinfo",
    }
    requests = [s(600, reporter="destination", **labels), s(650, reporter="source", **labels)]
    errors = [s(60, reporter="destination", **labels)]
    latency = [s(42.5, reporter="destination", **labels)]
    outside = {**labels, "source_workload": "unknown"}
    found = build_mesh_graph(
        [*requests, s(5, reporter="destination", **outside)], errors, latency, 600
    )

    assert edges_of(found) == {
        ("productpage-v1.bookinfo", "reviews-v2.bookinfo"): {
            "communication_mode": "sync",
            "request_rate": 1.0,
            "error_rate": 0.1,
            "latency_p95_ms": 42.5,
        }
    }
    assert any("outside the mesh" in w for w in found.warnings)


def test_mesh_destination_outside_the_mesh_is_named_by_its_service() -> None:
    labels = {
        "source_workload": "ratings",
        "source_workload_namespace": "default",
        "destination_workload": "unknown",
        "destination_service_name": "api.stripe.com",
    }
    found = build_mesh_graph([s(60, reporter="source", **labels)], [], [], 60)
    assert list(edges_of(found)) == [("ratings", "api.stripe.com")]
    # Outside the mesh: an external node (docs/identity.md).
    assert kinds_of(found) == {("ratings", "api.stripe.com"): (None, "external")}


def test_otel_says_what_each_end_is() -> None:
    requests = [
        s(9, client="frontend", server="checkout"),
        s(9, client="checkout", server="orders-queue", connection_type="messaging_system"),
        s(9, client="checkout", server="postgres", connection_type="database"),
        s(9, client="user", server="frontend", connection_type="virtual_node"),
        s(9, client="checkout", server="maps-api", connection_type="virtual_node"),
    ]
    found = build_otel_graph(requests, [], [], [], [], 900)
    assert kinds_of(found) == {
        ("frontend", "checkout"): (None, None),
        ("checkout", "orders-queue"): (None, "messaging"),
        ("checkout", "postgres"): (None, "database"),
        ("user", "frontend"): ("virtual", None),
        ("checkout", "maps-api"): (None, "external"),
    }


@pytest.mark.parametrize("key", ["data", "dependencies"])
def test_jaeger_reads_both_api_shapes(key: str) -> None:
    answer = {
        key: [
            {"parent": "a", "child": "b", "callCount": 120},
            {"parent": "b", "child": "c", "callCount": 0},
        ]
    }
    found = build_jaeger_graph(answer, 60)
    assert edges_of(found) == {("a", "b"): {"communication_mode": "sync", "request_rate": 2.0}}


@pytest.mark.parametrize(
    "answer",
    [{"data": None, "errors": ["boom"]}, {"nothing": []}, [1, 2], {"data": [{"parent": "a"}]}],
)
def test_jaeger_malformed_answers_fail(answer: Any) -> None:
    with pytest.raises(SourceError):
        build_jaeger_graph(answer, 60)


def test_backstage_components_resources_and_refs() -> None:
    entities = [
        {
            "kind": "Component",
            "metadata": {"name": "artist-web", "title": "Artist Web", "tags": ["java"]},
            "spec": {
                "type": "website",
                "lifecycle": "production",
                "owner": "group:default/artists",
                "dependsOn": ["component:default/artist-lookup", "resource:artists-db", "Search"],
            },
        },
        {
            "kind": "Component",
            "metadata": {"name": "billing", "namespace": "payments"},
            "spec": {"owner": "payments-team", "dependsOn": ["component:payments/ledger", 42]},
        },
        {
            "kind": "Resource",
            "metadata": {"name": "artists-db"},
            "spec": {"type": "database", "owner": "team-a"},
        },
        {"kind": "System", "metadata": {"name": "portal"}, "spec": {}},
        {"kind": "API", "metadata": {"name": "artist-api"}, "spec": {}},
    ]
    found = build_backstage_graph(entities)
    nodes = {n["service_id"]: n for n in found.request.nodes}
    assert set(nodes) == {"artist-web", "payments.billing", "artists-db"}
    assert nodes["artist-web"]["team"] == "artists"
    assert nodes["artist-web"]["display_name"] == "Artist Web"
    metadata = nodes["artist-web"].get("metadata")
    assert metadata is not None
    assert metadata["backstage"] == {
        "kind": "component",
        "entity_ref": "component:default/artist-web",
        "lifecycle": "production",
        "type": "website",
        "tags": ["java"],
    }
    assert nodes["payments.billing"]["team"] == "payments-team"
    # Components are services; a Resource of type database a database node.
    assert {k: n.get("kind") for k, n in nodes.items()} == {
        "artist-web": "service",
        "payments.billing": "service",
        "artists-db": "database",
    }
    billing = nodes["payments.billing"].get("metadata") or {}
    assert billing["backstage"]["entity_ref"] == "component:payments/billing"
    assert set(edges_of(found)) == {
        ("artist-web", "artist-lookup"),
        ("artist-web", "artists-db"),
        ("artist-web", "search"),
        ("payments.billing", "payments.ledger"),
    }
    assert any("42" in w for w in found.warnings)
    assert found.request.source == "backstage"
    # A full sync of exactly the services read: their outgoing edges, nobody else's.
    assert found.request.mode == "replace"
    assert found.request.scope is not None
    assert found.request.scope.services == ["artist-web", "artists-db", "payments.billing"]


def test_backstage_entities_it_cannot_read_are_out_of_the_sync_scope() -> None:
    entities: list[dict[str, Any]] = [
        {"kind": "Component", "metadata": {"name": "web"}, "spec": {"dependsOn": ["api"]}},
        # A string would otherwise be read character by character.
        {"kind": "Component", "metadata": {"name": "api"}, "spec": {"dependsOn": "db"}},
        {"kind": "Component", "metadata": "not a mapping", "spec": {}},
        {"kind": "Resource", "metadata": {"name": "///"}, "spec": {}},
        {"kind": "Resource", "metadata": {"name": "db"}},  # no spec: no dependencies
        {"kind": "API", "metadata": {"name": "web-api"}, "spec": {"dependsOn": ["db"]}},
    ]
    found = build_backstage_graph(entities)
    assert found.request.scope is not None
    assert found.request.scope.services == ["db", "web"]
    assert [n["service_id"] for n in found.request.nodes] == ["db", "web"]
    assert set(edges_of(found)) == {("web", "api")}
    assert any("api" in w and "dependsOn is not a list" in w for w in found.warnings)
    assert len(found.warnings) == 3


@pytest.mark.parametrize(
    "entities",
    [
        [],
        [{"kind": "System", "metadata": {"name": "portal"}, "spec": {}}],
        [{"kind": "Component", "metadata": {"name": "///"}, "spec": {"dependsOn": ["a"]}}],
    ],
)
def test_backstage_run_that_read_no_component_fails_rather_than_sync_everything(
    entities: list[dict[str, Any]],
) -> None:
    # Without a scope, a replace would retract every edge Backstage declared.
    with pytest.raises(SourceError, match="no usable Component or Resource"):
        build_backstage_graph(entities)


@pytest.mark.parametrize(
    "answer",
    [
        {"status": "error", "error": "bad query"},
        {
            "status": "success",
            "warnings": ["partial"],
            "data": {"resultType": "vector", "result": []},
        },
        {"status": "success", "data": {"resultType": "matrix", "result": []}},
        {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}},
        "garbage",
    ],
)
def test_prometheus_answers_that_are_not_complete_vectors_fail(answer: Any) -> None:
    with pytest.raises(SourceError):
        parse_vector(answer, "q")
