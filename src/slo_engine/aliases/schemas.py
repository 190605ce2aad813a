"""HTTP shapes of /api/v1/aliases."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.aliases.service import AliasSpec, MergeSummary
from slo_engine.catalog.alias_repository import Alias
from slo_engine.graph.model import DiscoverySource
from slo_engine.infra.storable import STRICT_BODY, TEXT_RULE
from slo_engine.ingestion.schemas import ServiceId

_EXACT_EXAMPLE: dict[str, Any] = {"alias": "checkoutservice", "service_id": "checkout"}
_RULE_EXAMPLE: dict[str, Any] = {
    "pattern": "(?P<app>[a-z0-9-]+)\\.shop",
    "replacement": "\\g<app>",
    "discovery_source": "service_mesh",
}


RulePattern = Annotated[str, StringConstraints(min_length=1, max_length=1024), TEXT_RULE]
RuleReplacement = Annotated[str, StringConstraints(min_length=1, max_length=255), TEXT_RULE]


class AliasCreate(BaseModel):
    """An exact alias (`alias`, `service_id`) or a rule (`pattern`, `replacement`)."""

    model_config = ConfigDict(
        **STRICT_BODY, json_schema_extra={"examples": [_EXACT_EXAMPLE, _RULE_EXAMPLE]}
    )

    alias: ServiceId | None = Field(
        default=None, description="Exact: the name a source reports (whole)."
    )
    service_id: ServiceId | None = Field(
        default=None, description="Exact: the service that name stands for."
    )
    pattern: RulePattern | None = Field(
        default=None,
        description="Rule: a Python regular expression that must match the whole "
        "reported name; capture groups may be used in `replacement`.",
    )
    replacement: RuleReplacement | None = Field(
        default=None,
        description="Rule: the service id, with `\\1` or `\\g<name>` for the pattern's "
        "groups. A name whose replacement is not a valid service id is kept as reported.",
    )
    discovery_source: DiscoverySource | None = Field(
        default=None,
        description="Only this source's reports are renamed; left out: every source's, and "
        "a service of that name is merged into the canonical one.",
    )

    def spec(self) -> AliasSpec:
        return AliasSpec(
            self.discovery_source, self.alias, self.service_id, self.pattern, self.replacement
        )


class AliasOut(BaseModel):
    id: uuid.UUID = Field(description="The alias's id (DELETE /aliases/{id} undoes it).")
    alias: str | None = Field(description="Exact: the reported name.")
    service_id: str | None = Field(description="Exact: the service it stands for.")
    pattern: str | None = Field(description="Rule: the regular expression.")
    replacement: str | None = Field(description="Rule: the replacement.")
    discovery_source: DiscoverySource | None = Field(
        description="The source whose reports it renames; null: every source's."
    )
    position: int = Field(description="Rules apply in this order (lowest first).")
    origin: str = Field(description="`api` (POST /aliases) or `file` (ALIASES_FILE).")
    created_at: datetime
    created_by: str | None = Field(description="Who added it (a key's name, or the file).")

    @classmethod
    def of(cls, alias: Alias) -> AliasOut:
        return cls(
            id=alias.id,
            alias=alias.alias,
            service_id=alias.service_id,
            pattern=alias.pattern,
            replacement=alias.replacement,
            discovery_source=alias.discovery_source,
            position=alias.position,
            origin=alias.origin,
            created_at=alias.created_at,
            created_by=alias.created_by,
        )


class AliasList(BaseModel):
    items: list[AliasOut] = Field(description="Every alias, in the order rules apply.")


class MergeOut(BaseModel):
    revision: int = Field(description="The graph revision the change committed.")
    edges_moved: int = Field(description="Edge reports moved to the pair their names now give.")
    edges_set_aside: int = Field(
        description="Reports set aside: one source's second report of a merged pair (the "
        "one observed last is kept), or a call between two names of one service. Deleting "
        "the alias brings them back."
    )
    edges_restored: int = Field(description="Reports set aside earlier and brought back.")
    services_merged: list[str] = Field(
        description="Services merged into their canonical id (kept aside for an undo)."
    )
    services_restored: list[str] = Field(description="Services created or brought back.")
    cycles_resolved: list[list[str]] = Field(description="Cycles renamed away or broken.")
    cycles_opened: list[list[str]] = Field(
        description="Cycles under the new names (an acknowledgement carries over)."
    )
    warnings: list[str] = Field(description="What deserves a look.")

    @classmethod
    def of(cls, summary: MergeSummary) -> MergeOut:
        return cls(
            revision=summary.revision,
            edges_moved=summary.edges_moved,
            edges_set_aside=summary.edges_set_aside,
            edges_restored=summary.edges_restored,
            services_merged=summary.services_merged,
            services_restored=summary.services_restored,
            cycles_resolved=summary.cycles_resolved,
            cycles_opened=summary.cycles_opened,
            warnings=summary.warnings,
        )


class AliasCreated(BaseModel):
    alias: AliasOut
    merge: MergeOut = Field(description="What adding it did to the graph.")
