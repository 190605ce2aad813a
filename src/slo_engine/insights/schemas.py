"""HTTP shapes of the insight answers. insights/service.py encodes the answers straight to
JSON (like the subgraph query); these models document them in the OpenAPI."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.impact import Impact
from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    ServiceCriticality,
)
from slo_engine.topology.catalog_schemas import (
    SERVICE_EXAMPLE,
    ServiceFactsOut,
    ServiceOut,
)

_IMPACT_DESCRIPTION = (
    "`down`: it cannot work without the failed service (hard and sync, or undeclared, "
    "all along its path); `degraded`: it works with less."
)
_UNIT_DESCRIPTION = (
    "The unit's number in `units`: services that need each other (a cycle) share one."
)
_CEILING_DESCRIPTION = (
    "The best availability the service can deliver, 0 to 1 (0.999 = 99.9%): the "
    "product of its own target and those of the dependencies it cannot work without "
    "(hard or undeclared, sync or undeclared), each counted once."
)
_NINES_DESCRIPTION = "The ceiling in nines, -log10(1 - ceiling) (3 = 99.9%); null when it is 1."
_DEPENDENCIES_DESCRIPTION = "Services counted besides this one."
_ARITHMETIC_DESCRIPTION = (
    "The product spelled out factor by factor, for a person to check (past 60 factors the "
    "rest is grouped into one)."
)

# A part of the Online Boutique (examples/online-boutique.json): the email service fails.
_IMPACT_EXAMPLE: dict[str, Any] = {
    "service": {
        **SERVICE_EXAMPLE,
        "service_id": "emailservice",
        "display_name": None,
        "team": "fulfilment",
        "criticality": "medium",
        "metadata": {},
    },
    "depth": 10,
    "include_stale": False,
    "affected": [
        {
            "service_id": "checkoutservice",
            "display_name": "Checkout",
            "team": "checkout",
            "criticality": "critical",
            "discovered": False,
            "kind": "service",
            "impact": "degraded",
            "distance": 1,
            "path": ["checkoutservice", "emailservice"],
            "path_edges": [
                {
                    "source": "checkoutservice",
                    "target": "emailservice",
                    "criticality": "soft",
                    "communication_mode": "sync",
                    "effect": "degraded",
                }
            ],
        },
        {
            "service_id": "frontend",
            "display_name": None,
            "team": "storefront",
            "criticality": "critical",
            "discovered": False,
            "kind": "service",
            "impact": "degraded",
            "distance": 2,
            "path": ["frontend", "checkoutservice", "emailservice"],
            "path_edges": [
                {
                    "source": "frontend",
                    "target": "checkoutservice",
                    "criticality": "hard",
                    "communication_mode": "sync",
                    "effect": "degraded",
                },
                {
                    "source": "checkoutservice",
                    "target": "emailservice",
                    "criticality": "soft",
                    "communication_mode": "sync",
                    "effect": "degraded",
                },
            ],
        },
    ],
    "truncated": False,
    "totals": {
        "affected": 2,
        "down": 0,
        "degraded": 2,
        "by_team": [
            {"team": "checkout", "down": 0, "degraded": 1},
            {"team": "storefront", "down": 0, "degraded": 1},
        ],
        "by_criticality": [{"criticality": "critical", "down": 0, "degraded": 2}],
    },
}

# The cart service and its Redis, at the default target.
_AVAILABILITY_EXAMPLE: dict[str, Any] = {
    "service": {
        **SERVICE_EXAMPLE,
        "service_id": "cartservice",
        "display_name": None,
        "criticality": "high",
        "metadata": {},
    },
    "include_stale": False,
    "ceiling": 0.998001,
    "nines": 2.699,
    "dependencies": 1,
    "default_slo_target": 0.999,
    "arithmetic": "0.999 (cartservice) × 0.999 (redis-cart) = 0.998001",
    "terms": [
        {
            "service_id": "cartservice",
            "slo_target": 0.999,
            "target_source": "default",
            "observed_success": None,
            "factor": 0.999,
            "factor_source": "default",
            "unit": 0,
        },
        {
            "service_id": "redis-cart",
            "slo_target": 0.999,
            "target_source": "default",
            "observed_success": 0.9995,
            "factor": 0.999,
            "factor_source": "default",
            "unit": 1,
        },
    ],
    "units": [
        {"unit": 0, "members": ["cartservice"], "cycle": False, "factor": 0.999},
        {"unit": 1, "members": ["redis-cart"], "cycle": False, "factor": 0.999},
    ],
    "limiting": [
        {
            "unit": 1,
            "members": ["redis-cart"],
            "factor": 0.999,
            "cost": 0.000999,
            "ceiling_without": 0.999,
        }
    ],
    "truncated": False,
    "if_soft_were_hard": {
        "ceiling": 0.998001,
        "nines": 2.699,
        "dependencies": 1,
        "arithmetic": "0.999 (cartservice) × 0.999 (redis-cart) = 0.998001",
    },
    "notes": [],
}


class PathEdgeOut(BaseModel):
    source: str = Field(description="The caller's service id.")
    target: str = Field(description="The callee's service id.")
    criticality: DependencyCriticality | None = Field(
        description="The edge's merged criticality; null when undeclared (counted as hard)."
    )
    communication_mode: CommunicationMode | None = Field(
        description="The edge's merged communication mode; null when undeclared (counted as sync)."
    )
    effect: Impact = Field(description="What the caller (`source`) suffers on this path.")


class AffectedOut(ServiceFactsOut):
    impact: Impact = Field(description=_IMPACT_DESCRIPTION)
    distance: int = Field(description="Hops from this service to the failed one.")
    path: list[str] = Field(
        description="One shortest path that explains the impact, from this service to the "
        "failed one, along calls."
    )
    path_edges: list[PathEdgeOut] = Field(
        description="The edges of `path`, in its order, with what each caller suffers."
    )


class TeamTotalOut(BaseModel):
    team: str | None = Field(description="The team; null for services without one.")
    down: int = Field(description="Its services that are down.")
    degraded: int = Field(description="Its services that are degraded.")


class CriticalityTotalOut(BaseModel):
    criticality: ServiceCriticality | None = Field(
        description="The service criticality; null for services without one."
    )
    down: int = Field(description="Services of this criticality that are down.")
    degraded: int = Field(description="Services of this criticality that are degraded.")


class ImpactTotalsOut(BaseModel):
    affected: int = Field(description="Every affected service, listed or not.")
    down: int = Field(description="Affected services that are down.")
    degraded: int = Field(description="Affected services that are degraded.")
    by_team: list[TeamTotalOut] = Field(description="Per team, hardest hit (most down) first.")
    by_criticality: list[CriticalityTotalOut] = Field(
        description="Per service criticality, hardest hit (most down) first."
    )


class ImpactOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_IMPACT_EXAMPLE]})

    service: ServiceOut = Field(description="The service whose failure is assumed.")
    depth: int = Field(description="The `depth` asked: at most this many hops upstream.")
    include_stale: bool = Field(description="Whether stale edges were followed.")
    affected: list[AffectedOut] = Field(
        description="Down first, then by distance and service id; at most `max_affected`."
    )
    truncated: bool = Field(description="More services are affected than listed.")
    totals: ImpactTotalsOut = Field(description="Counts over every affected service.")


class TermOut(BaseModel):
    service_id: str = Field(description="The counted service.")
    slo_target: float = Field(
        description="Its availability target, 0 to 1: metadata `slo_target`, else "
        "`default_slo_target`."
    )
    target_source: str = Field(description="`metadata` (its slo_target) or `default`.")
    observed_success: float | None = Field(
        description="The worst success ratio (1 - error rate) observed on the counted "
        "edges into this service, when discovery measured one."
    )
    factor: float = Field(description="The lower of slo_target and observed_success.")
    factor_source: str = Field(description="`metadata`, `default` or `observed`.")
    unit: int = Field(description=_UNIT_DESCRIPTION)


class UnitOut(BaseModel):
    unit: int = Field(description="The unit's number (the service's own unit is 0).")
    members: list[str] = Field(description="Its services, by service id.")
    cycle: bool = Field(description="Members depend on each other: counted as one unit.")
    factor: float = Field(description="The product of its members' factors.")


class LimitOut(BaseModel):
    unit: int = Field(description=_UNIT_DESCRIPTION)
    members: list[str] = Field(description="The unit's services, by service id.")
    factor: float = Field(description="The product of its members' factors.")
    cost: float = Field(description="ceiling_without - ceiling.")
    ceiling_without: float = Field(description="The ceiling if this unit never failed.")


class AlternativeCeilingOut(BaseModel):
    ceiling: float = Field(description=_CEILING_DESCRIPTION)
    nines: float | None = Field(description=_NINES_DESCRIPTION)
    dependencies: int = Field(description=_DEPENDENCIES_DESCRIPTION)
    arithmetic: str = Field(description=_ARITHMETIC_DESCRIPTION)


class AvailabilityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_AVAILABILITY_EXAMPLE]})

    service: ServiceOut = Field(description="The service whose ceiling this is.")
    include_stale: bool = Field(description="Whether stale edges were followed.")
    ceiling: float = Field(description=_CEILING_DESCRIPTION)
    nines: float | None = Field(description=_NINES_DESCRIPTION)
    dependencies: int = Field(description=_DEPENDENCIES_DESCRIPTION)
    default_slo_target: float = Field(
        description="The target of a service whose metadata gives none (DEFAULT_SLO_TARGET)."
    )
    arithmetic: str = Field(description=_ARITHMETIC_DESCRIPTION)
    terms: list[TermOut] = Field(description="One per counted service, the service first.")
    units: list[UnitOut] = Field(
        description="The counted services grouped: a cycle is one unit, any other service "
        "one of its own."
    )
    limiting: list[LimitOut] = Field(description="Ranked by cost, highest first.")
    truncated: bool = Field(
        description="A list (terms, units or limiting) holds more than `max_terms`: only "
        "the first `max_terms` of each are listed; the figures count all."
    )
    if_soft_were_hard: AlternativeCeilingOut = Field(
        description="The same figure counting soft and degraded sync dependencies too."
    )
    notes: list[str] = Field(
        description="What a reader should know about the figure: unusable targets, "
        "cycles, dependencies counted only because nothing was declared."
    )
