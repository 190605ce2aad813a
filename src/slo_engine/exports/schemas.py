"""HTTP shapes of GET /graph's JSON pages. Pages are encoded straight to JSON by
exports/service.py; these models document them in the OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.model import NodeKind, ServiceCriticality
from slo_engine.topology.catalog_schemas import (
    CRITICALITY_DESCRIPTION,
    DISCOVERED_DESCRIPTION,
    DISPLAY_NAME_DESCRIPTION,
    KIND_DESCRIPTION,
    NEXT_CURSOR_DESCRIPTION,
    SERVICE_ID_DESCRIPTION,
    TEAM_DESCRIPTION,
)
from slo_engine.topology.schemas import EDGE_EXAMPLE, EdgeOut


class GraphNodeOut(BaseModel):
    service_id: str = Field(description=SERVICE_ID_DESCRIPTION)
    display_name: str | None = Field(description=DISPLAY_NAME_DESCRIPTION)
    team: str | None = Field(description=TEAM_DESCRIPTION)
    criticality: ServiceCriticality | None = Field(description=CRITICALITY_DESCRIPTION)
    discovered: bool = Field(description=DISCOVERED_DESCRIPTION)
    kind: NodeKind = Field(description=KIND_DESCRIPTION)


class GraphPageOut(BaseModel):
    """Services in id order, every edge whose source is one of them, and the graph
    revision the page was read at. Walk `next_cursor` until it is null."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 42,
                    "nodes": [
                        {
                            "service_id": "checkoutservice",
                            "display_name": "Checkout",
                            "team": "checkout",
                            "criticality": "critical",
                            "discovered": False,
                            "kind": "service",
                        }
                    ],
                    "edges": [EDGE_EXAMPLE],
                    "next_cursor": "WyJjaGVja291dHNlcnZpY2UiXQ",
                }
            ]
        }
    )

    revision: int = Field(
        description="The graph revision the page was read at (also `X-Graph-Revision`)."
    )
    nodes: list[GraphNodeOut] = Field(description="The page's services, by service id.")
    edges: list[EdgeOut] = Field(
        description="Every edge whose source is on this page (its target may be on another)."
    )
    next_cursor: str | None = Field(description=NEXT_CURSOR_DESCRIPTION)
