"""Traversal filters: a filtered walk answers exactly as an unfiltered walk of the graph
with the filtered-out nodes and edges removed (the root kept), in every direction, at
every depth and bound; and the filter's rules on a snapshot, `discovered` and
`min_request_rate` included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph import traversal_filter
from slo_engine.graph.impact import blast_radius
from slo_engine.graph.merge import merge_reports
from slo_engine.graph.model import (
    DependencyReport,
    Direction,
    DiscoverySource,
    NodeKind,
    Service,
    ServiceCriticality,
)
from slo_engine.graph.request_rates import request_rate_of
from slo_engine.graph.snapshot import GraphSnapshot, reports_of
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


# ------------------------------------------------------------------ discovered, request rates

AT = datetime(2026, 12, 4, tzinfo=UTC)


def jaeger(source: str, target: str, rate: float | None, stale: bool = False) -> DependencyReport:
    return DependencyReport(
        source, target, DiscoverySource.JAEGER, AT, request_rate=rate, is_stale=stale
    )


def traffic_graph() -> GraphSnapshot:
    """api → a → b, api → c → d → g, api → e; discovered: api, b, c. Request rates in
    and out: api 5, a 6, b 1, c none, d 20, e none, g 20."""
    declared = {"a", "d", "e", "g"}
    ids = ["api", "a", "b", "c", "d", "e", "g"]
    services = [Service(sid, discovered=sid not in declared) for sid in ids]
    reports = [
        jaeger("api", "a", 5.0),
        jaeger("a", "b", 1.0),
        jaeger("api", "c", None),
        jaeger("c", "d", None),
        jaeger("d", "g", 20.0),
        jaeger("api", "e", None),
    ]
    return GraphSnapshot.build(1, services, reports)


def walk(
    snapshot: GraphSnapshot,
    wanted: TraversalFilter,
    root: str = "api",
    direction: Direction = Direction.DOWNSTREAM,
) -> dict[str, int]:
    down, up = snapshot.adjacency(False)
    crosses = wanted.crossing(snapshot, False, root)
    return subgraph(down, up, root, direction, 5, 100, crosses).depths


def test_the_request_rates_of_a_snapshot() -> None:
    snapshot = traffic_graph()
    rates = {sid: request_rate_of(snapshot, sid, False) for sid in snapshot.services}
    assert rates == {
        "api": 5.0,
        "a": 6.0,
        "b": 1.0,
        "c": None,
        "d": 20.0,
        "e": None,
        "g": 20.0,
    }


def test_only_discovered_or_only_declared_services() -> None:
    snapshot = traffic_graph()
    assert walk(snapshot, TraversalFilter()) == {"a": 1, "c": 1, "e": 1, "b": 2, "d": 2, "g": 3}
    # The root is discovered, and still passes; d and g are declared, but lie only
    # behind the discovered c.
    assert walk(snapshot, TraversalFilter(discovered=False)) == {"a": 1, "e": 1}
    # b is discovered, but lies only behind the declared a.
    assert walk(snapshot, TraversalFilter(discovered=True)) == {"c": 1}
    # Upstream too: who calls g through declared services only.
    assert walk(snapshot, TraversalFilter(discovered=False), "g", Direction.UPSTREAM) == {"d": 1}


def test_min_request_rate() -> None:
    snapshot = traffic_graph()
    # The root (5 req/s) is never filtered out; a has exactly 6 and stays; b has 1.
    assert walk(snapshot, TraversalFilter(min_request_rate=6.0)) == {"a": 1}
    # c has no figure: it counts as 0, so d and g (20 req/s) behind it are not reached;
    # nor is e, which has no figure either.
    assert walk(snapshot, TraversalFilter(min_request_rate=0.5)) == {"a": 1, "b": 2}
    assert walk(snapshot, TraversalFilter(min_request_rate=21.0)) == {}
    # Upstream from b (1 req/s, the root): a (6) is crossed, api (5) is not.
    assert walk(snapshot, TraversalFilter(min_request_rate=6.0), "b", Direction.UPSTREAM) == {
        "a": 1
    }
    # With the other filters: all must agree.
    both = TraversalFilter(min_request_rate=0.5, discovered=False)
    assert walk(snapshot, both) == {"a": 1}


def test_the_request_rate_counts_only_the_edges_include_stale_allows() -> None:
    services = [Service(sid) for sid in ("api", "a", "b")]
    reports = [jaeger("api", "a", 1.0), jaeger("b", "a", 9.0, stale=True)]
    snapshot = GraphSnapshot.build(1, services, reports)
    busy = TraversalFilter(min_request_rate=5.0)
    assert busy.crossing(snapshot, False, "api")("api", "a") is False  # 1 req/s fresh
    assert busy.crossing(snapshot, True, "api")("api", "a") is True  # 1 + 9 with stale


def test_each_node_is_judged_once_per_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = traffic_graph()
    asked: list[str] = []

    def counted(snapshot: GraphSnapshot, service_id: str, include_stale: bool) -> float | None:
        asked.append(service_id)
        return request_rate_of(snapshot, service_id, include_stale)

    monkeypatch.setattr(traversal_filter, "request_rate_of", counted)
    crosses = TraversalFilter(min_request_rate=0.5).crossing(snapshot, False, "api")
    for _ in range(3):
        for pair in snapshot.pairs:
            crosses(*pair)
    assert sorted(asked) == sorted(set(snapshot.services) - {"api"})
    # Without a minimum, no rate is computed at all.
    asked.clear()
    crosses = TraversalFilter(discovered=True).crossing(snapshot, False, "api")
    for pair in snapshot.pairs:
        crosses(*pair)
    assert asked == []


RATES = [None, 0.5, 1.0, 2.0]  # exactly representable: sums do not depend on order


@st.composite
def traffic_snapshots(draw: st.DrawFn) -> GraphSnapshot:
    services = [Service(sid, discovered=draw(st.booleans())) for sid in NODES]
    keys = draw(
        st.sets(
            st.tuples(
                st.sampled_from(NODES),
                st.sampled_from(NODES),
                st.sampled_from([DiscoverySource.JAEGER, DiscoverySource.OTEL_SERVICE_GRAPH]),
            ),
            max_size=24,
        )
    )
    reports = [
        DependencyReport(
            source,
            target,
            discovery_source,
            AT,
            request_rate=draw(st.sampled_from(RATES)),
            is_stale=draw(st.booleans()),
        )
        for source, target, discovery_source in sorted(keys)
    ]
    return GraphSnapshot.build(1, services, reports)


@settings(max_examples=300, deadline=None)
@given(
    snapshot=traffic_snapshots(),
    discovered=st.sampled_from([None, True, False]),
    minimum=st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.0]),
    include_stale=st.booleans(),
    direction=st.sampled_from(list(Direction)),
    depth=st.integers(1, 5),
)
def test_discovered_and_min_request_rate_walk_the_filtered_graph(
    snapshot: GraphSnapshot,
    discovered: bool | None,
    minimum: float,
    include_stale: bool,
    direction: Direction,
    depth: int,
) -> None:
    """The definition, written here: a service's rate is the sum of its usable edges'
    merged figures in and out (none: 0), over the whole graph, whatever else is
    filtered; a walk from n0 answers as a plain walk of the graph without the services
    that fail, n0 kept."""
    root = "n0"
    rates: dict[str, float] = {}
    usable: set[tuple[str, str]] = set()
    for pair, stored in snapshot.pairs.items():
        reports = [r for r in reports_of(stored) if include_stale or not r.is_stale]
        if not reports:
            continue
        usable.add(pair)
        for end in pair:
            rates[end] = rates.get(end, 0.0) + (merge_reports(reports).request_rate or 0.0)
    kept = {
        sid
        for sid, service in snapshot.services.items()
        if sid == root
        or (
            (discovered is None or service.discovered == discovered)
            and rates.get(sid, 0.0) >= minimum
        )
    }
    wanted = TraversalFilter(discovered=discovered, min_request_rate=minimum)
    down, up = snapshot.adjacency(include_stale)
    crosses = wanted.crossing(snapshot, include_stale, root)
    found = subgraph(down, up, root, direction, depth, 8, crosses)
    pruned_down, pruned_up = adjacency({(s, t) for s, t in usable if {s, t} <= kept})
    expected = subgraph(pruned_down, pruned_up, root, direction, depth, 8)
    assert found.depths == expected.depths
    assert sorted(found.edges) == sorted(expected.edges)
    assert found.truncated == expected.truncated
