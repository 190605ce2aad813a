"""The graph overview (graph/overview.py) against its definition: the counts add up to
the filtered graph, expanding every group gives back exactly the filtered graph, and
filtering is the same as aggregating a graph filtered first (an independent filter
written here from docs/identity.md "Filters"); plus the grouping keys and the bounds."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.merge import merge_reports
from slo_engine.graph.model import (
    DependencyReport,
    DiscoverySource,
    NodeKind,
    Service,
    ServiceCriticality,
)
from slo_engine.graph.overview import (
    NO_SYSTEM,
    NO_TEAM,
    GroupBy,
    Overview,
    OverviewOptions,
    overview,
    services_in_cycles,
)
from slo_engine.graph.snapshot import GraphSnapshot, Pair, reports_of
from slo_engine.graph.traversal_filter import TraversalFilter

AT = datetime(2026, 12, 4, tzinfo=UTC)
IDS = ["a", "b.ns1", "c.ns1", "d.ns2", "e", "f.ns2", "g", "h"]
TEAMS = [None, "t1", "t2", "t3"]
KINDS = [NodeKind.SERVICE, NodeKind.DATABASE, NodeKind.EXTERNAL]
CRITICALITIES = [None, *ServiceCriticality]
SOURCES = [DiscoverySource.MANUAL, DiscoverySource.OTEL_SERVICE_GRAPH, DiscoverySource.JAEGER]
# Exactly representable: sums do not depend on the order they are added in.
RATES = [None, 0.5, 1.0, 2.0]
ERRORS = [None, 0.0, 0.25, 0.5]
PATTERNS = ["a", "b*", "*.ns2", "g", "zz"]
SYSTEMS: list[dict[str, Any]] = [
    {},
    {"backstage": {"system": "shop"}},
    {"backstage": {"system": "system:default/shop"}},
    {"backstage": {"system": "pay"}},
    {"backstage": "not a mapping"},
]


@st.composite
def graphs(draw: st.DrawFn) -> GraphSnapshot:
    services = [
        Service(
            sid,
            team=draw(st.sampled_from(TEAMS)),
            criticality=draw(st.sampled_from(CRITICALITIES)),
            kind=draw(st.sampled_from(KINDS)),
            discovered=draw(st.booleans()),
            metadata=draw(st.sampled_from(SYSTEMS)),
        )
        for sid in IDS
    ]
    keys = draw(
        st.sets(
            st.tuples(st.sampled_from(IDS), st.sampled_from(IDS), st.sampled_from(SOURCES)),
            max_size=30,
        )
    )
    reports = [
        DependencyReport(
            source,
            target,
            discovery_source,
            AT,
            request_rate=draw(st.sampled_from(RATES)),
            error_rate=draw(st.sampled_from(ERRORS)),
            is_stale=draw(st.booleans()),
        )
        for source, target, discovery_source in sorted(keys)
    ]
    return GraphSnapshot.build(1, services, reports)


@st.composite
def options(draw: st.DrawFn) -> OverviewOptions:
    def subset(values: Iterable[Any]) -> frozenset[Any]:
        return frozenset(draw(st.sets(st.sampled_from(list(values)), max_size=2)))

    filters = TraversalFilter(
        kinds=subset(KINDS),
        teams=subset(t for t in TEAMS if t),
        criticalities=subset(c for c in CRITICALITIES if c),
        sources=subset(SOURCES),
        exclude=tuple(sorted(subset(PATTERNS))),
        discovered=draw(st.sampled_from([None, True, False])),
    )
    return OverviewOptions(
        group_by=draw(st.sampled_from(list(GroupBy))),
        filters=filters,
        include_stale=draw(st.booleans()),
    )


def usable(snapshot: GraphSnapshot, pair: Pair, include_stale: bool) -> list[DependencyReport]:
    return [r for r in reports_of(snapshot.pairs[pair]) if include_stale or not r.is_stale]


def traffic(snapshot: GraphSnapshot, include_stale: bool) -> dict[str, float]:
    rates: dict[str, float] = {}
    for pair in snapshot.pairs:
        reports = usable(snapshot, pair, include_stale)
        rate = merge_reports(reports).request_rate if reports else None
        for end in pair:
            rates[end] = rates.get(end, 0.0) + (rate or 0.0)
    return rates


def filtered(snapshot: GraphSnapshot, wanted: OverviewOptions) -> tuple[set[str], set[Pair]]:
    """The services and edges the options keep, straight from the definition."""
    rule = wanted.filters
    rates = traffic(snapshot, wanted.include_stale)
    nodes = {
        sid
        for sid, s in snapshot.services.items()
        if (not rule.kinds or s.kind in rule.kinds)
        and (not rule.teams or s.team in rule.teams)
        and (not rule.criticalities or s.criticality in rule.criticalities)
        and not any(fnmatch.fnmatchcase(sid, p) for p in rule.exclude)
        and (rule.discovered is None or s.discovered == rule.discovered)
        and rates.get(sid, 0.0) >= rule.min_request_rate
    }
    edges = set()
    for pair in snapshot.pairs:
        reports = usable(snapshot, pair, wanted.include_stale)
        if not reports or pair[0] not in nodes or pair[1] not in nodes:
            continue
        if rule.sources and rule.sources.isdisjoint(r.discovery_source for r in reports):
            continue
        edges.add(pair)
    return nodes, edges


def filtered_snapshot(snapshot: GraphSnapshot, wanted: OverviewOptions) -> GraphSnapshot:
    nodes, edges = filtered(snapshot, wanted)
    return GraphSnapshot.build(
        1,
        [snapshot.services[n] for n in sorted(nodes)],
        [r for pair in sorted(edges) for r in usable(snapshot, pair, wanted.include_stale)],
    )


def every_group(snapshot: GraphSnapshot, wanted: OverviewOptions) -> OverviewOptions:
    groups = overview(snapshot, wanted).groups
    return replace(wanted, expand=tuple(g.group_id for g in groups))


@settings(max_examples=300, deadline=None)
@given(snapshot=graphs(), wanted=options())
def test_the_counts_add_up_to_the_filtered_graph(
    snapshot: GraphSnapshot, wanted: OverviewOptions
) -> None:
    nodes, edges = filtered(snapshot, wanted)
    found = overview(snapshot, wanted)
    assert found.total_services == sum(g.services for g in found.groups) == len(nodes)
    assert found.total_groups == len(found.groups)
    for group in found.groups:
        assert sum(group.kinds.values()) == sum(group.criticalities.values()) == group.services
    between = sum(e.edges for e in found.edges)
    assert found.total_edges == between + sum(g.internal_edges for g in found.groups)
    assert found.total_edges == len(edges)
    assert not found.members
    assert all(e.source is None and e.target is None for e in found.edges)
    assert all(e.source_group != e.target_group for e in found.edges)


@settings(max_examples=300, deadline=None)
@given(snapshot=graphs(), wanted=options())
def test_expanding_every_group_gives_exactly_the_filtered_graph(
    snapshot: GraphSnapshot, wanted: OverviewOptions
) -> None:
    nodes, edges = filtered(snapshot, wanted)
    found = overview(snapshot, every_group(snapshot, wanted))
    assert {m.service.service_id for m in found.members} == nodes
    assert len(found.members) == len(nodes)
    assert {(e.source, e.target) for e in found.edges} == edges
    assert all(e.edges == 1 for e in found.edges)
    assert all(g.expanded and g.members_shown == g.services for g in found.groups)
    assert not found.members_truncated
    for member in found.members:
        assert member.group_id in {g.group_id for g in found.groups}


@settings(max_examples=300, deadline=None)
@given(
    snapshot=graphs(),
    wanted=options(),
    expand=st.sets(
        st.sampled_from(["t1", "ns1", NO_TEAM, "default", "service", "shop", NO_SYSTEM])
    ),
)
def test_filtering_is_aggregating_the_graph_filtered_first(
    snapshot: GraphSnapshot, wanted: OverviewOptions, expand: set[str]
) -> None:
    wanted = replace(wanted, expand=tuple(sorted(expand)))
    cyclic = services_in_cycles(snapshot)
    found = overview(snapshot, wanted, cyclic)
    plain = replace(wanted, filters=TraversalFilter())
    oracle = overview(filtered_snapshot(snapshot, wanted), plain, cyclic)
    assert_same(found, oracle)


@settings(max_examples=200, deadline=None)
@given(snapshot=graphs(), wanted=options(), minimum=st.sampled_from([0.5, 1.0, 2.5, 4.0]))
def test_min_request_rate_hides_services_with_less_traffic(
    snapshot: GraphSnapshot, wanted: OverviewOptions, minimum: float
) -> None:
    wanted = replace(wanted, filters=replace(wanted.filters, min_request_rate=minimum))
    found = overview(snapshot, wanted)
    plain = replace(wanted, filters=TraversalFilter())
    oracle = overview(filtered_snapshot(snapshot, wanted), plain)
    assert_same(found, oracle)
    rates = traffic(snapshot, wanted.include_stale)
    expanded = overview(snapshot, every_group(snapshot, wanted))
    for member in expanded.members:
        assert (member.request_rate or 0.0) == rates[member.service.service_id] >= minimum


def assert_same(found: Overview, oracle: Overview) -> None:
    """The same answer, but for the members' request rates (a graph filtered first has
    lost the edges to the services it left out, and their traffic)."""
    assert found.groups == oracle.groups
    assert found.edges == oracle.edges
    ids = [(m.service.service_id, m.group_id, m.in_cycle) for m in found.members]
    assert ids == [(m.service.service_id, m.group_id, m.in_cycle) for m in oracle.members]
    assert (found.total_services, found.total_edges, found.total_groups) == (
        oracle.total_services,
        oracle.total_edges,
        oracle.total_groups,
    )


@settings(max_examples=200, deadline=None)
@given(
    snapshot=graphs(),
    wanted=options(),
    max_groups=st.integers(1, 4),
    max_members=st.integers(1, 5),
)
def test_the_bounds_hold(
    snapshot: GraphSnapshot, wanted: OverviewOptions, max_groups: int, max_members: int
) -> None:
    everything = overview(snapshot, every_group(snapshot, wanted))
    bounded = replace(every_group(snapshot, wanted), max_groups=max_groups, max_members=max_members)
    found = overview(snapshot, bounded)
    assert len(found.groups) == min(max_groups, everything.total_groups)
    assert found.groups_truncated == (everything.total_groups > max_groups)
    assert [g.group_id for g in found.groups] == [
        g.group_id for g in everything.groups[:max_groups]
    ]
    assert len(found.members) <= max_members
    shown = {g.group_id for g in found.groups}
    assert found.members_truncated == (sum(g.services for g in found.groups) > max_members)
    assert sum(g.members_shown for g in found.groups) == len(found.members)
    drawn = {m.service.service_id for m in found.members}
    for edge in found.edges:
        assert {edge.source_group, edge.target_group} <= shown
        assert edge.source is None or edge.source in drawn
        assert edge.target is None or edge.target in drawn
    # The totals still count everything.
    assert (found.total_services, found.total_edges, found.total_groups) == (
        everything.total_services,
        everything.total_edges,
        everything.total_groups,
    )


# ------------------------------------------------------------------ worked examples


def shop() -> GraphSnapshot:
    """Two teams and a discovered database; checkout and payments call each other."""
    services = [
        Service("checkout", team="orders", criticality=ServiceCriticality.CRITICAL),
        Service("cart", team="orders", criticality=ServiceCriticality.HIGH),
        Service("payments", team="billing", criticality=ServiceCriticality.CRITICAL),
        Service("ledger", team="billing"),
        Service("cart-db", kind=NodeKind.DATABASE, discovered=True),
    ]
    reports = [
        DependencyReport("checkout", "cart", DiscoverySource.MANUAL, AT, request_rate=10.0),
        DependencyReport("checkout", "payments", DiscoverySource.MANUAL, AT, request_rate=4.0),
        DependencyReport(
            "checkout", "ledger", DiscoverySource.JAEGER, AT, request_rate=1.0, error_rate=0.5
        ),
        DependencyReport(
            "payments", "checkout", DiscoverySource.OTEL_SERVICE_GRAPH, AT, error_rate=0.25
        ),
        DependencyReport("cart", "cart-db", DiscoverySource.OTEL_SERVICE_GRAPH, AT),
        DependencyReport("payments", "ledger", DiscoverySource.MANUAL, AT, is_stale=True),
    ]
    return GraphSnapshot.build(3, services, reports)


def edge_rows(found: Overview) -> list[tuple[Any, ...]]:
    return [
        (e.source_group, e.target_group, e.source, e.target, e.edges, e.request_rate, e.error_rate)
        for e in found.edges
    ]


def test_collapsed_groups_count_the_edges_between_them() -> None:
    snapshot = shop()
    found = overview(snapshot, OverviewOptions(), services_in_cycles(snapshot))
    by_id = {g.group_id: g for g in found.groups}
    assert [g.group_id for g in found.groups] == ["billing", "orders", NO_TEAM]
    assert by_id["orders"].internal_edges == 1
    assert by_id["billing"].internal_edges == 0  # payments → ledger is stale
    assert by_id["orders"].in_cycle and by_id["billing"].in_cycle
    assert not by_id[NO_TEAM].in_cycle
    assert by_id[NO_TEAM].discovered == 1
    assert dict(by_id[NO_TEAM].kinds) == {"database": 1}
    assert dict(by_id["billing"].criticalities) == {"critical": 1, "none": 1}
    assert edge_rows(found) == [
        ("billing", "orders", None, None, 1, None, 0.25),
        ("orders", NO_TEAM, None, None, 1, None, None),  # "(" sorts before letters
        ("orders", "billing", None, None, 2, 5.0, 0.5),
    ]
    stale = overview(snapshot, OverviewOptions(include_stale=True))
    assert {g.group_id: g.internal_edges for g in stale.groups}["billing"] == 1


def test_an_expanded_group_draws_its_members_and_their_edges() -> None:
    snapshot = shop()
    found = overview(snapshot, OverviewOptions(expand=("orders", "no-such-group")))
    assert [m.service.service_id for m in found.members] == ["checkout", "cart"]
    checkout = found.members[0]
    assert checkout.request_rate == 15.0  # 10 + 4 + 1 out, nothing measured in
    assert edge_rows(found) == [
        ("billing", "orders", None, "checkout", 1, None, 0.25),
        ("orders", NO_TEAM, "cart", None, 1, None, None),
        ("orders", "billing", "checkout", None, 2, 5.0, 0.5),
        ("orders", "orders", "checkout", "cart", 1, 10.0, None),
    ]
    # A budget of one: the most connected member is drawn, the other stays in the group.
    one = overview(snapshot, OverviewOptions(expand=("orders",), max_members=1))
    assert [m.service.service_id for m in one.members] == ["checkout"]
    assert one.members_truncated
    assert ("orders", "orders", "checkout", None, 1, 10.0, None) in edge_rows(one)


def test_filters_apply_before_grouping() -> None:
    snapshot = shop()
    declared = overview(snapshot, OverviewOptions(filters=TraversalFilter(discovered=False)))
    assert NO_TEAM not in {g.group_id for g in declared.groups}
    traced = overview(
        snapshot,
        OverviewOptions(filters=TraversalFilter(sources=frozenset({DiscoverySource.MANUAL}))),
    )
    assert edge_rows(traced) == [("orders", "billing", None, None, 1, 4.0, None)]
    busy = overview(snapshot, OverviewOptions(filters=TraversalFilter(min_request_rate=5.0)))
    # checkout 15 req/s, cart 10; payments 4, ledger 1, cart-db none (0): hidden.
    assert {g.group_id: g.services for g in busy.groups} == {"orders": 2}
    assert busy.total_edges == 1


def test_the_grouping_keys() -> None:
    services = [
        Service("reviews.bookinfo"),
        Service("ratings", metadata={"kubernetes": {"namespace": "prod"}}),
        Service("team-b.search", metadata={"backstage": {"entity_ref": "component:team-b/search"}}),
        Service("api", metadata={"backstage": {"system": "system:default/shop"}}),
        Service("web", metadata={"backstage": {"system": "shop"}}),
        Service("db", kind=NodeKind.DATABASE),
    ]
    snapshot = GraphSnapshot.build(1, services, [])

    def groups(by: GroupBy) -> dict[str, int]:
        return {g.group_id: g.services for g in overview(snapshot, OverviewOptions(by)).groups}

    assert groups(GroupBy.NAMESPACE) == {"default": 3, "bookinfo": 1, "prod": 1, "team-b": 1}
    assert groups(GroupBy.SYSTEM) == {NO_SYSTEM: 4, "shop": 2}
    assert groups(GroupBy.KIND) == {"service": 5, "database": 1}
    assert groups(GroupBy.TEAM) == {NO_TEAM: 6}
