"""Persistence of the aliases and of what their merges set aside."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.alias_tables import alias_shadows, aliases
from slo_engine.graph.aliases import AliasRule, AliasTable, ExactAlias
from slo_engine.graph.change_log import (
    report_from_state,
    report_state,
    service_from_state,
    service_state,
)
from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
from slo_engine.graph.realias import ShadowedReport, ShadowedService

# Where an alias came from: the API, or the aliases file (replaced whole by each sync).
API_ORIGIN, FILE_ORIGIN = "api", "file"


@dataclass(frozen=True, slots=True)
class Alias:
    """A stored alias: exact (`alias` -> `service_id`) or a rule (`pattern` ->
    `replacement`), for one discovery source or every one."""

    id: uuid.UUID
    position: int
    origin: str
    created_at: datetime
    created_by: str | None
    discovery_source: DiscoverySource | None
    alias: str | None = None
    service_id: str | None = None
    pattern: str | None = None
    replacement: str | None = None

    @property
    def is_rule(self) -> bool:
        return self.pattern is not None


def alias_table(stored: Sequence[Alias]) -> AliasTable:
    """The table the stored aliases make, rules in their order."""
    ordered = sorted(stored, key=lambda a: (a.position, str(a.id)))
    return AliasTable(
        [
            ExactAlias(a.alias, a.service_id, a.discovery_source)
            for a in ordered
            if a.alias is not None and a.service_id is not None
        ],
        [
            AliasRule(a.pattern, a.replacement, a.discovery_source)
            for a in ordered
            if a.pattern is not None and a.replacement is not None
        ],
    )


def _alias(row: Row[Any]) -> Alias:
    m = row._mapping
    source = m["discovery_source"]
    return Alias(
        id=m["id"],
        position=m["position"],
        origin=m["origin"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        discovery_source=DiscoverySource(source) if source else None,
        alias=m["alias"],
        service_id=m["service_id"],
        pattern=m["pattern"],
        replacement=m["replacement"],
    )


async def current_table(session: AsyncSession) -> AliasTable:
    """The aliases in force, for an ingestion (which holds the graph write lock, so no
    alias changes under it)."""
    return alias_table(await AliasRepository(session).all())


class AliasRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def all(self) -> list[Alias]:
        """Every alias, in their order. The table is small: read whole."""
        rows = await self._session.execute(
            select(aliases).order_by(aliases.c.position, aliases.c.id)
        )
        return [_alias(row) for row in rows]

    async def next_position(self) -> int:
        result = await self._session.execute(select(func.max(aliases.c.position)))
        highest = result.scalar_one()
        return 0 if highest is None else int(highest) + 1

    async def add(self, alias: Alias) -> None:
        await self._session.execute(
            aliases.insert().values(
                id=alias.id,
                alias=alias.alias,
                service_id=alias.service_id,
                pattern=alias.pattern,
                replacement=alias.replacement,
                discovery_source=alias.discovery_source.value if alias.discovery_source else None,
                position=alias.position,
                origin=alias.origin,
                created_at=alias.created_at,
                created_by=alias.created_by,
            )
        )

    async def delete(self, alias_ids: Sequence[uuid.UUID]) -> None:
        if alias_ids:
            await self._session.execute(delete(aliases).where(aliases.c.id.in_(list(alias_ids))))

    # --- what merges set aside ------------------------------------------------------

    async def shadows(self) -> tuple[list[ShadowedReport], list[ShadowedService]]:
        rows = await self._session.execute(select(alias_shadows))
        reports: list[ShadowedReport] = []
        found: list[ShadowedService] = []
        for row in rows:
            m = row._mapping
            if m["thing"] == "report":
                report = report_from_state(
                    m["service_id"], m["target_id"], m["discovery_source"], m["state"]
                )
                reports.append(ShadowedReport(str(m["id"]), report))
            else:
                service = replace(
                    service_from_state(m["service_id"], m["state"]),
                    kind_declared=bool(m["state"].get("kind_declared")),
                )
                found.append(ShadowedService(str(m["id"]), service, m["copied_as"]))
        return reports, found

    async def set_aside(
        self,
        reports: Sequence[DependencyReport],
        set_aside_services: Sequence[tuple[Service, str | None]],
        now: datetime,
    ) -> None:
        rows = [
            {
                "id": uuid.uuid4(),
                "thing": "report",
                "service_id": r.source,
                "target_id": r.target,
                "discovery_source": r.discovery_source.value,
                "copied_as": None,
                "state": report_state(r),  # with the names the source reported
                "created_at": now,
            }
            for r in reports
        ]
        rows.extend(
            {
                "id": uuid.uuid4(),
                "thing": "service",
                "service_id": s.service_id,
                "target_id": None,
                "discovery_source": None,
                "copied_as": copied_as,
                "state": {**service_state(s), "kind_declared": s.kind_declared},
                "created_at": now,
            }
            for s, copied_as in set_aside_services
        )
        if rows:
            await self._session.execute(alias_shadows.insert(), rows)

    async def forget_shadows(self, shadow_ids: Sequence[str]) -> None:
        if shadow_ids:
            ids = [uuid.UUID(i) for i in shadow_ids]
            await self._session.execute(delete(alias_shadows).where(alias_shadows.c.id.in_(ids)))
