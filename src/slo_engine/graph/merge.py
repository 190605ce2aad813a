"""Merge several discovery sources' reports of one edge into one answer.

Rules (also in docs/merge.md):

* Declared attributes (communication mode, criticality, protocol, timeout, retry
  configuration) come from the highest-priority source that gives a value, in the order
  of `DECLARATION_PRIORITY`: people and catalogs say what a dependency *should* be, so
  manual declarations win over observations.
* Traffic figures (request rate, error rate, p95 latency) come from the highest-priority
  source that measured them, in the order of `OBSERVATION_PRIORITY`: the mesh sees every
  request on both sides, tracing sees a sample.
* Confidence that the dependency exists combines the reports as independent evidence
  (noisy-OR): ``1 - prod(1 - c_i)``. Each report's confidence is the client's own
  ``confidence_score`` or its source's `BASE_CONFIDENCE`.
* ``last_observed_at`` is the latest of the reports; the merged edge is stale only when
  every report merged into it is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slo_engine.graph.model import (
    DECLARED_ATTRIBUTES,
    EDGE_ATTRIBUTES,
    OBSERVED_ATTRIBUTES,
    DependencyReport,
    DiscoverySource,
    MergedDependency,
    ReportedNames,
)

DECLARATION_PRIORITY: tuple[DiscoverySource, ...] = (
    DiscoverySource.MANUAL,
    DiscoverySource.BACKSTAGE,
    DiscoverySource.KUBERNETES,
    DiscoverySource.SERVICE_MESH,
    DiscoverySource.OTEL_SERVICE_GRAPH,
    DiscoverySource.JAEGER,
)

OBSERVATION_PRIORITY: tuple[DiscoverySource, ...] = (
    DiscoverySource.SERVICE_MESH,
    DiscoverySource.OTEL_SERVICE_GRAPH,
    DiscoverySource.JAEGER,
    DiscoverySource.KUBERNETES,
    DiscoverySource.BACKSTAGE,
    DiscoverySource.MANUAL,
)

BASE_CONFIDENCE: dict[DiscoverySource, float] = {
    # Both proxies of the call saw real requests.
    DiscoverySource.SERVICE_MESH: 0.95,
    # Spans from both sides, but only for instrumented services and sampled traces.
    DiscoverySource.OTEL_SERVICE_GRAPH: 0.9,
    DiscoverySource.JAEGER: 0.85,
    # A person said so: usually right, sometimes out of date.
    DiscoverySource.MANUAL: 0.9,
    DiscoverySource.BACKSTAGE: 0.8,
    # Derived from configuration (environment, service references), not traffic.
    DiscoverySource.KUBERNETES: 0.7,
}

_DECLARATION_RANK = {source: rank for rank, source in enumerate(DECLARATION_PRIORITY)}
_OBSERVATION_RANK = {source: rank for rank, source in enumerate(OBSERVATION_PRIORITY)}


def combine_confidence(scores: Sequence[float]) -> float:
    """Noisy-OR of independent confidences, rounded to 4 places.

    >>> combine_confidence([0.9, 0.5])
    0.95
    """
    disbelief = 1.0
    for score in scores:
        disbelief *= 1.0 - min(max(score, 0.0), 1.0)
    return round(1.0 - disbelief, 4)


def _first_value(reports: Sequence[DependencyReport], field_name: str) -> Any:
    for report in reports:
        value = getattr(report, field_name)
        if value is not None:
            return value
    return None


def reported_names(report: DependencyReport) -> ReportedNames | None:
    """How the report's source named the edge's ends, when an alias renamed one."""
    if report.source_reported_as is None and report.target_reported_as is None:
        return None
    return ReportedNames(
        report.discovery_source,
        report.source_reported_as or report.source,
        report.target_reported_as or report.target,
    )


def merge_reports(reports: Sequence[DependencyReport]) -> MergedDependency:
    """Merge the reports of one (source, target) pair. O(k log k) for k reports.

    `reports` must be non-empty and all about the same pair.
    """
    if not reports:
        raise ValueError("merge_reports needs at least one report")
    if len(reports) == 1:
        only = reports[0]
        return MergedDependency(
            source=only.source,
            target=only.target,
            discovery_sources=(only.discovery_source,),
            confidence_score=combine_confidence([only.confidence_score]),
            last_observed_at=only.last_observed_at,
            is_stale=only.is_stale,
            **{name: getattr(only, name) for name in EDGE_ATTRIBUTES},
            reported_as=() if (names := reported_names(only)) is None else (names,),
        )
    declared = sorted(reports, key=lambda r: _DECLARATION_RANK[r.discovery_source])
    observed = sorted(reports, key=lambda r: _OBSERVATION_RANK[r.discovery_source])
    values: dict[str, Any] = {name: _first_value(declared, name) for name in DECLARED_ATTRIBUTES}
    values.update({name: _first_value(observed, name) for name in OBSERVED_ATTRIBUTES})
    return MergedDependency(
        source=reports[0].source,
        target=reports[0].target,
        discovery_sources=tuple(r.discovery_source for r in declared),
        confidence_score=combine_confidence([r.confidence_score for r in reports]),
        last_observed_at=max(r.last_observed_at for r in reports),
        is_stale=all(r.is_stale for r in reports),
        **values,
        reported_as=tuple(names for r in declared if (names := reported_names(r)) is not None),
    )
