"""HTTP shapes of the change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from slo_engine.catalog.change_log import ChangeEntry
from slo_engine.graph.change_log import ChangeType


class ChangeOut(BaseModel):
    id: int = Field(description="Position in the change log: increasing in revision order.")
    revision: int = Field(description="The graph revision that made the change.")
    changed_at: datetime = Field(description="When the write that made it ran.")
    type: ChangeType = Field(description="What happened (docs/history.md lists them).")
    service_id: str = Field(
        description="The service; for an edge its caller; for a cycle its first member."
    )
    target_id: str | None = Field(description="For an edge, its callee.")
    discovery_source: str | None = Field(description="For an edge, whose report it is.")
    actor: str | None = Field(description="Who wrote: an API key's name, `job:<name>`, `cli`.")
    state: dict[str, Any] | None = Field(
        description="The thing after the change (an edge report's or a service's fields; a "
        "cycle's path); none once it is gone."
    )
    previous: dict[str, Any] | None = Field(
        description="The values that changed, as they were before (for a retraction or a "
        "deletion, the whole thing as it was)."
    )

    @classmethod
    def of(cls, entry: ChangeEntry) -> ChangeOut:
        return cls(
            id=entry.id,
            revision=entry.revision,
            changed_at=entry.changed_at,
            type=entry.type,
            service_id=entry.service_id,
            target_id=entry.target_id,
            discovery_source=entry.discovery_source,
            actor=entry.actor,
            state=entry.state,
            previous=entry.previous,
        )


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; none on the last page. A "
        "consumer that follows the feed keeps the last cursor it got and asks again later."
    )
