"""What a write changed in the graph, as entries of the change log (history).

Every write compares what it stores with the exact snapshot it started from and
records one entry per thing that changed: an edge report reported, changed, gone stale,
come back or retracted; a service created, updated or deleted; a cycle opened or
resolved. The entries of edges and services also carry the whole state after the change
(`state`), so that the graph as it was at any revision can be rebuilt from the entries
valid at that revision without replaying the log (history/service.py).

Observed traffic figures move on every discovery run. A change of a figure alone is
recorded only past `FIGURE_THRESHOLDS` (relative and absolute, both), so that traffic
noise does not flood the log; the figures an answer "as of" a time shows are therefore
those of the last recorded change of the report, within these thresholds of the stored
ones (docs/history.md).

Pure: no I/O. Each function is O(fields) per row.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slo_engine.graph.model import (
    DECLARED_ATTRIBUTES,
    OBSERVED_ATTRIBUTES,
    REPORTED_NAMES,
    CommunicationMode,
    DependencyCriticality,
    DependencyReport,
    DiscoverySource,
    NodeKind,
    Service,
    ServiceCriticality,
)
from slo_engine.graph.snapshot import GraphSnapshot


class ChangeType(enum.StrEnum):
    """What happened to one thing at one revision."""

    EDGE_REPORTED = "edge.reported"  # a source reports a pair it did not report before
    EDGE_CHANGED = "edge.changed"  # its declared attributes or (past a threshold) figures
    EDGE_STALE = "edge.stale"  # no longer observed for the staleness threshold
    EDGE_FRESH = "edge.fresh"  # a stale report observed again
    EDGE_RETRACTED = "edge.retracted"  # the source no longer reports it
    SERVICE_CREATED = "service.created"
    SERVICE_UPDATED = "service.updated"
    SERVICE_DELETED = "service.deleted"
    CYCLE_OPENED = "cycle.opened"
    CYCLE_RESOLVED = "cycle.resolved"


# The kind of thing a change is about (the first part of its type), looked up once per
# type: a write of 250,000 reports asks it for every entry.
EDGE, SERVICE, CYCLE = "edge", "service", "cycle"
_KIND_OF = {change_type: change_type.value.split(".", 1)[0] for change_type in ChangeType}

# A figure alone counts as changed when it appears, disappears, or moves by more than
# both RELATIVE of the larger value and its absolute floor (requests per second, failed
# share, milliseconds).
RELATIVE_FIGURE_CHANGE = 0.25
FIGURE_THRESHOLDS: Mapping[str, float] = {
    "request_rate": 0.1,
    "error_rate": 0.005,
    "latency_p95_ms": 5.0,
}
# What else of a report is recorded exactly (a change of any of these is a change).
_EXACT_REPORT_FIELDS = (*DECLARED_ATTRIBUTES, "confidence_score", *REPORTED_NAMES)
_SERVICE_FIELDS = ("display_name", "team", "criticality", "metadata", "discovered", "kind")
# Recorded with each state but never a change of their own: they move on every write.
BOOKKEEPING_FIELDS = frozenset({"last_observed_at", "created_at", "updated_at"})


@dataclass(frozen=True, slots=True)
class GraphChange:
    """One entry of the change log, before the store gives it its revision and time.

    `state` is the thing as it is after the change (None once it is gone, and for
    cycles); `previous` the values that changed, as they were before.
    """

    type: ChangeType
    service_id: str  # the service, the caller of an edge, a cycle's first member
    target_id: str | None = None  # the callee of an edge
    discovery_source: str | None = None  # whose report (edges)
    state: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        return _KIND_OF[self.type]


@dataclass(frozen=True, slots=True)
class EntryOutline:
    """A stored entry without the state of its edge or service, which is most of its
    bytes (what webhook messages are made of); a cycle's state, its path, is kept."""

    revision: int
    changed_at: datetime
    actor: str | None
    type: ChangeType
    service_id: str
    target_id: str | None
    discovery_source: str | None
    cycle: dict[str, Any] | None


def _figure_moved(name: str, old: float | None, new: float | None) -> bool:
    """Whether an observed figure moved enough to be recorded.

    >>> _figure_moved("request_rate", 10.0, 11.0), _figure_moved("request_rate", 10.0, 14.0)
    (False, True)
    >>> _figure_moved("error_rate", 0.0, 0.004), _figure_moved("error_rate", None, 0.0)
    (False, True)
    """
    if old is None or new is None:
        return (old is None) != (new is None)
    moved = abs(new - old)
    return moved > FIGURE_THRESHOLDS[name] and moved > RELATIVE_FIGURE_CHANGE * max(
        abs(old), abs(new)
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def report_state(report: DependencyReport) -> dict[str, Any]:
    """A report's recorded state: everything but its pair and source (the entry's keys)."""
    state: dict[str, Any] = {
        name: getattr(report, name) for name in (*_EXACT_REPORT_FIELDS, *OBSERVED_ATTRIBUTES)
    }
    state["is_stale"] = report.is_stale
    state["last_observed_at"] = _time(report.last_observed_at)
    return state


def report_from_state(
    source: str, target: str, discovery_source: str, state: Mapping[str, Any]
) -> DependencyReport:
    """The report a recorded state describes (the inverse of `report_state`)."""
    mode, criticality = state.get("communication_mode"), state.get("criticality")
    return DependencyReport(
        source=source,
        target=target,
        discovery_source=DiscoverySource(discovery_source),
        last_observed_at=datetime.fromisoformat(state["last_observed_at"]),
        communication_mode=CommunicationMode(mode) if mode else None,
        criticality=DependencyCriticality(criticality) if criticality else None,
        protocol=state.get("protocol"),
        timeout_ms=state.get("timeout_ms"),
        retry_config=state.get("retry_config"),
        confidence_score=state["confidence_score"],
        request_rate=state.get("request_rate"),
        error_rate=state.get("error_rate"),
        latency_p95_ms=state.get("latency_p95_ms"),
        is_stale=state["is_stale"],
        source_reported_as=state.get("source_reported_as"),
        target_reported_as=state.get("target_reported_as"),
    )


def service_state(service: Service) -> dict[str, Any]:
    state: dict[str, Any] = {name: getattr(service, name) for name in _SERVICE_FIELDS}
    state["created_at"] = _time(service.created_at)
    state["updated_at"] = _time(service.updated_at)
    return state


def service_from_state(service_id: str, state: Mapping[str, Any]) -> Service:
    """The service a recorded state describes (the inverse of `service_state`)."""
    criticality = state.get("criticality")
    created, updated = state.get("created_at"), state.get("updated_at")
    # Entries recorded before kinds existed have none: those were services.
    kind = state.get("kind")
    return Service(
        kind=NodeKind(kind) if kind else NodeKind.SERVICE,
        service_id=service_id,
        display_name=state.get("display_name"),
        team=state.get("team"),
        criticality=ServiceCriticality(criticality) if criticality else None,
        metadata=state.get("metadata") or {},
        discovered=bool(state.get("discovered")),
        created_at=None if created is None else datetime.fromisoformat(created),
        updated_at=None if updated is None else datetime.fromisoformat(updated),
    )


def report_change(old: DependencyReport | None, new: DependencyReport) -> GraphChange | None:
    """The entry for a report stored as `new` over `old` (same pair and source), or
    None when nothing worth recording changed (only `last_observed_at`, or figures
    within their thresholds)."""
    if old is None:
        change_type = ChangeType.EDGE_REPORTED
        previous = None
    else:
        previous = {
            name: getattr(old, name)
            for name in _EXACT_REPORT_FIELDS
            if getattr(old, name) != getattr(new, name)
        }
        previous.update(
            (name, getattr(old, name))
            for name in OBSERVED_ATTRIBUTES
            if _figure_moved(name, getattr(old, name), getattr(new, name))
        )
        if old.is_stale != new.is_stale:
            change_type = ChangeType.EDGE_STALE if new.is_stale else ChangeType.EDGE_FRESH
        elif previous:
            change_type = ChangeType.EDGE_CHANGED
        else:
            return None
    return GraphChange(
        change_type,
        new.source,
        new.target,
        new.discovery_source,
        report_state(new),
        previous or None,
    )


def report_retracted(report: DependencyReport) -> GraphChange:
    return GraphChange(
        ChangeType.EDGE_RETRACTED,
        report.source,
        report.target,
        report.discovery_source,
        previous=report_state(report),
    )


def service_change(old: Service | None, new: Service) -> GraphChange | None:
    """The entry for a service stored as `new` over `old`, or None if only its
    `updated_at` moved."""
    if old is None:
        return GraphChange(ChangeType.SERVICE_CREATED, new.service_id, state=service_state(new))
    previous = {
        name: getattr(old, name)
        for name in _SERVICE_FIELDS
        if getattr(old, name) != getattr(new, name)
    }
    if not previous:
        return None
    return GraphChange(
        ChangeType.SERVICE_UPDATED, new.service_id, state=service_state(new), previous=previous
    )


def service_deleted(service: Service) -> GraphChange:
    return GraphChange(
        ChangeType.SERVICE_DELETED, service.service_id, previous=service_state(service)
    )


def changes_of_write(
    base: GraphSnapshot,
    services: Iterable[Service],
    reports: Iterable[DependencyReport],
    retracted: Iterable[DependencyReport] = (),
) -> list[GraphChange]:
    """The entries of one write: each service and report it stored compared with the
    snapshot it started from, then the reports it retracted. O(rows written)."""
    changes: list[GraphChange] = []
    for service in services:
        change = service_change(base.services.get(service.service_id), service)
        if change is not None:
            changes.append(change)
    for report in reports:
        old = base.report((report.source, report.target), report.discovery_source)
        change = report_change(old, report)
        if change is not None:
            changes.append(change)
    changes.extend(report_retracted(r) for r in retracted)
    return changes


def cycle_change(opened: bool, cycle_path: list[str], reason: str | None = None) -> GraphChange:
    """A cycle opened (or back) or resolved; `state` holds its path (and why it
    resolved, when the write knows)."""
    state: dict[str, Any] = {"cycle_path": cycle_path}
    if reason is not None:
        state["reason"] = reason
    return GraphChange(
        ChangeType.CYCLE_OPENED if opened else ChangeType.CYCLE_RESOLVED,
        cycle_path[0] if cycle_path else "",
        state=state,
    )
