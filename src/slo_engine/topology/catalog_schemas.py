"""HTTP shapes of services."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from slo_engine.graph.model import Service, ServiceCriticality

_SERVICE_FIELDS = tuple(field.name for field in dataclasses.fields(Service))


class ServiceOut(BaseModel):
    # A service as stored (graph.model.Service), and whether only stale edges are left.
    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    metadata: dict[str, Any]
    discovered: bool
    only_stale_edges: bool = Field(
        description="Every edge of this service is stale: it is no longer seen by the "
        "sources that observed it (kept, never deleted).",
    )
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, service: Service, only_stale_edges: bool = False) -> ServiceOut:
        values = {name: getattr(service, name) for name in _SERVICE_FIELDS}
        return cls(**values, only_stale_edges=only_stale_edges)


class ServicePage(BaseModel):
    items: list[ServiceOut]
    next_cursor: str | None
