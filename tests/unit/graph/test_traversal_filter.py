"""Traversal filters: a filtered walk answers exactly as an unfiltered walk of the graph
with the filtered-out nodes and edges removed (the root kept), in every direction, at
every depth and bound; and the filter's rules on a snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.impact import blast_radius
from slo_engine.graph.model import (
    DependencyReport,
    Direction,
    DiscoverySource,
    NodeKind,
    Service,
    ServiceCriticality,
)
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.graph.traversal import subgraph
from slo_engine.graph.traversal_filter import TraversalFilter

NODES = [f"n{i}" for i in range(8)]
edges_strategy = st.sets(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES)), max_size=24)


def adjacency(edges: set[tuple[str, str]]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    down: dict[str, list[str]] = {}
    up: dict[str, list[str]] = {}
    for source, target in sorted(edges):
        down.setdefault(source, []).append(target)
        up.setdefault(target, []).append(source)
    return down, up


@settings(max_examples=300, deadline=None)
@given(
    edges=edges_strategy,
    blocked_nodes=st.sets(st.sampled_from(NODES)),
    blocked_edges=st.sets(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES))),
    direction=st.sampled_from(list(Direction)),
    depth=st.integers(1, 5),
    max_nodes=st.integers(1, 8),
)
def test_a_filtered_walk_is_a_walk_of_the_filtered_graph(
    edges: set[tuple[str, str]],
    blocked_nodes: set[str],
    blocked_edges: set[tuple[str, str]],
    direction: Direction,
    depth: int,
    max_nodes: int,
) -> None:
    root = "n0"
    blocked = blocked_nodes - {root}

    def crosses(caller: str, callee: str) -> bool:
        return (
            caller not in blocked
            and callee not in blocked
            and (caller, callee) not in blocked_edges
        )

    down, up = adjacency(edges)
    filtered = subgraph(down, up, root, direction, depth, max_nodes, crosses)
    kept = {e for e in edges if crosses(*e)}
    pruned_down, pruned_up = adjacency(kept)
    assert filtered == subgraph(pruned_down, pruned_up, root, direction, depth, max_nodes)


@settings(max_examples=300, deadline=None)
@given(
    edges=edges_strategy,
    soft=st.sets(st.tuples(st.sampled_from(NODES), st.sampled_from(NODES))),
    blocked_nodes=st.sets(st.sampled_from(NODES)),
    depth=st.integers(1, 5),
)
def test_a_filtered_blast_radius_is_the_blast_radius_of_the_filtered_graph(
    edges: set[tuple[str, str]], soft: set[tuple[str, str]], blocked_nodes: set[str], depth: int
) -> None:
    failed = "n0"
    blocked = blocked_nodes - {failed}

    def crosses(caller: str, callee: str) -> bool:
        return caller not in blocked and callee not in blocked

    def blocks(caller: str, callee: str) -> bool:
        return (caller, callee) not in soft

    _, up = adjacency(edges)
    _, pruned_up = adjacency({e for e in edges if crosses(*e)})
    assert blast_radius(up, failed, depth, blocks, crosses) == blast_radius(
        pruned_up, failed, depth, blocks
    )


def test_the_filter_on_a_snapshot() -> None:
    now = datetime(2026, 12, 4, tzinfo=UTC)
    services = [
        Service("api", team="web"),
        Service("orders-db", team="orders", kind=NodeKind.DATABASE),
        Service("legacy-billing", team="billing", criticality=ServiceCriticality.LOW),
        Service("payments", team="billing", criticality=ServiceCriticality.CRITICAL),
    ]
    reports = [
        DependencyReport("api", "orders-db", DiscoverySource.OTEL_SERVICE_GRAPH, now),
        DependencyReport("api", "legacy-billing", DiscoverySource.MANUAL, now),
        DependencyReport("api", "payments", DiscoverySource.BACKSTAGE, now),
    ]
    snapshot = GraphSnapshot.build(1, services, reports)

    def reached(wanted: TraversalFilter) -> set[str]:
        crosses = wanted.crossing(snapshot, False, "api")
        return {
            t
            for s, t in (("api", "orders-db"), ("api", "legacy-billing"), ("api", "payments"))
            if crosses(s, t)
        }

    assert reached(TraversalFilter()) == {"orders-db", "legacy-billing", "payments"}
    assert reached(TraversalFilter(kinds=frozenset({NodeKind.SERVICE}))) == {
        "legacy-billing",
        "payments",
    }
    assert reached(TraversalFilter(teams=frozenset({"billing"}))) == {"legacy-billing", "payments"}
    assert reached(TraversalFilter(exclude=("legacy-*",))) == {"orders-db", "payments"}
    assert reached(TraversalFilter(criticalities=frozenset({ServiceCriticality.CRITICAL}))) == {
        "payments"
    }
    declared = frozenset({DiscoverySource.MANUAL, DiscoverySource.BACKSTAGE})
    assert reached(TraversalFilter(sources=declared)) == {"legacy-billing", "payments"}
    # The root passes whatever the filter: a database-only walk from a service starts.
    only_databases = TraversalFilter(kinds=frozenset({NodeKind.DATABASE}))
    assert reached(only_databases) == {"orders-db"}
