"""HTTP shapes of services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from slo_engine.graph.model import Service, ServiceCriticality


class ServiceOut(BaseModel):
    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    metadata: dict[str, Any]
    discovered: bool
    only_stale_edges: bool = Field(
        description="Every edge of this service is stale: it is no longer seen by the "
        "sources that observed it (kept, never deleted)."
    )
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, service: Service, only_stale_edges: bool = False) -> ServiceOut:
        return cls(
            service_id=service.service_id,
            display_name=service.display_name,
            team=service.team,
            criticality=service.criticality,
            metadata=service.metadata,
            discovered=service.discovered,
            only_stale_edges=only_stale_edges,
            created_at=service.created_at,
            updated_at=service.updated_at,
        )


class ServicePage(BaseModel):
    items: list[ServiceOut]
    next_cursor: str | None
