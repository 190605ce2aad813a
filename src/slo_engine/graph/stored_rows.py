"""The rows the database stores after a write, computed in memory.

The upserts' rules are declared once, field by field, in the lists below: the SQL of
catalog/bulk.py is written from them, and the functions here apply them in memory, so
that a write can apply to the snapshot exactly what it
stored without reading it back, and so that the staleness job flags in the snapshot the
rows it flags in the database. They are rules of the writes, not of the snapshot's
layout (graph/snapshot.py), hence a module of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from slo_engine.graph.model import (
    EDGE_ATTRIBUTES,
    REPORTED_NAMES,
    DependencyReport,
    NodeKind,
    Service,
    ServiceDeclaration,
)

T = TypeVar("T")

# A declared service keeps the stored value of these where its declaration leaves them
# out (None); given metadata replaces the stored object whole; it is no longer
# `discovered`.
SERVICE_FIELDS_KEPT_WHEN_ABSENT = ("display_name", "team", "criticality", "kind")
# A report seen again takes these from the new report, is fresh again, and keeps the
# later `last_observed_at` (and its first observation).
REPORT_FIELDS_REPLACED = (*EDGE_ATTRIBUTES, "confidence_score", *REPORTED_NAMES)


def _given(value: T | None, stored: T | None) -> T | None:
    return stored if value is None else value


def declared_service(
    stored: Service | None, declaration: ServiceDeclaration, now: datetime
) -> Service:
    """The service as stored after `declaration` is upserted over `stored`.

    Fields the declaration leaves out keep their stored value; given metadata replaces
    the stored object.
    """
    if stored is None:
        return Service(
            service_id=declaration.service_id,
            display_name=declaration.display_name,
            team=declaration.team,
            criticality=declaration.criticality,
            metadata=declaration.metadata or {},
            discovered=False,
            created_at=now,
            updated_at=now,
            kind=declaration.kind or NodeKind.SERVICE,
            kind_declared=declaration.kind is not None,
        )
    kept: dict[str, Any] = {
        name: _given(getattr(declaration, name), getattr(stored, name))
        for name in SERVICE_FIELDS_KEPT_WHEN_ABSENT
    }
    return replace(
        stored,
        **kept,
        metadata=stored.metadata if declaration.metadata is None else declaration.metadata,
        discovered=False,
        updated_at=now,
        kind_declared=stored.kind_declared or declaration.kind is not None,
    )


def discovered_service(service_id: str, now: datetime, kind: NodeKind | None = None) -> Service:
    """A service first named by an edge, before anyone declares it, of the kind the
    edge's source says it is (a service when it says nothing)."""
    return Service(
        service_id=service_id,
        discovered=True,
        created_at=now,
        updated_at=now,
        kind=kind or NodeKind.SERVICE,
    )


def observed_kind(stored: Service, kind: NodeKind, now: datetime) -> Service | None:
    """`stored` with the kind an edge's source observed, or None when nothing changes:
    only a node whose kind no node entry declared takes an observed kind (a declared
    kind wins; a node declared without one, by a catalog or Kubernetes, still takes
    what traffic shows it to be)."""
    if stored.kind_declared or stored.kind is kind:
        return None
    return replace(stored, kind=kind, updated_at=now)


def observed_report(stored: DependencyReport | None, report: DependencyReport) -> DependencyReport:
    """The report as stored after `report` is upserted over `stored` (same source).

    It takes the new attributes, is fresh, and keeps the later `last_observed_at`.
    """
    if not report.is_stale and (
        stored is None or report.last_observed_at >= stored.last_observed_at
    ):
        return report
    if stored is None or report.last_observed_at >= stored.last_observed_at:
        return report._replace(is_stale=False)
    return report._replace(is_stale=False, last_observed_at=stored.last_observed_at)


def expired(
    report: DependencyReport, aging_sources: Iterable[str], observed_before: datetime
) -> bool:
    """Whether the staleness job flags `report` (the same rule as its SQL): a fresh
    report of a source whose edges age, last observed before the cutoff."""
    return (
        not report.is_stale
        and report.discovery_source in aging_sources
        and report.last_observed_at < observed_before
    )
