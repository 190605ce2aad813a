"""HTTP shapes of GET /graph's JSON pages. Pages are encoded straight to JSON by
exports/service.py; these models document them in the OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel

from slo_engine.graph.model import ServiceCriticality
from slo_engine.topology.schemas import EdgeOut


class GraphNodeOut(BaseModel):
    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool


class GraphPageOut(BaseModel):
    """Services in id order, every edge whose source is one of them, and the graph
    revision the page was read at. Walk `next_cursor` until it is null."""

    revision: int
    nodes: list[GraphNodeOut]
    edges: list[EdgeOut]
    next_cursor: str | None
