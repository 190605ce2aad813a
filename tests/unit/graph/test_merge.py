"""Merging several discovery sources' reports of one edge (docs/merge.md)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_engine.graph.merge import (
    BASE_CONFIDENCE,
    DECLARATION_PRIORITY,
    OBSERVATION_PRIORITY,
    combine_confidence,
    merge_reports,
)
from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    DependencyReport,
    DiscoverySource,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DECLARED = ("communication_mode", "criticality", "protocol", "timeout_ms", "retry_config")
OBSERVED = ("request_rate", "error_rate", "latency_p95_ms")


def report(source: DiscoverySource, **fields: Any) -> DependencyReport:
    fields.setdefault("last_observed_at", T0)
    return DependencyReport(source="a", target="b", discovery_source=source, **fields)


# --------------------------------------------------------------------------- confidence


def test_combine_confidence_examples() -> None:
    assert combine_confidence([0.9, 0.5]) == 0.95
    assert combine_confidence([0.9, 0.95]) == 0.995
    assert combine_confidence([0.5, 0.5, 0.5]) == 0.875
    assert combine_confidence([0.3]) == 0.3
    assert combine_confidence([]) == 0.0
    assert combine_confidence([0.0, 0.0]) == 0.0
    assert combine_confidence([1.0, 0.2]) == 1.0


def test_combine_confidence_rounds_to_four_places() -> None:
    assert combine_confidence([0.123456]) == 0.1235
    assert combine_confidence([1 / 3, 1 / 3]) == 0.5556


def test_combine_confidence_clamps_out_of_range_scores() -> None:
    assert combine_confidence([1.7]) == 1.0
    assert combine_confidence([-0.4]) == 0.0
    assert combine_confidence([-5.0, 0.5]) == 0.5
    assert combine_confidence([2.0, 0.1]) == 1.0


SCORES = st.floats(min_value=-0.5, max_value=1.5, allow_nan=False)
UNIT = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(SCORES, max_size=8))
def test_combine_confidence_is_a_probability_at_least_the_strongest_evidence(
    scores: list[float],
) -> None:
    combined = combine_confidence(scores)

    assert 0.0 <= combined <= 1.0
    clamped = [min(max(s, 0.0), 1.0) for s in scores]
    assert combined >= max(clamped, default=0.0) - 5e-5 - 1e-12
    expected = 1.0 - math.prod(1.0 - c for c in clamped)
    assert combined == pytest.approx(expected, abs=5e-5 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(SCORES, max_size=8), SCORES)
def test_combine_confidence_never_drops_with_more_evidence(
    scores: list[float], extra: float
) -> None:
    assert combine_confidence([*scores, extra]) >= combine_confidence(scores)


@settings(max_examples=200, deadline=None)
@given(st.lists(UNIT, min_size=1, max_size=8), st.data())
def test_combine_confidence_is_monotonic_in_each_score(
    scores: list[float], data: st.DataObject
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(scores) - 1))
    higher = data.draw(st.floats(min_value=scores[index], max_value=1.0))
    raised = [*scores]
    raised[index] = higher

    assert combine_confidence(raised) >= combine_confidence(scores)


@settings(max_examples=100, deadline=None)
@given(st.lists(UNIT, max_size=8), st.randoms(use_true_random=False))
def test_combine_confidence_ignores_order(scores: list[float], rng: Any) -> None:
    shuffled = [*scores]
    rng.shuffle(shuffled)

    assert combine_confidence(shuffled) == pytest.approx(combine_confidence(scores), abs=1e-4)


def test_base_confidence_covers_every_source_and_both_priorities_are_complete() -> None:
    assert set(BASE_CONFIDENCE) == set(DiscoverySource)
    assert all(0.0 < c < 1.0 for c in BASE_CONFIDENCE.values())
    assert sorted(DECLARATION_PRIORITY) == sorted(DiscoverySource)
    assert sorted(OBSERVATION_PRIORITY) == sorted(DiscoverySource)
    assert DECLARATION_PRIORITY[0] is DiscoverySource.MANUAL
    assert OBSERVATION_PRIORITY[0] is DiscoverySource.SERVICE_MESH


# --------------------------------------------------------------------------- merge_reports


def test_merge_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one report"):
        merge_reports([])


def test_single_report_is_passed_through() -> None:
    only = report(
        DiscoverySource.JAEGER,
        communication_mode=CommunicationMode.ASYNC,
        criticality=DependencyCriticality.DEGRADED,
        protocol="amqp",
        timeout_ms=250,
        retry_config={"attempts": 3},
        confidence_score=0.85,
        request_rate=3.5,
        error_rate=0.01,
        latency_p95_ms=40.0,
        is_stale=True,
    )

    merged = merge_reports([only])

    assert merged.source == "a"
    assert merged.target == "b"
    assert merged.discovery_sources == (DiscoverySource.JAEGER,)
    assert merged.confidence_score == 0.85
    assert merged.last_observed_at == T0
    assert merged.is_stale is True
    for name in (*DECLARED, *OBSERVED):
        assert getattr(merged, name) == getattr(only, name), name


def test_documented_example_manual_and_mesh() -> None:
    manual = report(
        DiscoverySource.MANUAL,
        criticality=DependencyCriticality.SOFT,
        timeout_ms=300,
        confidence_score=0.9,
    )
    mesh = report(
        DiscoverySource.SERVICE_MESH,
        criticality=DependencyCriticality.HARD,
        request_rate=12.5,
        confidence_score=0.95,
    )

    for reports in ([manual, mesh], [mesh, manual]):
        merged = merge_reports(reports)
        assert merged.criticality is DependencyCriticality.SOFT
        assert merged.timeout_ms == 300
        assert merged.request_rate == 12.5
        assert merged.confidence_score == 0.995
        assert merged.discovery_sources == (DiscoverySource.MANUAL, DiscoverySource.SERVICE_MESH)


def test_manual_beats_observed_sources_for_declared_attributes() -> None:
    otel = report(
        DiscoverySource.OTEL_SERVICE_GRAPH,
        communication_mode=CommunicationMode.SYNC,
        protocol="http",
        timeout_ms=1000,
        retry_config={"attempts": 1},
    )
    manual = report(
        DiscoverySource.MANUAL,
        communication_mode=CommunicationMode.ASYNC,
        protocol="grpc",
        timeout_ms=200,
        retry_config={"attempts": 5},
    )

    merged = merge_reports([otel, manual])

    assert merged.communication_mode is CommunicationMode.ASYNC
    assert merged.protocol == "grpc"
    assert merged.timeout_ms == 200
    assert merged.retry_config == {"attempts": 5}


def test_mesh_beats_otel_for_traffic_figures() -> None:
    otel = report(
        DiscoverySource.OTEL_SERVICE_GRAPH, request_rate=5.0, error_rate=0.2, latency_p95_ms=90.0
    )
    mesh = report(
        DiscoverySource.SERVICE_MESH, request_rate=7.0, error_rate=0.1, latency_p95_ms=80.0
    )

    for reports in ([otel, mesh], [mesh, otel]):
        merged = merge_reports(reports)
        assert merged.request_rate == 7.0
        assert merged.error_rate == 0.1
        assert merged.latency_p95_ms == 80.0


def test_manual_traffic_figures_lose_to_any_observation() -> None:
    manual = report(DiscoverySource.MANUAL, request_rate=100.0)
    kubernetes = report(DiscoverySource.KUBERNETES, request_rate=1.0)

    assert merge_reports([manual, kubernetes]).request_rate == 1.0


def test_none_falls_through_to_the_next_source() -> None:
    manual = report(DiscoverySource.MANUAL, protocol="grpc")  # no criticality, no timeout
    backstage = report(DiscoverySource.BACKSTAGE, criticality=DependencyCriticality.HARD)
    jaeger = report(DiscoverySource.JAEGER, timeout_ms=700, protocol="http", error_rate=0.3)
    mesh = report(DiscoverySource.SERVICE_MESH, request_rate=9.0)  # no error rate

    merged = merge_reports([jaeger, mesh, backstage, manual])

    assert merged.protocol == "grpc"
    assert merged.criticality is DependencyCriticality.HARD
    assert merged.timeout_ms == 700
    assert merged.request_rate == 9.0
    assert merged.error_rate == 0.3
    assert merged.latency_p95_ms is None
    assert merged.communication_mode is None


def test_zero_is_a_value_not_a_missing_one() -> None:
    mesh = report(DiscoverySource.SERVICE_MESH, error_rate=0.0)
    otel = report(DiscoverySource.OTEL_SERVICE_GRAPH, error_rate=0.5)
    manual = report(DiscoverySource.MANUAL, timeout_ms=0)
    k8s = report(DiscoverySource.KUBERNETES, timeout_ms=5000)

    merged = merge_reports([otel, mesh, k8s, manual])

    assert merged.error_rate == 0.0
    assert merged.timeout_ms == 0


def test_stale_only_when_every_report_is_stale() -> None:
    stale = report(DiscoverySource.JAEGER, is_stale=True)
    also_stale = report(DiscoverySource.KUBERNETES, is_stale=True)
    fresh = report(DiscoverySource.OTEL_SERVICE_GRAPH, is_stale=False)

    assert merge_reports([stale, fresh]).is_stale is False
    assert merge_reports([fresh, stale]).is_stale is False
    assert merge_reports([stale, also_stale]).is_stale is True


def test_last_observed_at_is_the_latest() -> None:
    old = report(DiscoverySource.MANUAL, last_observed_at=T0)
    new = report(DiscoverySource.JAEGER, last_observed_at=T0 + timedelta(hours=3))
    mid = report(DiscoverySource.KUBERNETES, last_observed_at=T0 + timedelta(hours=1))

    assert merge_reports([old, new, mid]).last_observed_at == T0 + timedelta(hours=3)
    assert merge_reports([new, old]).last_observed_at == T0 + timedelta(hours=3)


def test_discovery_sources_lists_every_source_in_declaration_priority() -> None:
    reports = [report(source) for source in reversed(DECLARATION_PRIORITY)]

    merged = merge_reports(reports)

    assert merged.discovery_sources == DECLARATION_PRIORITY


def test_confidence_combines_all_reports() -> None:
    reports = [
        report(DiscoverySource.KUBERNETES, confidence_score=0.7),
        report(DiscoverySource.BACKSTAGE, confidence_score=0.8),
    ]

    assert merge_reports(reports).confidence_score == 0.94


# --------------------------------------------------------------------------- property


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


@st.composite
def report_sets(draw: st.DrawFn) -> list[DependencyReport]:
    sources = draw(st.lists(st.sampled_from(list(DiscoverySource)), min_size=1, unique=True))
    return [
        DependencyReport(
            source="svc-a",
            target="svc-b",
            discovery_source=source,
            last_observed_at=T0 + timedelta(minutes=draw(st.integers(0, 10_000))),
            communication_mode=draw(optional(st.sampled_from(list(CommunicationMode)))),
            criticality=draw(optional(st.sampled_from(list(DependencyCriticality)))),
            protocol=draw(optional(st.sampled_from(["http", "grpc", "amqp"]))),
            timeout_ms=draw(optional(st.integers(0, 60_000))),
            retry_config=draw(optional(st.fixed_dictionaries({"attempts": st.integers(0, 5)}))),
            confidence_score=draw(st.floats(0.0, 1.0)),
            request_rate=draw(optional(st.floats(0.0, 1e4))),
            error_rate=draw(optional(st.floats(0.0, 1.0))),
            latency_p95_ms=draw(optional(st.floats(0.0, 1e4))),
            is_stale=draw(st.booleans()),
        )
        for source in sources
    ]


def first_given(
    reports: list[DependencyReport], order: tuple[DiscoverySource, ...], name: str
) -> Any:
    by_source = {r.discovery_source: r for r in reports}
    for source in order:
        if source in by_source and getattr(by_source[source], name) is not None:
            return getattr(by_source[source], name)
    return None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report_sets(), st.randoms(use_true_random=False))
def test_merge_follows_the_rules_for_any_reports(reports: list[DependencyReport], rng: Any) -> None:
    merged = merge_reports(reports)

    for name in DECLARED:
        assert getattr(merged, name) == first_given(reports, DECLARATION_PRIORITY, name), name
    for name in OBSERVED:
        assert getattr(merged, name) == first_given(reports, OBSERVATION_PRIORITY, name), name
    sources = {r.discovery_source for r in reports}
    assert merged.discovery_sources == tuple(s for s in DECLARATION_PRIORITY if s in sources)
    assert merged.confidence_score == combine_confidence([r.confidence_score for r in reports])
    assert merged.last_observed_at == max(r.last_observed_at for r in reports)
    assert merged.is_stale == all(r.is_stale for r in reports)
    assert (merged.source, merged.target) == ("svc-a", "svc-b")

    # The answer does not depend on the order the store returned the reports in
    # (confidence up to the rounding of a differently ordered product).
    shuffled = [*reports]
    rng.shuffle(shuffled)
    again = merge_reports(shuffled)
    assert replace(again, confidence_score=merged.confidence_score) == merged
    assert again.confidence_score == pytest.approx(merged.confidence_score, abs=1e-4)
