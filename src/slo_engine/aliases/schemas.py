"""HTTP shapes of /api/v1/aliases."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

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


_SOURCE_DESCRIPTION = (
    "Only this source's reports are renamed; left out: every source's, and a service of "
    "that name is merged into the canonical one."
)


class ExactAliasCreate(BaseModel):
    """One reported name, mapped to a service id (not itself: a 422)."""

    model_config = ConfigDict(**STRICT_BODY)

    alias: ServiceId = Field(description="The name a source reports (whole).")
    service_id: ServiceId = Field(description="The service that name stands for.")
    discovery_source: DiscoverySource | None = Field(default=None, description=_SOURCE_DESCRIPTION)


class AliasRuleCreate(BaseModel):
    """Every name a regular expression matches, mapped to its replacement."""

    model_config = ConfigDict(**STRICT_BODY)

    pattern: RulePattern = Field(
        description="A Python regular expression that must match the whole reported "
        "name; capture groups may be used in `replacement`. One that does not compile is "
        "a 422."
    )
    replacement: RuleReplacement = Field(
        description="The service id, with `\\1` or `\\g<name>` for the pattern's groups (a "
        "group the pattern lacks is a 422). A name whose replacement is not a valid service "
        "id is kept as reported."
    )
    discovery_source: DiscoverySource | None = Field(default=None, description=_SOURCE_DESCRIPTION)


class AliasCreate(RootModel[ExactAliasCreate | AliasRuleCreate]):
    """An exact alias (`alias`, `service_id`) or a rule (`pattern`, `replacement`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXACT_EXAMPLE, _RULE_EXAMPLE]})

    def spec(self) -> AliasSpec:
        given = self.root
        if isinstance(given, ExactAliasCreate):
            return AliasSpec(given.discovery_source, alias=given.alias, service_id=given.service_id)
        return AliasSpec(
            given.discovery_source, pattern=given.pattern, replacement=given.replacement
        )


_ALIAS_EXAMPLE: dict[str, Any] = {
    "id": "6613d348-6a66-4b70-8567-cf0f6542e723",
    "alias": "checkoutservice",
    "service_id": "checkout",
    "pattern": None,
    "replacement": None,
    "discovery_source": None,
    "position": 0,
    "origin": "api",
    "created_at": "2026-12-04T10:00:00Z",
    "created_by": "platform-admin",
}
_MERGE_EXAMPLE: dict[str, Any] = {
    "revision": 58,
    "edges_moved": 2,
    "edges_set_aside": 0,
    "edges_restored": 0,
    "services_merged": ["checkoutservice"],
    "services_removed": [],
    "services_restored": [],
    "services_counts": {"merged": 1, "removed": 0, "restored": 0},
    "cycles_resolved": [],
    "cycles_opened": [],
    "warnings": [],
}


class AliasOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ALIAS_EXAMPLE]})

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
    created_at: datetime = Field(description="When it was added (UTC).")
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
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ALIAS_EXAMPLE]}]})

    items: list[AliasOut] = Field(description="Every alias, in the order rules apply.")


class MergeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_MERGE_EXAMPLE]})

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
    services_removed: list[str] = Field(
        description="Discovered services no report names any more once the edges moved "
        "(kept aside: they come back when a report names them again)."
    )
    services_restored: list[str] = Field(description="Services created or brought back.")
    services_counts: dict[str, int] = Field(
        description="How many services are merged, removed and restored in all: the lists "
        "above (and the cycles and warnings) stop at 200."
    )
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
            services_removed=summary.services_removed,
            services_restored=summary.services_restored,
            services_counts={"merged": 0, "removed": 0, "restored": 0, **summary.services_counts},
            cycles_resolved=summary.cycles_resolved,
            cycles_opened=summary.cycles_opened,
            warnings=summary.warnings,
        )


class AliasCreated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"alias": _ALIAS_EXAMPLE, "merge": _MERGE_EXAMPLE}]}
    )

    alias: AliasOut = Field(description="The alias as stored.")
    merge: MergeOut = Field(description="What adding it did to the graph.")
