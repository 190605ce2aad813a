"""Drift's pure core: the rules by hand, and properties on random graphs of random
reports (sources, ages, staleness, attributes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import orjson
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_engine.graph.drift import (
    DECLARING,
    OBSERVING,
    SOURCES,
    Drift,
    Role,
    counts,
    drift_items,
    pairs_touching,
    weight,
)
from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    DependencyReport,
    DiscoverySource,
    NodeKind,
    Service,
)
from slo_engine.graph.snapshot import GraphSnapshot

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
S = DiscoverySource
T = TypeVar("T")


def report(
    source: str, target: str, by: DiscoverySource, age: timedelta = timedelta(0), **fields: object
) -> DependencyReport:
    base = DependencyReport(source, target, by, NOW - age)
    return base._replace(**fields)


def judged(
    *reports: DependencyReport,
    window: timedelta = WEEK,
    kinds: dict[str, NodeKind] | None = None,
    include_external: bool = False,
) -> list[tuple[str, str, str]]:
    services = [Service(name, kind=kind) for name, kind in (kinds or {}).items()]
    snapshot = GraphSnapshot.build(1, services, reports)
    items = drift_items(snapshot, NOW, window, include_external=include_external)
    return [(i.source, i.target, i.drift.value) for i in items]


def test_every_source_has_one_role_and_the_built_in_table_is_what_the_sources_fill_in() -> None:
    assert set(SOURCES) == set(DiscoverySource)
    assert {s for s, t in SOURCES.items() if t.role is Role.DECLARES} == set(DECLARING)
    assert {s for s, t in SOURCES.items() if t.role is Role.OBSERVES} == set(OBSERVING)
    assert SOURCES[S.KUBERNETES].role is Role.NEITHER
    assert "communication_mode" not in SOURCES[S.JAEGER].tells  # an assumption, not seen


def test_a_declared_edge_counts_as_missing_only_when_traffic_sees_its_caller() -> None:
    declared = report("web", "db", S.BACKSTAGE)
    assert judged(declared) == []
    # Traffic out of the caller covers it.
    assert judged(declared, report("web", "api", S.OTEL_SERVICE_GRAPH)) == [
        ("web", "api", "observed_only"),
        ("web", "db", "declared_only"),
    ]
    # Traffic around the callee alone says nothing of the caller's calls.
    assert judged(declared, report("db", "disk", S.JAEGER)) == [("db", "disk", "observed_only")]


def test_calls_into_the_caller_cover_it_only_when_the_mesh_saw_them() -> None:
    declared = report("web", "db", S.BACKSTAGE)
    # An uninstrumented web, seen only as the peer of traced clients: its calls out
    # would not show, so its declared call is not missing.
    for tracing in (S.OTEL_SERVICE_GRAPH, S.JAEGER):
        assert judged(declared, report("lb", "web", tracing)) == [("lb", "web", "observed_only")]
    # A destination the mesh saw has a sidecar, which would see web's calls out too.
    assert judged(declared, report("lb", "web", S.SERVICE_MESH)) == [
        ("lb", "web", "observed_only"),
        ("web", "db", "declared_only"),
    ]


def test_a_missing_calls_confidence_counts_each_source_once_and_is_capped() -> None:
    declared = report("web", "db", S.MANUAL)
    seen = [report("web", f"api-{n}", S.OTEL_SERVICE_GRAPH, confidence_score=0.9) for n in range(5)]
    snapshot = GraphSnapshot.build(1, [], [declared, *seen])
    (missing,) = [i for i in drift_items(snapshot, NOW) if i.drift is Drift.DECLARED_ONLY]
    # Five edges one source saw say the caller is traced, not five times that this call
    # would show: the best one counts.
    assert missing.confidence == 0.9
    assert missing.evidence.caller_coverage is not None
    assert missing.evidence.caller_coverage.edges == 5
    aged = report("web", "api-0", S.JAEGER, age=WEEK, confidence_score=0.8)
    snapshot = GraphSnapshot.build(1, [], [declared, *seen, aged])
    (missing,) = [i for i in drift_items(snapshot, NOW) if i.drift is Drift.DECLARED_ONLY]
    assert missing.confidence == 0.94  # two sources: 1 - (1 - 0.9) * (1 - 0.8 * 0.5)
    meshed = report("web", "api-1", S.SERVICE_MESH, confidence_score=0.95)
    snapshot = GraphSnapshot.build(1, [], [declared, *seen, aged, meshed])
    (missing,) = [i for i in drift_items(snapshot, NOW) if i.drift is Drift.DECLARED_ONLY]
    assert missing.confidence == 0.95  # 0.9976, capped: the call may just be rare


def test_callers_traffic_cannot_cover_give_no_declared_only() -> None:
    for kind in (NodeKind.DATABASE, NodeKind.MESSAGING, NodeKind.EXTERNAL, NodeKind.VIRTUAL):
        found = judged(
            report("x", "y", S.MANUAL),
            report("x", "z", S.MANUAL),
            report("x", "z", S.SERVICE_MESH),
            kinds={"x": kind},
            include_external=True,
        )
        assert ("x", "y", "declared_only") not in found, kind


def test_virtual_callers_are_not_judged_and_external_ends_only_when_asked() -> None:
    user = report("user", "frontend", S.OTEL_SERVICE_GRAPH)
    kinds = {"user": NodeKind.VIRTUAL, "api.stripe.com": NodeKind.EXTERNAL}
    assert judged(user, kinds=kinds) == []
    stripe = report("payments", "api.stripe.com", S.OTEL_SERVICE_GRAPH)
    assert judged(stripe, kinds=kinds) == []
    assert judged(stripe, kinds=kinds, include_external=True) == [
        ("payments", "api.stripe.com", "observed_only")
    ]
    snapshot = GraphSnapshot.build(1, [Service("api.stripe.com", kind=NodeKind.EXTERNAL)], [stripe])
    (item,) = drift_items(snapshot, NOW, include_external=True)
    assert (item.source_kind, item.target_kind) == (NodeKind.SERVICE, NodeKind.EXTERNAL)


def test_a_declared_async_call_seen_through_a_broker_is_no_drift() -> None:
    declared = report("orders", "mailer", S.MANUAL, communication_mode=CommunicationMode.ASYNC)
    producer = report("orders", "kafka:mail", S.OTEL_SERVICE_GRAPH)
    consumer = report("mailer", "kafka:mail", S.OTEL_SERVICE_GRAPH)
    stranger = report("audit", "kafka:mail", S.OTEL_SERVICE_GRAPH)
    kinds = {"kafka:mail": NodeKind.MESSAGING}
    assert judged(declared, producer, consumer, stranger, kinds=kinds) == [
        ("audit", "kafka:mail", "observed_only")
    ]
    # A topic delivering to its consumer (topic -> consumer) is the same call.
    delivery = report("kafka:mail", "mailer", S.SERVICE_MESH)
    assert judged(declared, producer, delivery, kinds=kinds) == []
    # Not a broker: the call is missing and both edges undeclared.
    assert judged(declared, producer, consumer) == [
        ("mailer", "kafka:mail", "observed_only"),
        ("orders", "kafka:mail", "observed_only"),
        ("orders", "mailer", "declared_only"),
    ]


def test_stale_or_old_observations_neither_cover_nor_confirm() -> None:
    declared = report("web", "api", S.MANUAL)
    old = report("web", "api", S.OTEL_SERVICE_GRAPH, age=timedelta(days=8))
    stale = report("web", "api", S.OTEL_SERVICE_GRAPH, is_stale=True)
    now = report("web", "cache", S.OTEL_SERVICE_GRAPH)
    assert judged(declared, old, report("web", "cache", S.MANUAL)) == []  # nobody covers web
    assert judged(declared, old, now, report("web", "cache", S.MANUAL)) == [
        ("web", "api", "declared_only")
    ]
    assert judged(declared, stale, now, report("web", "cache", S.MANUAL)) == [
        ("web", "api", "declared_only")
    ]
    assert judged(declared, old, now, window=timedelta(days=9)) == [
        ("web", "cache", "observed_only")
    ]


def test_kubernetes_neither_declares_nor_observes() -> None:
    assert judged(report("a", "b", S.KUBERNETES)) == []
    assert judged(report("a", "b", S.KUBERNETES), report("a", "b", S.JAEGER)) == [
        ("a", "b", "observed_only")
    ]


def test_a_mismatch_names_the_field_the_declared_and_the_observed_value() -> None:
    snapshot = GraphSnapshot.build(
        1,
        [],
        [
            report("a", "b", S.MANUAL, communication_mode=CommunicationMode.ASYNC, timeout_ms=100),
            report(
                "a", "b", S.BACKSTAGE, criticality=DependencyCriticality.HARD
            ),  # manual gives no criticality: Backstage's counts
            report(
                "a",
                "b",
                S.OTEL_SERVICE_GRAPH,
                communication_mode=CommunicationMode.SYNC,
                criticality=DependencyCriticality.SOFT,
                protocol="database",
                confidence_score=0.9,
            ),
        ],
    )
    items = drift_items(snapshot, NOW)
    assert [(i.drift, i.field, i.declared, i.observed) for i in items] == [
        (Drift.MISMATCH, "communication_mode", "async", "sync"),
        (Drift.MISMATCH, "criticality", "hard", "soft"),
    ]
    assert items[0].confidence == 0.9
    assert items[0].evidence.declared_by == (S.MANUAL, S.BACKSTAGE)


def test_jaegers_mode_is_never_compared_and_the_mesh_wins_over_tracing() -> None:
    declared = report("a", "b", S.MANUAL, communication_mode=CommunicationMode.ASYNC)
    jaeger = report("a", "b", S.JAEGER, communication_mode=CommunicationMode.SYNC)
    assert judged(declared, jaeger) == []
    otel = report("a", "b", S.OTEL_SERVICE_GRAPH, communication_mode=CommunicationMode.ASYNC)
    mesh = report("a", "b", S.SERVICE_MESH, communication_mode=CommunicationMode.SYNC)
    assert judged(declared, otel) == []
    assert judged(declared, otel, mesh) == [("a", "b", "mismatch")]


def test_confidence_falls_with_age_to_half_at_the_windows_end() -> None:
    assert weight(NOW, NOW, WEEK) == 1.0
    assert weight(NOW - WEEK, NOW, WEEK) == 0.5
    assert weight(NOW + timedelta(hours=1), NOW, WEEK) == 1.0
    fresh = report("a", "b", S.SERVICE_MESH, confidence_score=0.8)
    aged = report("a", "b", S.SERVICE_MESH, age=timedelta(days=3.5), confidence_score=0.8)
    (one,) = drift_items(GraphSnapshot.build(1, [], [fresh]), NOW)
    (two,) = drift_items(GraphSnapshot.build(1, [], [aged]), NOW)
    assert one.confidence == 0.8
    assert two.confidence == pytest.approx(0.8 * 0.75)


def test_a_pair_subset_judges_only_those_pairs_with_the_whole_graphs_coverage() -> None:
    reports = [
        report("web", "api", S.BACKSTAGE),
        report("web", "cache", S.SERVICE_MESH),
        report("api", "db", S.SERVICE_MESH),
    ]
    snapshot = GraphSnapshot.build(1, [], reports)
    assert pairs_touching(snapshot, "api") == [("api", "db"), ("web", "api")]
    found = drift_items(snapshot, NOW, WEEK, pairs_touching(snapshot, "api"))
    assert [(i.source, i.target, i.drift.value) for i in found] == [
        ("api", "db", "observed_only"),
        ("web", "api", "declared_only"),
    ]
    assert drift_items(snapshot, NOW, WEEK, [("nobody", "here")]) == []


# --- properties --------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
MODES = st.sampled_from([None, CommunicationMode.SYNC, CommunicationMode.ASYNC])
CRITICALITIES = st.sampled_from([None, *DependencyCriticality])


@st.composite
def reports(draw: st.DrawFn) -> list[DependencyReport]:
    found: dict[tuple[str, str, DiscoverySource], DependencyReport] = {}
    for _ in range(draw(st.integers(0, 14))):
        source, target = draw(NAMES), draw(NAMES)
        by = draw(st.sampled_from(list(DiscoverySource)))
        found[(source, target, by)] = report(
            source,
            target,
            by,
            age=timedelta(hours=draw(st.integers(0, 24 * 10))),
            is_stale=draw(st.booleans()) and SOURCES[by].role is Role.OBSERVES,
            communication_mode=draw(MODES),
            criticality=draw(CRITICALITIES),
            confidence_score=draw(st.floats(0, 1)),
        )
    return list(found.values())


@settings(max_examples=300, deadline=None)
@given(reports())
def test_no_pair_is_both_declared_only_and_observed_only(found: list[DependencyReport]) -> None:
    items = drift_items(GraphSnapshot.build(1, [], found), NOW)
    kinds: dict[tuple[str, str], set[Drift]] = {}
    for item in items:
        kinds.setdefault((item.source, item.target), set()).add(item.drift)
        assert 0.0 <= item.confidence <= 1.0
        assert (item.field is None) == (item.drift is not Drift.MISMATCH)
    for found_kinds in kinds.values():
        assert len(found_kinds) == 1, "a pair drifts one way (mismatches may be several)"
    assert [i.key for i in items] == sorted(i.key for i in items)
    assert sum(counts(items).values()) == len(items)


@settings(max_examples=300, deadline=None)
@given(reports(), st.sampled_from(OBSERVING))
def test_observing_a_declared_only_edge_ends_it(
    found: list[DependencyReport], by: DiscoverySource
) -> None:
    snapshot = GraphSnapshot.build(1, [], found)
    missing = [i for i in drift_items(snapshot, NOW) if i.drift is Drift.DECLARED_ONLY]
    for item in missing:
        seen = report(item.source, item.target, by)
        others = [
            r for r in found if (r.source, r.target, r.discovery_source) != (*item.key[:2], by)
        ]
        after = drift_items(GraphSnapshot.build(2, [], [*others, seen]), NOW)
        assert not any(
            (i.source, i.target) == (item.source, item.target) and i.drift is not Drift.MISMATCH
            for i in after
        )


@settings(max_examples=300, deadline=None)
@given(reports(), st.sampled_from(DECLARING))
def test_declaring_an_observed_only_edge_ends_it_and_judging_in_parts_agrees(
    found: list[DependencyReport], by: DiscoverySource
) -> None:
    snapshot = GraphSnapshot.build(1, [], found)
    everything = drift_items(snapshot, NOW)
    for service_id in snapshot.services.keys() | {r.source for r in found}:
        part = drift_items(snapshot, NOW, WEEK, pairs_touching(snapshot, service_id))
        assert part == [i for i in everything if service_id in (i.source, i.target)]
    for item in [i for i in everything if i.drift is Drift.OBSERVED_ONLY]:
        declared = report(item.source, item.target, by)
        after = drift_items(GraphSnapshot.build(2, [], [*found, declared]), NOW)
        assert all(
            i.drift is Drift.MISMATCH
            for i in after
            if (i.source, i.target) == (item.source, item.target)
        )


def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        drift_items(GraphSnapshot.build(1, [], []), NOW, timedelta(0))


# --- the service layer: suggestions, refs, the kept judgement ---------------------------


def test_suggestions_judge_only_the_pairs_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from slo_engine.drift import service

    reports = [report("hub", f"seen-{n:02}", S.OTEL_SERVICE_GRAPH) for n in range(12)]
    snapshot = GraphSnapshot.build(1, [], reports)
    judged = service.judge_whole_graph(snapshot, service.DEFAULT_SCOPE, NOW)
    judged_pairs: list[int] = []
    real = service.drift_items

    def counting(*args: object, **kwargs: object) -> list[object]:
        pairs = args[3] if len(args) > 3 else kwargs.get("pairs")
        judged_pairs.append(len(list(pairs)))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "drift_items", counting)
    monkeypatch.setattr(service, "MAX_SUGGESTED_EDGES", 3)
    found = service.graph_suggestions(snapshot, judged, "ingest")
    assert found.truncated
    assert [e["target"] for e in orjson.loads(found.body)["edges"]] == [
        "seen-00",
        "seen-01",
        "seen-02",
    ]
    assert judged_pairs == [3]


def test_the_backstage_patch_names_refs_backstage_reads_back_and_lists_what_it_cannot() -> None:
    from slo_engine.drift import service

    def entity(service_id: str, ref: object, kind: NodeKind = NodeKind.SERVICE) -> Service:
        return Service(service_id, kind=kind, metadata={"backstage": {"entity_ref": ref}})

    services = [
        entity("web", "component:default/web"),
        Service("orders-db", kind=NodeKind.DATABASE),
        Service("postgresql:orders", kind=NodeKind.DATABASE),
        Service("api.stripe.com", kind=NodeKind.EXTERNAL),
        Service("odd", metadata={"backstage": "x"}),
        entity("billing", 42),
    ]
    reports = [
        report("web", target, S.OTEL_SERVICE_GRAPH)
        for target in ("orders-db", "postgresql:orders", "api.stripe.com", "team-b.search", "odd")
    ]
    reports += [report("web", "Legacy", S.BACKSTAGE), report("web", "Legacy", S.MANUAL)]
    reports += [report("billing", "odd", S.OTEL_SERVICE_GRAPH)]
    snapshot = GraphSnapshot.build(1, services, reports)
    items = drift_items(snapshot, NOW, include_external=True)
    (document,) = yaml.safe_load_all(service.backstage_patch(items, snapshot))
    assert document == {
        "entityRef": "component:default/web",
        "dependsOn": {
            "add": [
                "component:default/odd",
                "component:team-b/search",
                "resource:default/orders-db",
            ]
        },
        "leftOut": [
            {"serviceId": "Legacy", "change": "remove"},
            {"serviceId": "api.stripe.com", "change": "add"},
            {"serviceId": "postgresql:orders", "change": "add"},
        ],
    }


class _Live:
    """What the kept judgement needs of a live graph: off-loop work, counted."""

    def __init__(self) -> None:
        self.judgements = 0

    async def off_loop(self, work: Callable[[], T]) -> T:
        self.judgements += 1
        await asyncio.sleep(0.05)  # long enough for the other requests to come
        return await asyncio.to_thread(work)


def test_one_whole_graph_judgement_at_a_time_kept_across_revisions() -> None:
    from slo_engine.drift import service

    seen_now = DependencyReport("a", "b", S.JAEGER, datetime.now(UTC))
    snapshot = GraphSnapshot.build(1, [], [seen_now])
    live = _Live()

    async def scenario() -> None:
        at_once = await asyncio.gather(
            *(service.whole_graph(live, snapshot, service.DEFAULT_SCOPE) for _ in range(5))  # type: ignore[arg-type]
        )
        assert live.judgements == 1 and len({id(j) for j in at_once}) == 1
        snapshot.revision = 2  # a write since: the kept one is still used ...
        kept = await service.whole_graph(live, snapshot, service.DEFAULT_SCOPE)  # type: ignore[arg-type]
        assert kept is at_once[0] and kept.revision == 1 and live.judgements == 1
        assert service.kept_totals(snapshot) == {
            Drift.DECLARED_ONLY: 0,
            Drift.OBSERVED_ONLY: 1,
            Drift.MISMATCH: 0,
        }
        # ... unless a later revision is asked for.
        later = await service.whole_graph(live, snapshot, service.DEFAULT_SCOPE, 2)  # type: ignore[arg-type]
        assert later.revision == 2 and live.judgements == 2

    asyncio.run(scenario())
