"""HTTP shapes of services."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.model import NodeKind, Service, ServiceCriticality

_SERVICE_FIELDS = tuple(field.name for field in dataclasses.fields(Service))

# What a service's fields mean, shared by every shape that lists services (the subgraph's
# nodes, the whole graph's, the blast radius's affected services), so they read alike.
SERVICE_ID_DESCRIPTION = (
    "The service's id, as the sources name it: 1-255 of [A-Za-z0-9._:-], starting with a "
    "letter or digit."
)
DISPLAY_NAME_DESCRIPTION = "A human-readable name, as last declared; null when none was."
TEAM_DESCRIPTION = "The owning team, as last declared; null when none was."
CRITICALITY_DESCRIPTION = (
    "How much the business needs the service (critical > high > medium > low), as last "
    "declared; null when none was."
)
DISCOVERED_DESCRIPTION = (
    "True while the service is known only because an edge names it (no source declared it "
    "as a node yet)."
)
KIND_DESCRIPTION = (
    "What the node is: `service`, `database`, `messaging` (a broker or topic), `external` "
    "(outside: a SaaS API, an uninstrumented peer) or `virtual` (the untraced client side "
    "of traffic); as declared, else as a source observed it (docs/identity.md)."
)
NEXT_CURSOR_DESCRIPTION = (
    "Pass back as `cursor` for the next page; null on the last page. Opaque: do not build "
    "or change one."
)

# An example service, shared by the examples of the answers that hold one (subgraph,
# blast radius, availability), so they tell one consistent story.
SERVICE_EXAMPLE: dict[str, Any] = {
    "service_id": "checkoutservice",
    "display_name": "Checkout",
    "team": "checkout",
    "criticality": "critical",
    "metadata": {"slo_target": 0.9995, "repository": "github.com/example/checkout"},
    "discovered": False,
    "kind": "service",
    "only_stale_edges": False,
    "created_at": "2026-11-20T09:12:44.512000Z",
    "updated_at": "2026-11-26T10:00:00Z",
}


class ServiceFactsOut(BaseModel):
    """The facts of a service every list of services gives (the subgraph's nodes, the
    overview's members, the blast radius's affected services), under the same names and
    words; each list adds its own fields after them."""

    service_id: str = Field(description=SERVICE_ID_DESCRIPTION)
    display_name: str | None = Field(description=DISPLAY_NAME_DESCRIPTION)
    team: str | None = Field(description=TEAM_DESCRIPTION)
    criticality: ServiceCriticality | None = Field(description=CRITICALITY_DESCRIPTION)
    discovered: bool = Field(description=DISCOVERED_DESCRIPTION)
    kind: NodeKind = Field(description=KIND_DESCRIPTION)


class ServiceOut(BaseModel):
    # A service as stored (graph.model.Service), and whether only stale edges are left.
    model_config = ConfigDict(json_schema_extra={"examples": [SERVICE_EXAMPLE]})

    service_id: str = Field(description=SERVICE_ID_DESCRIPTION)
    display_name: str | None = Field(description=DISPLAY_NAME_DESCRIPTION)
    team: str | None = Field(description=TEAM_DESCRIPTION)
    criticality: ServiceCriticality | None = Field(description=CRITICALITY_DESCRIPTION)
    metadata: dict[str, Any] = Field(
        description="Free-form JSON a source declared (e.g. `slo_target`, a number in (0, 1] "
        "the availability ceiling reads), kept as sent; {} when none was."
    )
    discovered: bool = Field(description=DISCOVERED_DESCRIPTION)
    kind: NodeKind = Field(description=KIND_DESCRIPTION)
    only_stale_edges: bool = Field(
        description="Every edge of this service is stale: it is no longer seen by the "
        "sources that observed it (kept, never deleted).",
    )
    created_at: datetime | None = Field(
        description="When the service was first stored (UTC); null in a past graph "
        "(`as_of`) that did not record it."
    )
    updated_at: datetime | None = Field(
        description="When the service was last declared or created (UTC); null as for `created_at`."
    )

    @classmethod
    def of(cls, service: Service, only_stale_edges: bool = False) -> ServiceOut:
        values = {name: getattr(service, name) for name in _SERVICE_FIELDS}
        return cls(**values, only_stale_edges=only_stale_edges)


class ServicePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        SERVICE_EXAMPLE,
                        {
                            **SERVICE_EXAMPLE,
                            "service_id": "currencyservice",
                            "display_name": None,
                            "team": "payments",
                            "criticality": "high",
                            "metadata": {},
                        },
                    ],
                    "next_cursor": "WyJjdXJyZW5jeXNlcnZpY2UiXQ",
                }
            ]
        }
    )

    items: list[ServiceOut] = Field(description="The services of this page, by service id.")
    next_cursor: str | None = Field(description=NEXT_CURSOR_DESCRIPTION)
