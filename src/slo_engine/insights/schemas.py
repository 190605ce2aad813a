"""HTTP shapes of the insight answers. insights/service.py encodes the answers straight to
JSON (like the subgraph query); these models document them in the OpenAPI."""

from __future__ import annotations

from pydantic import BaseModel, Field

from slo_engine.graph.impact import Impact
from slo_engine.graph.model import CommunicationMode, DependencyCriticality, ServiceCriticality
from slo_engine.topology.catalog_schemas import ServiceOut


class PathEdgeOut(BaseModel):
    source: str
    target: str
    criticality: DependencyCriticality | None
    communication_mode: CommunicationMode | None
    effect: Impact = Field(description="What the caller (`source`) suffers on this path.")


class AffectedOut(BaseModel):
    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    discovered: bool
    impact: Impact
    distance: int = Field(description="Hops from this service to the failed one.")
    path: list[str] = Field(
        description="One shortest path that explains the impact, from this service to the "
        "failed one, along calls."
    )
    path_edges: list[PathEdgeOut]


class TeamTotalOut(BaseModel):
    team: str | None
    down: int
    degraded: int


class CriticalityTotalOut(BaseModel):
    criticality: ServiceCriticality | None
    down: int
    degraded: int


class ImpactTotalsOut(BaseModel):
    affected: int
    down: int
    degraded: int
    by_team: list[TeamTotalOut]
    by_criticality: list[CriticalityTotalOut]


class ImpactOut(BaseModel):
    service: ServiceOut
    depth: int
    include_stale: bool
    affected: list[AffectedOut] = Field(
        description="Down first, then by distance and service id; at most `max_affected`."
    )
    truncated: bool = Field(description="More services are affected than listed.")
    totals: ImpactTotalsOut


class TermOut(BaseModel):
    service_id: str
    slo_target: float
    target_source: str = Field(description="`metadata` (its slo_target) or `default`.")
    observed_success: float | None = Field(
        description="The worst success ratio (1 - error rate) observed on the counted "
        "edges into this service, when discovery measured one."
    )
    factor: float = Field(description="The lower of slo_target and observed_success.")
    factor_source: str = Field(description="`metadata`, `default` or `observed`.")
    unit: int


class UnitOut(BaseModel):
    unit: int
    members: list[str]
    cycle: bool = Field(description="Members depend on each other: counted as one unit.")
    factor: float


class LimitOut(BaseModel):
    unit: int
    members: list[str]
    factor: float
    cost: float = Field(description="ceiling_without - ceiling.")
    ceiling_without: float = Field(description="The ceiling if this unit never failed.")


class AlternativeCeilingOut(BaseModel):
    ceiling: float
    nines: float | None
    dependencies: int
    arithmetic: str


class AvailabilityOut(BaseModel):
    service: ServiceOut
    include_stale: bool
    ceiling: float = Field(
        description="The best availability the service can deliver through the "
        "dependencies it cannot work without (hard or undeclared, sync or undeclared)."
    )
    nines: float | None = Field(description="-log10(1 - ceiling); null when it is 1.")
    dependencies: int
    default_slo_target: float
    arithmetic: str = Field(description="The product, factor by factor.")
    terms: list[TermOut] = Field(description="One per counted service, the service first.")
    units: list[UnitOut]
    limiting: list[LimitOut] = Field(description="Ranked by cost, highest first.")
    truncated: bool = Field(
        description="A list (terms, units or limiting) holds more than `max_terms`: only "
        "the first `max_terms` of each are listed; the figures count all."
    )
    if_soft_were_hard: AlternativeCeilingOut = Field(
        description="The same figure counting soft and degraded sync dependencies too."
    )
    notes: list[str]
