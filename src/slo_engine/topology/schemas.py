"""HTTP shapes of the subgraph query. Responses are encoded straight to JSON by
topology/service.py for speed; these models document them in the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    DiscoverySource,
)
from slo_engine.topology.catalog_schemas import (
    SERVICE_EXAMPLE,
    ServiceFactsOut,
    ServiceOut,
)
from slo_engine.topology.includes import insight_schema

# An edge as the answers encode it, for the examples of the subgraph and of the graph's
# pages.
EDGE_EXAMPLE: dict[str, Any] = {
    "source": "checkoutservice",
    "target": "paymentservice",
    "attributes": {
        "communication_mode": "sync",
        "criticality": "hard",
        "protocol": "grpc",
        "timeout_ms": 500,
        "retry_config": {"max_retries": 3},
        "request_rate": 42.0,
        "error_rate": 0.002,
        "latency_p95_ms": 35.5,
    },
    "confidence_score": 0.995,
    "discovery_sources": ["manual", "service_mesh"],
    "last_observed_at": "2026-11-26T10:00:00Z",
    "is_stale": False,
}


class NodeOut(ServiceFactsOut):
    depth: int = Field(
        description="Hops from the queried service along the query's direction, 1 to "
        "`depth` (with `both`, the smaller of the two directions' distances)."
    )


class EdgeAttributesOut(BaseModel):
    # graph.model.EDGE_ATTRIBUTES, in its order (tests/unit/test_edge_shapes.py).
    communication_mode: CommunicationMode | None = Field(
        description="`sync` (the caller waits for the answer) or `async` (messages, "
        "queues); null when no source declared it."
    )
    criticality: DependencyCriticality | None = Field(
        description="How the caller suffers when the callee fails: `hard` (it fails "
        "too), `soft` (it works on without), `degraded` (it works, worse); null when no "
        "source declared it."
    )
    protocol: str | None = Field(description="The call's protocol, e.g. http, grpc, kafka.")
    timeout_ms: int | None = Field(description="The caller's timeout for this call, in ms.")
    retry_config: dict[str, Any] | None = Field(
        description="The caller's retry policy as declared, kept verbatim."
    )
    request_rate: float | None = Field(description="Observed requests per second.")
    error_rate: float | None = Field(
        description="Observed share of failed requests, 0 to 1 (0.002 = 0.2%)."
    )
    latency_p95_ms: float | None = Field(
        description="Observed 95th percentile latency of the call, in ms."
    )


class ReportedNamesOut(BaseModel):
    discovery_source: DiscoverySource = Field(description="The source that named it so.")
    source: str = Field(description="The caller's name as that source reported it.")
    target: str = Field(description="The callee's name as that source reported it.")


class EdgeOut(BaseModel):
    source: str = Field(description="The caller's service id.")
    target: str = Field(description="The callee's service id.")
    attributes: EdgeAttributesOut = Field(
        description="The merged attributes: declared ones from the most trusted source "
        "that gives them, traffic figures from the best observer (docs/merge.md)."
    )
    confidence_score: float = Field(
        description="How sure the service is that the call exists, 0 to 1: the sources' "
        "confidences combined (noisy-OR, docs/merge.md)."
    )
    discovery_sources: list[DiscoverySource] = Field(
        description="Every source that reports the edge, most trusted declaration first."
    )
    last_observed_at: datetime = Field(
        description="The latest time any source reported the edge (UTC)."
    )
    is_stale: bool = Field(
        description="Every report of the edge is stale (no longer observed for "
        "STALE_EDGE_THRESHOLD_HOURS); only listed with `include_stale=true`."
    )
    reported_as: list[ReportedNamesOut] = Field(
        default_factory=list,
        description="Present only when an alias renamed an end: how each such source "
        "named the edge (docs/identity.md#aliases).",
    )


class StatisticsOut(BaseModel):
    total_nodes: int = Field(description="Services in `nodes` (the queried one not counted).")
    total_edges: int = Field(description="Edges in `edges`.")
    max_depth_reached: int = Field(
        description="The largest `depth` among the nodes: less than the `depth` asked "
        "when the walk ran out of services; 0 for none."
    )
    truncated: bool = Field(
        description="More than `max_nodes` services were in reach: only the closest "
        "`max_nodes` (ties by service id) and the edges between them are listed."
    )
    unlisted_neighbours: dict[str, int] = Field(
        default_factory=dict,
        description="When `truncated`: for the queried service and each service listed "
        "that has an edge of the walk to a service the cut left out, how many such "
        "services (the frontier of the cut, and how much lies beyond it), by service id; "
        "empty when nothing was cut.",
    )


class IncludedInsightsOut(BaseModel):
    """The insights an answer carries when `include=` asks (topology/includes.py)."""

    impact: Annotated[
        dict[str, Any] | None,
        insight_schema(
            "ImpactOut",
            "The queried service's blast radius (getImpact's answer, the full depth), "
            "present only with `include=impact`.",
        ),
    ] = None
    availability: Annotated[
        dict[str, Any] | None,
        insight_schema(
            "AvailabilityOut",
            "The queried service's availability ceiling (getAvailability's answer), "
            "present only with `include=availability`.",
        ),
    ] = None
    drift: Annotated[
        dict[str, Any] | None,
        insight_schema(
            "DriftOut",
            "The drift of the answer's edges (of the service's own edges in a service "
            "answer), as getServiceDrift answers it over the default window; present only "
            "with `include=drift` (docs/drift.md).",
        ),
    ] = None


class ServiceDetailOut(ServiceOut, IncludedInsightsOut):
    """One service, with the insights `include=` asks for."""


class SubgraphOut(IncludedInsightsOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "service": SERVICE_EXAMPLE,
                    "nodes": [
                        {
                            "service_id": "paymentservice",
                            "display_name": None,
                            "team": "payments",
                            "criticality": "critical",
                            "discovered": False,
                            "kind": "service",
                            "depth": 1,
                        }
                    ],
                    "edges": [EDGE_EXAMPLE],
                    "statistics": {
                        "total_nodes": 1,
                        "total_edges": 1,
                        "max_depth_reached": 1,
                        "truncated": False,
                        "unlisted_neighbours": {},
                    },
                }
            ]
        }
    )

    service: ServiceOut = Field(description="The queried service.")
    nodes: list[NodeOut] = Field(
        description="The services within `depth` hops (the queried one not among them), "
        "closest first, then by service id; at most `max_nodes`."
    )
    edges: list[EdgeOut] = Field(
        description="The edges leaving (downstream) or entering (upstream) the services "
        "closer than `depth`, each (source, target) pair once, merged across sources."
    )
    statistics: StatisticsOut = Field(description="Counts, and whether the answer was cut.")
