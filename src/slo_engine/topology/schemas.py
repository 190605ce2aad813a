"""HTTP shapes of the subgraph query. Responses are encoded straight to JSON by
topology/service.py for speed; these models document them in the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from slo_engine.catalog.schemas import ServiceOut
from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    DiscoverySource,
    ServiceCriticality,
)


class NodeOut(BaseModel):
    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool
    depth: int


class EdgeAttributesOut(BaseModel):
    communication_mode: CommunicationMode | None
    criticality: DependencyCriticality | None
    protocol: str | None
    timeout_ms: int | None
    retry_config: dict[str, Any] | None
    request_rate: float | None
    error_rate: float | None
    latency_p95_ms: float | None


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
