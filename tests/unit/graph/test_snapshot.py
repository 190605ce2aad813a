"""The in-memory graph snapshot: build, incremental apply, stale handling, overlays."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_engine.graph.cycles import cyclic_components
from slo_engine.graph.merge import combine_confidence, merge_reports
from slo_engine.graph.model import (
    DependencyCriticality,
    DependencyReport,
    DiscoverySource,
    Service,
    ServiceCriticality,
    ServiceDeclaration,
)
from slo_engine.graph.overlay import OverlayAdjacency
from slo_engine.graph.snapshot import GraphSnapshot, PairState, is_fresh, merged_view, reports_of
from slo_engine.graph.stored_rows import declared_service, discovered_service, observed_report

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

Triple = tuple[str, str, DiscoverySource]


def report(
    source: str, target: str, via: DiscoverySource, *, stale: bool = False, **fields: Any
) -> DependencyReport:
    fields.setdefault("last_observed_at", T0)
    return DependencyReport(
        source=source, target=target, discovery_source=via, is_stale=stale, **fields
    )


def normalized(adjacency: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Adjacency as sorted lists (multiset: a duplicate entry would show), empty lists dropped."""
    return {node: sorted(targets) for node, targets in adjacency.items() if targets}


def pair_view(snapshot: GraphSnapshot) -> dict[tuple[str, str], Any]:
    return {
        pair: (
            sorted(reports_of(stored), key=lambda r: r.discovery_source.value),
            is_fresh(stored),
            merged_view(stored, include_stale=True),
            merged_view(stored, include_stale=False),
        )
        for pair, stored in snapshot.pairs.items()
    }


def assert_same_graph(built: GraphSnapshot, applied: GraphSnapshot) -> None:
    assert applied.revision == built.revision
    assert applied.services == built.services
    assert pair_view(applied) == pair_view(built)
    for name in ("downstream_all", "upstream_all", "downstream_fresh", "upstream_fresh"):
        assert normalized(getattr(applied, name)) == normalized(getattr(built, name)), name


def assert_consistent(snapshot: GraphSnapshot) -> None:
    """Adjacency lists describe exactly the pairs (all) and the fresh pairs (fresh)."""
    all_pairs = set(snapshot.pairs)
    fresh_pairs = {p for p, s in snapshot.pairs.items() if is_fresh(s)}
    for pairs, down, up in (
        (all_pairs, snapshot.downstream_all, snapshot.upstream_all),
        (fresh_pairs, snapshot.downstream_fresh, snapshot.upstream_fresh),
    ):
        down_edges = [(s, t) for s, targets in down.items() for t in targets]
        up_edges = [(s, t) for t, sources in up.items() for s in sources]
        assert sorted(down_edges) == sorted(pairs)
        assert sorted(up_edges) == sorted(pairs)
    # A fresh list is the list over all pairs (the same object) exactly when every
    # pair on that side of the node is fresh; otherwise a list of its own.
    for every, fresh in (
        (snapshot.downstream_all, snapshot.downstream_fresh),
        (snapshot.upstream_all, snapshot.upstream_fresh),
    ):
        for node, neighbours in every.items():
            own = fresh.get(node)
            assert (own is neighbours) == (own is not None and len(own) == len(neighbours))


# --------------------------------------------------------------------------- PairState


def test_pair_state_of_fresh_reports_shares_the_merge() -> None:
    reports = (report("a", "b", DiscoverySource.MANUAL), report("a", "b", DiscoverySource.JAEGER))

    state = PairState(reports)

    assert state.fresh is True
    assert state.merged(include_stale=True) == merge_reports(reports)
    assert state.merged(include_stale=False) == merge_reports(reports)
    # Remembered: asking again gives the very same object.
    assert state.merged(include_stale=True) is state.merged(include_stale=True)


def test_pair_state_fresh_view_leaves_stale_reports_out() -> None:
    stale = report(
        "a",
        "b",
        DiscoverySource.MANUAL,
        stale=True,
        criticality=DependencyCriticality.SOFT,
        confidence_score=0.9,
    )
    fresh = report(
        "a",
        "b",
        DiscoverySource.JAEGER,
        criticality=DependencyCriticality.HARD,
        confidence_score=0.5,
    )

    for order in ((stale, fresh), (fresh, stale)):
        state = PairState(order)
        merged_all = state.merged(include_stale=True)
        merged_fresh = state.merged(include_stale=False)

        assert state.fresh is True
        assert merged_all is not None
        assert merged_all.criticality is DependencyCriticality.SOFT
        assert merged_all.confidence_score == 0.95
        assert merged_all.is_stale is False
        assert merged_all.discovery_sources == (DiscoverySource.MANUAL, DiscoverySource.JAEGER)
        assert merged_fresh is not None
        assert merged_fresh.criticality is DependencyCriticality.HARD
        assert merged_fresh.confidence_score == 0.5
        assert merged_fresh.discovery_sources == (DiscoverySource.JAEGER,)
        assert merged_fresh.is_stale is False


def test_pair_state_all_stale_has_no_fresh_view() -> None:
    state = PairState((report("a", "b", DiscoverySource.MANUAL, stale=True),))

    assert state.fresh is False
    assert state.merged(include_stale=False) is None
    merged_all = state.merged(include_stale=True)
    assert merged_all is not None
    assert merged_all.is_stale is True


# --------------------------------------------------------------------------- build / stale


def test_pair_state_says_whether_the_caller_needs_the_callee_per_view() -> None:
    manual = report("a", "b", DiscoverySource.MANUAL, stale=True, criticality="soft")
    traced = report("a", "b", DiscoverySource.OTEL_SERVICE_GRAPH)
    state = PairState((manual, traced))
    # Over all reports the manual declaration (soft) wins; over the fresh ones nothing
    # is declared, which counts as needed.
    assert state.needed(True) is False
    assert state.needed(False) is True
    assert state.needed(True) is False  # remembered, same answer
    asynchronous = PairState(
        (report("a", "b", DiscoverySource.MANUAL, communication_mode="async"),)
    )
    assert asynchronous.needed(False) is False and asynchronous.needed(True) is False


def test_build_indexes_services_pairs_and_both_directions() -> None:
    services = [Service("a", team="t1"), Service("b"), Service("a", team="t2")]
    reports = [
        report("a", "b", DiscoverySource.MANUAL),
        report("a", "b", DiscoverySource.SERVICE_MESH),
        report("a", "c", DiscoverySource.JAEGER),
        report("c", "a", DiscoverySource.JAEGER),
    ]

    snapshot = GraphSnapshot.build(7, services, reports)

    assert snapshot.revision == 7
    assert snapshot.services == {"a": Service("a", team="t2"), "b": Service("b")}
    assert set(snapshot.pairs) == {("a", "b"), ("a", "c"), ("c", "a")}
    assert len(snapshot.reports(("a", "b"))) == 2
    assert normalized(snapshot.downstream_all) == {"a": ["b", "c"], "c": ["a"]}
    assert normalized(snapshot.upstream_all) == {"a": ["c"], "b": ["a"], "c": ["a"]}
    assert snapshot.adjacency(include_stale=True) == (
        snapshot.downstream_all,
        snapshot.upstream_all,
    )
    assert snapshot.adjacency(include_stale=False) == (
        snapshot.downstream_fresh,
        snapshot.upstream_fresh,
    )
    assert_consistent(snapshot)


def test_stale_only_pair_is_followed_only_with_include_stale() -> None:
    snapshot = GraphSnapshot.build(
        1,
        [],
        [
            report("a", "b", DiscoverySource.OTEL_SERVICE_GRAPH, stale=True),
            report("a", "c", DiscoverySource.OTEL_SERVICE_GRAPH),
        ],
    )

    all_down, all_up = snapshot.adjacency(include_stale=True)
    fresh_down, fresh_up = snapshot.adjacency(include_stale=False)
    assert sorted(all_down["a"]) == ["b", "c"]
    assert all_up["b"] == ["a"]
    assert fresh_down["a"] == ["c"]
    assert "b" not in fresh_up or fresh_up["b"] == []
    assert merged_view(snapshot.pairs[("a", "b")], include_stale=False) is None
    assert snapshot.edge(("a", "b"), include_stale=True).is_stale is True
    with pytest.raises(AssertionError):
        snapshot.edge(("a", "b"), include_stale=False)
    assert snapshot.edge(("a", "c"), include_stale=False).is_stale is False
    assert_consistent(snapshot)


def test_fresh_report_moves_a_stale_pair_back_and_stale_again_moves_it_out() -> None:
    otel = DiscoverySource.OTEL_SERVICE_GRAPH
    snapshot = GraphSnapshot.build(1, [], [report("a", "b", otel, stale=True)])
    assert "b" not in snapshot.downstream_fresh.get("a", [])

    # The same source reports it fresh again: it replaces the stale report.
    later = T0 + timedelta(hours=1)
    snapshot.apply(2, [], [report("a", "b", otel, last_observed_at=later)])
    assert snapshot.revision == 2
    assert snapshot.downstream_fresh["a"] == ["b"]
    assert snapshot.upstream_fresh["b"] == ["a"]
    assert snapshot.downstream_all["a"] == ["b"]  # not linked twice
    stored = snapshot.pairs[("a", "b")]
    assert len(reports_of(stored)) == 1
    merged_fresh = merged_view(stored, include_stale=False)
    assert merged_fresh is not None
    assert merged_fresh.last_observed_at == later
    assert_consistent(snapshot)

    # It goes stale again: out of the fresh lists, still in the full ones.
    snapshot.apply(3, [], [report("a", "b", otel, stale=True, last_observed_at=later)])
    assert snapshot.downstream_fresh.get("a", []) == []
    assert snapshot.upstream_fresh.get("b", []) == []
    assert snapshot.downstream_all["a"] == ["b"]
    assert merged_view(snapshot.pairs[("a", "b")], include_stale=False) is None
    assert_consistent(snapshot)


def test_fresh_report_from_another_source_revives_a_stale_pair() -> None:
    snapshot = GraphSnapshot.build(
        1, [], [report("a", "b", DiscoverySource.JAEGER, stale=True, confidence_score=0.85)]
    )

    snapshot.apply(2, [], [report("a", "b", DiscoverySource.SERVICE_MESH, confidence_score=0.95)])

    stored = snapshot.pairs[("a", "b")]
    assert len(reports_of(stored)) == 2
    assert snapshot.downstream_fresh["a"] == ["b"]
    merged_all = merged_view(stored, include_stale=True)
    merged_fresh = merged_view(stored, include_stale=False)
    assert merged_all is not None
    assert merged_all.discovery_sources == (DiscoverySource.SERVICE_MESH, DiscoverySource.JAEGER)
    assert merged_all.is_stale is False
    assert merged_all.confidence_score == combine_confidence([0.95, 0.85])
    assert merged_fresh is not None
    assert merged_fresh.discovery_sources == (DiscoverySource.SERVICE_MESH,)
    assert merged_fresh.confidence_score == 0.95
    assert_consistent(snapshot)

    # One of two sources going stale keeps the pair fresh.
    snapshot.apply(3, [], [report("a", "b", DiscoverySource.JAEGER, stale=True)])
    assert snapshot.downstream_fresh["a"] == ["b"]
    assert_consistent(snapshot)


def test_apply_replaces_the_report_of_the_same_source_only() -> None:
    snapshot = GraphSnapshot.build(
        1,
        [Service("a", team="old")],
        [
            report("a", "b", DiscoverySource.MANUAL, timeout_ms=100),
            report("a", "b", DiscoverySource.JAEGER, request_rate=1.0),
        ],
    )

    snapshot.apply(
        2,
        [Service("a", team="new"), Service("z")],
        [report("a", "b", DiscoverySource.MANUAL, timeout_ms=900)],
    )

    stored = snapshot.pairs[("a", "b")]
    assert sorted(r.discovery_source for r in reports_of(stored)) == sorted(
        [DiscoverySource.MANUAL, DiscoverySource.JAEGER]
    )
    merged_all = merged_view(stored, include_stale=True)
    assert merged_all is not None
    assert merged_all.timeout_ms == 900
    assert merged_all.request_rate == 1.0
    assert snapshot.services == {"a": Service("a", team="new"), "z": Service("z")}
    assert_consistent(snapshot)


def test_apply_to_an_empty_snapshot_equals_build() -> None:
    reports = [
        report("a", "b", DiscoverySource.MANUAL),
        report("b", "a", DiscoverySource.JAEGER, stale=True),
        report("b", "c", DiscoverySource.KUBERNETES),
    ]
    services = [Service("a", criticality=ServiceCriticality.HIGH), Service("b")]

    applied = GraphSnapshot(0)
    applied.apply(5, services, reports)

    assert_same_graph(GraphSnapshot.build(5, services, reports), applied)


# --------------------------------------------------------------------------- property

NODES = ["a", "b", "c", "d", "e"]
SOURCES = list(DiscoverySource)


def version_of(triple: Triple, draw: st.DrawFn) -> DependencyReport:
    source, target, via = triple
    return report(
        source,
        target,
        via,
        stale=draw(st.booleans()),
        last_observed_at=T0 + timedelta(minutes=draw(st.integers(0, 1000))),
        confidence_score=draw(st.sampled_from([0.3, 0.7, 0.9, 1.0])),
        timeout_ms=draw(st.none() | st.sampled_from([100, 500])),
        criticality=draw(st.none() | st.sampled_from(list(DependencyCriticality))),
        request_rate=draw(st.none() | st.sampled_from([1.0, 20.0])),
    )


@st.composite
def histories(draw: st.DrawFn) -> tuple[Any, ...]:
    """(final services, final reports, initial services, initial reports, report batches,
    service batches).

    Every (source, target, discovery source) triple has a history of 1-3 versions, the
    last of which is final. The initial build holds, for some triples, one version of
    their history; `batches` apply the rest of every history in order, interleaved across
    triples, and split into writes.
    """
    triples: list[Triple] = draw(
        st.lists(
            st.tuples(st.sampled_from(NODES), st.sampled_from(NODES), st.sampled_from(SOURCES)),
            min_size=1,
            max_size=15,
            unique=True,
        )
    )
    history = {t: [version_of(t, draw) for _ in range(draw(st.integers(1, 3)))] for t in triples}
    initial: list[DependencyReport] = []
    pending: list[tuple[Triple, int]] = []  # (triple, placeholder) events to apply
    remaining: dict[Triple, list[DependencyReport]] = {}
    for triple, versions in history.items():
        start = draw(st.integers(-1, len(versions) - 1))  # -1: not in the initial build
        if start >= 0:
            initial.append(versions[start])
        rest = versions[start + 1 :]
        if start == len(versions) - 1 and draw(st.booleans()):
            rest = [versions[-1]]  # the final row applied again: idempotent
        remaining[triple] = rest
        pending.extend((triple, i) for i in range(len(rest)))
    # Random interleaving that keeps each triple's own versions in order.
    shuffled = draw(st.permutations(pending))
    taken: dict[Triple, int] = {}
    stream: list[DependencyReport] = []
    for triple, _ in shuffled:
        index = taken.get(triple, 0)
        taken[triple] = index + 1
        stream.append(remaining[triple][index])

    service_ids = sorted({t[0] for t in triples} | {t[1] for t in triples})
    final_services = [
        Service(s, team=draw(st.sampled_from(["x", "y"])), discovered=draw(st.booleans()))
        for s in service_ids
    ]
    initial_services = [
        Service(s.service_id, team="old") for s in final_services if draw(st.booleans())
    ]

    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    bounds = [0, *cuts, len(stream)]
    batches = [stream[lo:hi] for lo, hi in itertools.pairwise(bounds)]
    service_batches = [[] for _ in batches]
    for service in final_services:
        service_batches[draw(st.integers(0, len(batches) - 1))].append(service)
    final_reports = [versions[-1] for versions in history.values()]
    return final_services, final_reports, initial_services, initial, batches, service_batches


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_incremental_apply_equals_build_of_the_final_rows(case: tuple[Any, ...]) -> None:
    final_services, final_reports, initial_services, initial, batches, service_batches = case

    applied = GraphSnapshot.build(1, initial_services, initial)
    assert_consistent(applied)
    for revision, (batch, services) in enumerate(
        zip(batches, service_batches, strict=True), start=2
    ):
        applied.apply(revision, services, batch)
        assert_consistent(applied)
    built = GraphSnapshot.build(len(batches) + 1, final_services, final_reports)

    assert_same_graph(built, applied)


@st.composite
def reports_and_retractions(draw: st.DrawFn) -> tuple[Any, ...]:
    """(initial reports, writes): each write upserts some reports and retracts some
    report keys, drawn over a small set of triples so that reports come and go."""
    triples: list[Triple] = draw(
        st.lists(
            st.tuples(st.sampled_from(NODES), st.sampled_from(NODES), st.sampled_from(SOURCES[:3])),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    initial = [version_of(t, draw) for t in triples if draw(st.booleans())]
    writes = []
    for _ in range(draw(st.integers(1, 6))):
        chosen = draw(st.lists(st.sampled_from(triples), max_size=5, unique=True))
        upserts = [version_of(t, draw) for t in chosen if draw(st.booleans())]
        written = {(r.source, r.target, r.discovery_source) for r in upserts}
        retracted = [t for t in chosen if t not in written]
        writes.append((upserts, retracted))
    return initial, writes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports_and_retractions())
def test_retractions_applied_equal_a_build_of_what_is_left(case: tuple[Any, ...]) -> None:
    initial, writes = case
    services = [Service(node) for node in NODES]
    rows: dict[Triple, DependencyReport] = {
        (r.source, r.target, r.discovery_source): r for r in initial
    }
    applied = GraphSnapshot.build(1, services, initial)
    for revision, (upserts, retracted) in enumerate(writes, start=2):
        applied.apply(revision, [], upserts, retracted=retracted)
        assert_consistent(applied)
        for key in retracted:
            rows.pop(key, None)
        rows.update(((r.source, r.target, r.discovery_source), r) for r in upserts)
        assert_same_graph(GraphSnapshot.build(revision, services, rows.values()), applied)


def test_deleting_a_service_takes_it_out() -> None:
    snapshot = GraphSnapshot.build(1, [Service("a"), Service("b")], [])
    snapshot.apply(2, [], [], deleted=["a", "missing"])
    assert set(snapshot.services) == {"b"}
    assert snapshot.revision == 2


# --------------------------------------------------------------------------- OverlayAdjacency


def test_overlay_lookups() -> None:
    base = {"a": ["b"], "b": ["c"], "e": []}
    extra = {"b": ["d"], "x": ["a"], "e": ["f"]}

    overlay = OverlayAdjacency(base, extra)

    assert list(overlay["a"]) == ["b"]
    assert list(overlay["b"]) == ["c", "d"]
    assert list(overlay["x"]) == ["a"]
    assert list(overlay["e"]) == ["f"]
    with pytest.raises(KeyError):
        overlay["zzz"]
    assert overlay.get("zzz", ()) == ()
    assert "x" in overlay
    assert "zzz" not in overlay


def test_overlay_iterates_each_key_once() -> None:
    overlay = OverlayAdjacency({"a": ["b"], "b": []}, {"b": ["a"], "c": ["a"]})

    assert list(overlay) == ["a", "b", "c"]
    assert len(overlay) == 3
    assert dict(overlay.items()) == {"a": ["b"], "b": ["a"], "c": ["a"]}


def test_overlay_does_not_change_its_inputs_and_sees_later_base_changes() -> None:
    base = {"a": ["b"]}
    extra = {"a": ["c"]}

    overlay = OverlayAdjacency(base, extra)
    assert list(overlay["a"]) == ["b", "c"]
    assert base == {"a": ["b"]}
    assert extra == {"a": ["c"]}

    base["z"] = ["a"]
    assert list(overlay["z"]) == ["a"]


def test_overlay_reveals_a_cycle_made_only_by_the_new_edges() -> None:
    base = {"a": ["b"], "b": ["c"]}

    assert cyclic_components(base, base) == []
    overlay = OverlayAdjacency(base, {"c": ["a"]})
    assert cyclic_components(overlay, overlay) == [["a", "b", "c"]]


def _as_pairs(adjacency: Mapping[str, Iterable[str]]) -> set[tuple[str, str]]:
    return {(s, t) for s, targets in adjacency.items() for t in targets}


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(NODES), st.lists(st.sampled_from(NODES), unique=True)),
    st.dictionaries(st.sampled_from(NODES), st.lists(st.sampled_from(NODES), unique=True)),
)
def test_overlay_is_the_union_of_its_layers(
    base: dict[str, list[str]], extra: dict[str, list[str]]
) -> None:
    overlay = OverlayAdjacency(base, extra)

    assert set(overlay) == set(base) | set(extra)
    assert len(overlay) == len(set(base) | set(extra))
    assert _as_pairs(overlay) == _as_pairs(base) | _as_pairs(extra)
    for node in overlay:
        assert list(overlay[node]) == [*base.get(node, []), *extra.get(node, [])]


# --------------------------------------------------------------------------- row upserts


def test_report_lookup_by_pair_and_source() -> None:
    mesh = report("a", "b", DiscoverySource.SERVICE_MESH, request_rate=3.0)
    snapshot = GraphSnapshot.build(1, [], [mesh, report("a", "b", DiscoverySource.JAEGER)])

    assert snapshot.report(("a", "b"), DiscoverySource.SERVICE_MESH) == mesh
    assert snapshot.report(("a", "b"), DiscoverySource.MANUAL) is None
    assert snapshot.report(("b", "a"), DiscoverySource.SERVICE_MESH) is None


def test_observed_report_of_a_new_edge_is_the_report_made_fresh() -> None:
    new = report("a", "b", DiscoverySource.JAEGER, stale=True, protocol="http")

    stored = observed_report(None, new)

    assert stored == new._replace(is_stale=False)


def test_observed_report_takes_new_attributes_and_revives_a_stale_row() -> None:
    old = report("a", "b", DiscoverySource.JAEGER, stale=True, protocol="http", timeout_ms=5)
    later = T0 + timedelta(minutes=5)
    new = report("a", "b", DiscoverySource.JAEGER, protocol="grpc", last_observed_at=later)

    stored = observed_report(old, new)

    assert stored.protocol == "grpc"
    assert stored.timeout_ms is None  # the new row's attributes, not a merge
    assert stored.is_stale is False
    assert stored.last_observed_at == later


def test_observed_report_keeps_the_later_observation_time() -> None:
    later = T0 + timedelta(hours=2)
    old = report("a", "b", DiscoverySource.JAEGER, last_observed_at=later)
    late_arrival = report("a", "b", DiscoverySource.JAEGER, protocol="amqp")  # observed at T0

    stored = observed_report(old, late_arrival)

    assert stored.last_observed_at == later
    assert stored.protocol == "amqp"
    assert stored.is_stale is False


@settings(max_examples=100, deadline=None)
@given(
    st.none() | st.integers(0, 100),
    st.integers(0, 100),
    st.booleans(),
    st.booleans(),
    st.none() | st.sampled_from([10, 20]),
)
def test_observed_report_is_the_new_row_fresh_at_the_latest_time(
    stored_minute: int | None,
    new_minute: int,
    stored_stale: bool,
    new_stale: bool,
    timeout: int | None,
) -> None:
    stored = (
        None
        if stored_minute is None
        else report(
            "a",
            "b",
            DiscoverySource.MANUAL,
            stale=stored_stale,
            last_observed_at=T0 + timedelta(minutes=stored_minute),
            timeout_ms=99,
        )
    )
    new = report(
        "a",
        "b",
        DiscoverySource.MANUAL,
        stale=new_stale,
        last_observed_at=T0 + timedelta(minutes=new_minute),
        timeout_ms=timeout,
    )

    result = observed_report(stored, new)

    latest = new_minute if stored_minute is None else max(stored_minute, new_minute)
    assert result == new._replace(is_stale=False, last_observed_at=T0 + timedelta(minutes=latest))


def test_declared_service_creates_a_declared_service() -> None:
    now = T0 + timedelta(days=1)
    declaration = ServiceDeclaration("svc", team="payments", criticality=ServiceCriticality.LOW)

    service = declared_service(None, declaration, now)

    assert service == Service(
        "svc",
        team="payments",
        criticality=ServiceCriticality.LOW,
        metadata={},
        discovered=False,
        created_at=now,
        updated_at=now,
    )


def test_declared_service_keeps_what_the_declaration_leaves_out() -> None:
    stored = Service(
        "svc",
        display_name="Service",
        team="old-team",
        criticality=ServiceCriticality.HIGH,
        metadata={"tier": 1, "owner": "x"},
        discovered=True,
        created_at=T0,
        updated_at=T0,
    )
    now = T0 + timedelta(days=1)

    service = declared_service(stored, ServiceDeclaration("svc", team="new-team"), now)

    assert service == Service(
        "svc",
        display_name="Service",
        team="new-team",
        criticality=ServiceCriticality.HIGH,
        metadata={"tier": 1, "owner": "x"},
        discovered=False,
        created_at=T0,
        updated_at=now,
    )


def test_declared_service_metadata_replaces_the_stored_object() -> None:
    stored = Service("svc", metadata={"tier": 1, "owner": "x"}, created_at=T0, updated_at=T0)

    replaced = declared_service(stored, ServiceDeclaration("svc", metadata={"tier": 2}), T0)
    emptied = declared_service(stored, ServiceDeclaration("svc", metadata={}), T0)

    assert replaced.metadata == {"tier": 2}
    assert emptied.metadata == {}


def test_discovered_service() -> None:
    assert discovered_service("svc", T0) == Service(
        "svc", discovered=True, created_at=T0, updated_at=T0
    )


def test_applied_reports_share_the_snapshots_service_ids_and_protocols() -> None:
    """A write's rows arrive with strings of their own (parsed from its request); the
    snapshot keeps its own objects for ids it holds, and one object per protocol."""
    snapshot = GraphSnapshot.build(1, [Service("api"), Service("db")], [])
    parsed_source = "".join(["a", "pi"])  # equal to "api", another object
    parsed_protocol = "".join(["gr", "pc"])
    assert parsed_source is not snapshot.services["api"].service_id

    snapshot.apply(
        2,
        [],
        [report(parsed_source, "db", DiscoverySource.MANUAL, protocol=parsed_protocol)],
    )

    ((source, target),) = snapshot.pairs
    stored = reports_of(snapshot.pairs[(source, target)])[0]
    assert source is snapshot.services["api"].service_id
    assert stored.source is source and stored.target is snapshot.services["db"].service_id
    assert stored.protocol == "grpc" and stored.protocol is sys.intern("grpc")
    assert snapshot.downstream_all["api"][0] is snapshot.services["db"].service_id
    # An id the snapshot does not hold yet is kept as it came.
    snapshot.apply(3, [], [report("new", "db", DiscoverySource.MANUAL)])
    assert ("new", "db") in snapshot.pairs
    assert_consistent(snapshot)
