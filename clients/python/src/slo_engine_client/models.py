"""The answers and request bodies of the slo-engine HTTP API, as pydantic models.

Each model is named as the schema it mirrors in the server's OpenAPI document
(`/openapi.json`, `components.schemas`), with the same fields; a test of the server's
repository checks them against a running server's document, so they do not drift.
Answers keep fields a newer server adds (`model_extra`) instead of failing on them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

# ------------------------------------------------------------------ enumerations


class Direction(StrEnum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    BOTH = "both"


class ServiceCriticality(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class NodeKind(StrEnum):
    """What a node is: a service of ours, a database, a message broker or topic,
    something outside, or a virtual node (the untraced client side of traffic)."""

    SERVICE = "service"
    DATABASE = "database"
    MESSAGING = "messaging"
    EXTERNAL = "external"
    VIRTUAL = "virtual"


class CommunicationMode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"


class DependencyCriticality(StrEnum):
    HARD = "hard"
    SOFT = "soft"
    DEGRADED = "degraded"


class DiscoverySource(StrEnum):
    MANUAL = "manual"
    OTEL_SERVICE_GRAPH = "otel_service_graph"
    SERVICE_MESH = "service_mesh"
    KUBERNETES = "kubernetes"
    BACKSTAGE = "backstage"
    JAEGER = "jaeger"


class Impact(StrEnum):
    DOWN = "down"
    DEGRADED = "degraded"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ChangeType(StrEnum):
    EDGE_REPORTED = "edge.reported"
    EDGE_CHANGED = "edge.changed"
    EDGE_STALE = "edge.stale"
    EDGE_FRESH = "edge.fresh"
    EDGE_RETRACTED = "edge.retracted"
    SERVICE_CREATED = "service.created"
    SERVICE_UPDATED = "service.updated"
    SERVICE_DELETED = "service.deleted"
    CYCLE_OPENED = "cycle.opened"
    CYCLE_RESOLVED = "cycle.resolved"


class ExportFormat(StrEnum):
    JSON = "json"
    DOT = "dot"
    MERMAID = "mermaid"
    CYTOSCAPE = "cytoscape"


class DiffFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"


# ------------------------------------------------------------------ bases


class Answer(BaseModel):
    """A JSON answer of the API. Fields a newer server adds are kept, not refused."""

    model_config = ConfigDict(extra="allow")


class Body(BaseModel):
    """A request body: unknown fields are refused here, as the server refuses them."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ services and subgraphs


# `kind` defaults to a service: a server older than node kinds sends none.


class ServiceOut(Answer):
    service_id: str
    kind: NodeKind = NodeKind.SERVICE
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    metadata: dict[str, Any]
    discovered: bool
    only_stale_edges: bool
    created_at: datetime | None
    updated_at: datetime | None


class ServicePage(Answer):
    items: list[ServiceOut]
    next_cursor: str | None


class NodeOut(Answer):
    service_id: str
    kind: NodeKind = NodeKind.SERVICE
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool
    depth: int


class EdgeAttributesOut(Answer):
    communication_mode: CommunicationMode | None
    criticality: DependencyCriticality | None
    protocol: str | None
    timeout_ms: int | None
    retry_config: dict[str, Any] | None
    request_rate: float | None
    error_rate: float | None
    latency_p95_ms: float | None


class EdgeOut(Answer):
    source: str
    target: str
    attributes: EdgeAttributesOut
    confidence_score: float
    discovery_sources: list[DiscoverySource]
    last_observed_at: datetime
    is_stale: bool


class StatisticsOut(Answer):
    total_nodes: int
    total_edges: int
    max_depth_reached: int
    truncated: bool
    # Services on the cut frontier -> how many of their neighbours were left out.
    unlisted_neighbours: dict[str, int] = Field(default_factory=dict)


class SubgraphOut(Answer):
    """getDependencies: the root service, the services within the depth, the edges;
    with `include=`, the root's impact and availability too."""

    service: ServiceOut
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    statistics: StatisticsOut
    impact: ImpactOut | None = None
    availability: AvailabilityOut | None = None


class GraphNodeOut(Answer):
    service_id: str
    kind: NodeKind = NodeKind.SERVICE
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool


class GraphPageOut(Answer):
    revision: int
    nodes: list[GraphNodeOut]
    edges: list[EdgeOut]
    next_cursor: str | None


# ------------------------------------------------------------------ insights


class PathEdgeOut(Answer):
    source: str
    target: str
    criticality: DependencyCriticality | None
    communication_mode: CommunicationMode | None
    effect: Impact


class AffectedOut(Answer):
    service_id: str
    kind: NodeKind = NodeKind.SERVICE
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool
    impact: Impact
    distance: int
    path: list[str]
    path_edges: list[PathEdgeOut]


class TeamTotalOut(Answer):
    team: str | None
    down: int
    degraded: int


class CriticalityTotalOut(Answer):
    criticality: ServiceCriticality | None
    down: int
    degraded: int


class ImpactTotalsOut(Answer):
    affected: int
    down: int
    degraded: int
    by_team: list[TeamTotalOut]
    by_criticality: list[CriticalityTotalOut]


class ImpactOut(Answer):
    """getImpact: who is hurt, and how, if the service goes down."""

    service: ServiceOut
    depth: int
    include_stale: bool
    affected: list[AffectedOut]
    truncated: bool
    totals: ImpactTotalsOut


class TermOut(Answer):
    service_id: str
    slo_target: float
    target_source: str
    observed_success: float | None
    factor: float
    factor_source: str
    unit: int


class UnitOut(Answer):
    unit: int
    members: list[str]
    cycle: bool
    factor: float


class LimitOut(Answer):
    unit: int
    members: list[str]
    factor: float
    cost: float
    ceiling_without: float


class AlternativeCeilingOut(Answer):
    ceiling: float
    nines: float | None
    dependencies: int
    arithmetic: str


class AvailabilityOut(Answer):
    """getAvailability: the best availability the service can promise, and why."""

    service: ServiceOut
    include_stale: bool
    ceiling: float
    nines: float | None
    dependencies: int
    default_slo_target: float
    arithmetic: str
    terms: list[TermOut]
    units: list[UnitOut]
    limiting: list[LimitOut]
    truncated: bool
    if_soft_were_hard: AlternativeCeilingOut
    notes: list[str]


class ServiceDetailOut(ServiceOut):
    """getService: one service; with `include=`, its impact and availability too."""

    impact: ImpactOut | None = None
    availability: AvailabilityOut | None = None


# ------------------------------------------------------------------ cycle alerts


class AlertOut(Answer):
    alert_id: str
    members: list[str]
    cycle_path: list[str]
    status: AlertStatus
    first_detected_at: datetime
    last_detected_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None


class AlertPage(Answer):
    items: list[AlertOut]
    next_cursor: str | None


class AlertUpdate(Body):
    status: Literal["acknowledged", "resolved", "open"]
    actor: str | None = None
    note: str | None = None


# ------------------------------------------------------------------ history


class ChangeOut(Answer):
    id: int
    revision: int
    changed_at: datetime
    type: ChangeType
    service_id: str
    target_id: str | None
    discovery_source: str | None
    actor: str | None
    state: dict[str, Any] | None
    previous: dict[str, Any] | None


class ChangePage(Answer):
    items: list[ChangeOut]
    next_cursor: str | None


class DiffBoundOut(Answer):
    revision: int
    committed_at: datetime | None


class DiffCountsOut(Answer):
    added: int
    removed: int
    changed: int


class FieldChangeOut(Answer):
    old: Any
    new: Any


class ServiceStateOut(Answer):
    service_id: str
    state: dict[str, Any]


class ServiceChangeOut(Answer):
    service_id: str
    changes: dict[str, FieldChangeOut]


class ServicesDiffOut(Answer):
    added: list[ServiceStateOut]
    removed: list[ServiceStateOut]
    changed: list[ServiceChangeOut]
    counts: DiffCountsOut


class EdgeStateOut(Answer):
    source: str
    target: str
    discovery_source: str
    state: dict[str, Any]


class EdgeChangeOut(Answer):
    source: str
    target: str
    discovery_source: str
    changes: dict[str, FieldChangeOut]


class EdgesDiffOut(Answer):
    added: list[EdgeStateOut]
    removed: list[EdgeStateOut]
    changed: list[EdgeChangeOut]
    counts: DiffCountsOut


class CycleEventOut(Answer):
    revision: int
    changed_at: datetime
    cycle_path: list[str]
    reason: str | None


class CycleCountsOut(Answer):
    opened: int
    resolved: int


class CyclesDiffOut(Answer):
    opened: list[CycleEventOut]
    resolved: list[CycleEventOut]
    counts: CycleCountsOut


class GraphDiffOut(Answer):
    """getGraphDiff: what changed between two revisions or times."""

    # `from` is a Python keyword: the field is `from_`, read and written as "from".
    model_config = ConfigDict(populate_by_name=True)

    from_: DiffBoundOut = Field(alias="from")
    to: DiffBoundOut
    services: ServicesDiffOut
    edges: EdgesDiffOut
    cycles: CyclesDiffOut
    truncated: bool


# ------------------------------------------------------------------ ingestion and retraction


class EdgeAttributes(Body):
    communication_mode: CommunicationMode | None = None
    criticality: DependencyCriticality | None = None
    protocol: str | None = None
    timeout_ms: int | None = None
    retry_config: dict[str, Any] | None = None
    confidence_score: float | None = None
    request_rate: float | None = None
    error_rate: float | None = None
    latency_p95_ms: float | None = None


class EdgeIn(Body):
    source: str
    target: str
    attributes: EdgeAttributes = Field(default_factory=EdgeAttributes)


class NodeIn(Body):
    service_id: str
    kind: NodeKind | None = None
    display_name: str | None = None
    team: str | None = None
    criticality: ServiceCriticality | None = None
    metadata: dict[str, Any] | None = None


class ReplaceScope(Body):
    services: list[str]


class IngestionRequest(Body):
    """ingestGraph's body: services and edges one discovery source reports."""

    source: DiscoverySource
    observed_at: datetime | None = None
    mode: Literal["merge", "replace"] = "merge"
    scope: ReplaceScope | None = None
    nodes: list[NodeIn] = Field(default_factory=list)
    edges: list[EdgeIn] = Field(default_factory=list)


class DetectedCycleOut(Answer):
    alert_id: str
    cycle_path: list[str]


class IngestionResponse(Answer):
    nodes_upserted: int
    edges_upserted: int
    revision: int
    edges_retracted: int = 0
    circular_dependencies_detected: list[DetectedCycleOut]
    warnings: list[str]


class RetractedEdgeOut(Answer):
    source: str
    target: str
    discovery_source: DiscoverySource


class RetractionResponse(Answer):
    revision: int
    retracted: list[RetractedEdgeOut]
    deleted_service: str | None = None
    cycles_resolved: list[list[str]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------ health and problems


class Liveness(Answer):
    status: str
    version: str


class ProblemErrorEntry(Answer):
    """One entry of a problem's `errors`: where (a JSON pointer) and what."""

    # The schema's name in the OpenAPI document (this package's `ProblemError` is the
    # exception that carries a whole problem).
    openapi_name: ClassVar[str] = "ProblemError"

    pointer: str
    detail: str


class Problem(Answer):
    """An RFC 9457 problem document, as every refusal of the API carries."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    correlation_id: str
    errors: list[ProblemErrorEntry] | None = None
    outcome_unknown: bool | None = None
