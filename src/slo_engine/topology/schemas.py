"""HTTP shapes of the subgraph query. Responses are encoded straight to JSON by
topology/service.py for speed; these models document them in the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    DiscoverySource,
    ServiceCriticality,
)
from slo_engine.topology.catalog_schemas import ServiceOut


class NodeOut(BaseModel):
    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool
    depth: int


class EdgeAttributesOut(BaseModel):
    # graph.model.EDGE_ATTRIBUTES, in its order (tests/unit/test_edge_shapes.py).
    communication_mode: CommunicationMode | None = Field(description="sync or async")
    criticality: DependencyCriticality | None = Field(
        description="hard (the caller fails without it), soft or degraded"
    )
    protocol: str | None = Field(description="e.g. http, grpc, kafka")
    timeout_ms: int | None = Field(description="The caller's timeout for this call.")
    retry_config: dict[str, Any] | None = Field(description="As declared, kept verbatim.")
    request_rate: float | None = Field(description="Observed requests per second.")
    error_rate: float | None = Field(description="Observed share of failed requests, 0-1.")
    latency_p95_ms: float | None = Field(description="Observed 95th percentile latency.")


class EdgeOut(BaseModel):
    source: str
    target: str
    attributes: EdgeAttributesOut
    confidence_score: float
    discovery_sources: list[DiscoverySource]
    last_observed_at: datetime
    is_stale: bool


class StatisticsOut(BaseModel):
    total_nodes: int
    total_edges: int
    max_depth_reached: int
    truncated: bool


class SubgraphOut(BaseModel):
    service: ServiceOut
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    statistics: StatisticsOut
