"""HTTP shapes of the change feed and of the difference between two revisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.catalog.change_log import ChangeEntry
from slo_engine.graph.change_log import ChangeType
from slo_engine.history.diff import Bound, CycleEvent, FieldChange, GraphDiff

# One edge report added at revision 58, in the feed and in a diff.
_REPORT_STATE: dict[str, Any] = {
    "communication_mode": None,
    "criticality": None,
    "protocol": "grpc",
    "timeout_ms": None,
    "retry_config": None,
    "confidence_score": 0.9,
    "request_rate": 3.5,
    "error_rate": 0.01,
    "latency_p95_ms": None,
    "is_stale": False,
    "last_observed_at": "2026-11-26T10:15:02+00:00",
}
_CYCLE_PATH = ["checkoutservice", "paymentservice", "checkoutservice"]
_CHANGE_PAGE_EXAMPLE: dict[str, Any] = {
    "items": [
        {
            "id": 1289,
            "revision": 58,
            "changed_at": "2026-11-26T10:15:02Z",
            "type": "edge.reported",
            "service_id": "paymentservice",
            "target_id": "checkoutservice",
            "discovery_source": "otel_service_graph",
            "actor": "job:discover-otel",
            "state": _REPORT_STATE,
            "previous": None,
        },
        {
            "id": 1290,
            "revision": 58,
            "changed_at": "2026-11-26T10:15:02Z",
            "type": "cycle.opened",
            "service_id": "checkoutservice",
            "target_id": None,
            "discovery_source": None,
            "actor": "job:discover-otel",
            "state": {"cycle_path": _CYCLE_PATH},
            "previous": None,
        },
    ],
    "next_cursor": "WzEyOTBd",
}
_GRAPH_DIFF_EXAMPLE: dict[str, Any] = {
    "from": {"revision": 57, "committed_at": "2026-11-26T10:00:00Z"},
    "to": {"revision": 58, "committed_at": "2026-11-26T10:15:02Z"},
    "services": {
        "added": [],
        "removed": [],
        "changed": [
            {
                "service_id": "paymentservice",
                "changes": {"team": {"old": "checkout", "new": "payments"}},
            }
        ],
        "counts": {"added": 0, "removed": 0, "changed": 1},
    },
    "edges": {
        "added": [
            {
                "source": "paymentservice",
                "target": "checkoutservice",
                "discovery_source": "otel_service_graph",
                "state": _REPORT_STATE,
            }
        ],
        "removed": [],
        "changed": [],
        "counts": {"added": 1, "removed": 0, "changed": 0},
    },
    "cycles": {
        "opened": [
            {
                "revision": 58,
                "changed_at": "2026-11-26T10:15:02Z",
                "cycle_path": _CYCLE_PATH,
                "reason": None,
            }
        ],
        "resolved": [],
        "counts": {"opened": 1, "resolved": 0},
    },
    "truncated": False,
}


class ChangeOut(BaseModel):
    id: int = Field(description="Position in the change log: increasing in revision order.")
    revision: int = Field(description="The graph revision that made the change.")
    changed_at: datetime = Field(description="When the write that made it ran.")
    type: ChangeType = Field(description="What happened (docs/history.md lists them).")
    service_id: str = Field(
        description="The service; for an edge its caller; for a cycle its first member."
    )
    target_id: str | None = Field(description="For an edge, its callee.")
    discovery_source: str | None = Field(description="For an edge, whose report it is.")
    actor: str | None = Field(description="Who wrote: an API key's name, `job:<name>`, `cli`.")
    state: dict[str, Any] | None = Field(
        description="The thing after the change (an edge report's or a service's fields; a "
        "cycle's path); none once it is gone."
    )
    previous: dict[str, Any] | None = Field(
        description="The values that changed, as they were before (for a retraction or a "
        "deletion, the whole thing as it was)."
    )

    @classmethod
    def of(cls, entry: ChangeEntry) -> ChangeOut:
        return cls(
            id=entry.id,
            revision=entry.revision,
            changed_at=entry.changed_at,
            type=entry.type,
            service_id=entry.service_id,
            target_id=entry.target_id,
            discovery_source=entry.discovery_source,
            actor=entry.actor,
            state=entry.state,
            previous=entry.previous,
        )


class ChangePage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CHANGE_PAGE_EXAMPLE]})

    items: list[ChangeOut] = Field(description="The changes of this page, in revision order.")
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; none on the last page. A "
        "consumer that follows the feed keeps the last cursor it got and asks again later."
    )


# --- GET /api/v1/graph/diff ------------------------------------------------------------


class DiffBoundOut(BaseModel):
    revision: int = Field(description="The graph revision compared.")
    committed_at: datetime | None = Field(
        description="When it was committed; none when its time is not kept."
    )


class FieldChangeOut(BaseModel):
    old: Any = Field(description="The value at `from`.")
    new: Any = Field(description="The value at `to`.")


class ServiceStateOut(BaseModel):
    service_id: str = Field(description="The service's id.")
    state: dict[str, Any] = Field(
        description="The service's recorded fields (at `to` when added, at `from` when removed)."
    )


class ServiceChangeOut(BaseModel):
    service_id: str = Field(description="The service's id.")
    changes: dict[str, FieldChangeOut] = Field(description="Each field that differs.")


class EdgeStateOut(BaseModel):
    source: str = Field(description="The caller.")
    target: str = Field(description="The callee.")
    discovery_source: str = Field(description="Whose report it is.")
    state: dict[str, Any] = Field(
        description="The report's recorded fields (at `to` when added, at `from` when removed)."
    )


class EdgeChangeOut(BaseModel):
    source: str = Field(description="The caller.")
    target: str = Field(description="The callee.")
    discovery_source: str = Field(description="Whose report it is.")
    changes: dict[str, FieldChangeOut] = Field(description="Each field that differs.")


class DiffCountsOut(BaseModel):
    """Whole counts: a list is cut at 10,000 entries, its count is not."""

    added: int = Field(description="Entries added, listed or not.")
    removed: int = Field(description="Entries removed, listed or not.")
    changed: int = Field(description="Entries changed, listed or not.")


class ServicesDiffOut(BaseModel):
    added: list[ServiceStateOut] = Field(description="Services only at `to`.")
    removed: list[ServiceStateOut] = Field(description="Services only at `from`.")
    changed: list[ServiceChangeOut] = Field(
        description="Services at both whose recorded fields differ."
    )
    counts: DiffCountsOut = Field(description="The whole counts of the three lists.")


class EdgesDiffOut(BaseModel):
    added: list[EdgeStateOut] = Field(description="Edge reports only at `to`.")
    removed: list[EdgeStateOut] = Field(description="Edge reports only at `from`.")
    changed: list[EdgeChangeOut] = Field(
        description="Edge reports at both whose recorded fields differ."
    )
    counts: DiffCountsOut = Field(description="The whole counts of the three lists.")


class CycleEventOut(BaseModel):
    revision: int = Field(description="The revision whose write opened or resolved it.")
    changed_at: datetime = Field(description="When that write ran.")
    cycle_path: list[str] = Field(description="The cycle, first service repeated last.")
    reason: str | None = Field(description="Why it resolved, when the write knew.")


class CycleCountsOut(BaseModel):
    opened: int = Field(description="Cycles opened, listed or not.")
    resolved: int = Field(description="Cycles resolved, listed or not.")


class CyclesDiffOut(BaseModel):
    opened: list[CycleEventOut] = Field(description="Cycles opened, in revision order.")
    resolved: list[CycleEventOut] = Field(description="Cycles resolved, in revision order.")
    counts: CycleCountsOut = Field(description="The whole counts of the two lists.")


class GraphDiffOut(BaseModel):
    """What changed in the stored graph between two revisions."""

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"examples": [_GRAPH_DIFF_EXAMPLE]}
    )

    from_: DiffBoundOut = Field(alias="from", description="The earlier revision.")
    to: DiffBoundOut = Field(description="The later revision.")
    services: ServicesDiffOut = Field(
        description="Services that exist only at `to` (added), only at `from` (removed), "
        "or at both with different fields (changed); in service id order."
    )
    edges: EdgesDiffOut = Field(
        description="Edge reports (one source's report of a call) added, removed or "
        "changed, keyed by (source, target, discovery_source), in that order."
    )
    cycles: CyclesDiffOut = Field(
        description="Cycles opened and resolved by the writes after `from` up to `to`, "
        "in revision order."
    )
    truncated: bool = Field(description="Some list was cut at 10,000 entries (its count is whole).")

    @classmethod
    def of(cls, diff: GraphDiff) -> GraphDiffOut:
        services, edges, cycles = diff.services, diff.edges, diff.cycles

        def bound(b: Bound) -> DiffBoundOut:
            return DiffBoundOut(revision=b.revision, committed_at=b.committed_at)

        def changes(found: dict[str, FieldChange]) -> dict[str, FieldChangeOut]:
            return {name: FieldChangeOut(old=c.old, new=c.new) for name, c in found.items()}

        def cycle(e: CycleEvent) -> CycleEventOut:
            return CycleEventOut(
                revision=e.revision,
                changed_at=e.changed_at,
                cycle_path=e.cycle_path,
                reason=e.reason,
            )

        return cls(
            from_=bound(diff.start),
            to=bound(diff.end),
            services=ServicesDiffOut(
                added=[ServiceStateOut(service_id=k, state=dict(s)) for k, s in services.added],
                removed=[ServiceStateOut(service_id=k, state=dict(s)) for k, s in services.removed],
                changed=[
                    ServiceChangeOut(service_id=k, changes=changes(c)) for k, c in services.changed
                ],
                counts=DiffCountsOut(
                    added=services.added_count,
                    removed=services.removed_count,
                    changed=services.changed_count,
                ),
            ),
            edges=EdgesDiffOut(
                added=[
                    EdgeStateOut(source=k[0], target=k[1], discovery_source=k[2], state=dict(s))
                    for k, s in edges.added
                ],
                removed=[
                    EdgeStateOut(source=k[0], target=k[1], discovery_source=k[2], state=dict(s))
                    for k, s in edges.removed
                ],
                changed=[
                    EdgeChangeOut(
                        source=k[0], target=k[1], discovery_source=k[2], changes=changes(c)
                    )
                    for k, c in edges.changed
                ],
                counts=DiffCountsOut(
                    added=edges.added_count,
                    removed=edges.removed_count,
                    changed=edges.changed_count,
                ),
            ),
            cycles=CyclesDiffOut(
                opened=[cycle(e) for e in cycles.opened],
                resolved=[cycle(e) for e in cycles.resolved],
                counts=CycleCountsOut(opened=cycles.opened_count, resolved=cycles.resolved_count),
            ),
            truncated=diff.truncated,
        )
