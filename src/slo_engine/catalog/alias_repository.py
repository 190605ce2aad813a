"""Persistence of the aliases and of what their merges set aside."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.alias_rules import AliasRule
from slo_engine.catalog.alias_tables import alias_file_state, alias_shadows, aliases
from slo_engine.graph.aliases import AliasTable, ExactAlias
from slo_engine.graph.change_log import (
    report_from_state,
    report_state,
    service_from_state,
    service_state,
)
from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
from slo_engine.graph.realias import ShadowedReport, ShadowedService

# Keys per statement when shadows are forgotten: three bound parameters each.
_KEYS_PER_STATEMENT = 1_500
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
    """The table the stored aliases make, rules in their order: the API's first, then
    the aliases file's (a sync renumbers the file's, so the order is kept whatever the
    history of the two)."""
    ordered = sorted(stored, key=lambda a: (a.origin != API_ORIGIN, a.position, str(a.id)))
    return _table_of(
        tuple(
            (a.discovery_source, a.alias, a.service_id, a.pattern, a.replacement) for a in ordered
        )
    )


# Tables by what they are built from: discovery runs ingest again and again under the
# same aliases, and a table remembers the names it resolved.
@functools.lru_cache(maxsize=4)
def _table_of(
    ordered: tuple[
        tuple[DiscoverySource | None, str | None, str | None, str | None, str | None], ...
    ],
) -> AliasTable:
    return AliasTable(
        [
            ExactAlias(alias, service_id, source)
            for source, alias, service_id, _, _ in ordered
            if alias is not None and service_id is not None
        ],
        [
            AliasRule(pattern, replacement, source)
            for source, _, _, pattern, replacement in ordered
            if pattern is not None and replacement is not None
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
        rows = await self._session.execute(select(aliases))
        return sorted(
            (_alias(row) for row in rows),
            key=lambda a: (a.origin != API_ORIGIN, a.position, str(a.id)),
        )

    async def file_state(self) -> tuple[str, datetime] | None:
        """The digest and modification time of the aliases file synced last."""
        row = (
            await self._session.execute(
                select(alias_file_state.c.sha256, alias_file_state.c.modified_at)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def record_file_state(self, sha256: str, modified_at: datetime, now: datetime) -> None:
        await self._session.execute(delete(alias_file_state))
        await self._session.execute(
            alias_file_state.insert().values(
                id=1, sha256=sha256, modified_at=modified_at, synced_at=now
            )
        )

    async def next_position(self) -> int:
        result = await self._session.execute(select(func.max(aliases.c.position)))
        highest = result.scalar_one()
        return 0 if highest is None else int(highest) + 1

    async def add(self, alias: Alias) -> None:
        await self.add_many([alias])

    async def add_many(self, added: Sequence[Alias]) -> None:
        if not added:
            return
        await self._session.execute(
            aliases.insert(),
            [
                {
                    "id": alias.id,
                    "alias": alias.alias,
                    "service_id": alias.service_id,
                    "pattern": alias.pattern,
                    "replacement": alias.replacement,
                    "discovery_source": alias.discovery_source.value
                    if alias.discovery_source
                    else None,
                    "position": alias.position,
                    "origin": alias.origin,
                    "created_at": alias.created_at,
                    "created_by": alias.created_by,
                }
                for alias in added
            ],
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
                first = m["state"].get("first_observed_at")
                reports.append(
                    ShadowedReport(
                        str(m["id"]),
                        report,
                        None if first is None else datetime.fromisoformat(first),
                    )
                )
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
        first_observations: Sequence[datetime | None],
        set_aside_services: Sequence[tuple[Service, str | None]],
        now: datetime,
    ) -> None:
        """Keep these reports (each at the pair it lost, with the names its source
        reported and its first observation) and services aside."""
        rows = [
            {
                "id": uuid.uuid4(),
                "thing": "report",
                "service_id": r.source,
                "target_id": r.target,
                "discovery_source": r.discovery_source.value,
                "copied_as": None,
                "state": {
                    **report_state(r),
                    "first_observed_at": None if first is None else first.isoformat(),
                },
                "created_at": now,
            }
            for r, first in zip(reports, first_observations, strict=True)
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

    async def forget_shadows_at(self, keys: Sequence[tuple[str, str, str]]) -> None:
        """Forget the reports set aside at these retracted keys (caller, callee, source):
        the report that kept the pair is taken back, so what it won against goes too."""
        if not keys:
            return
        any_shadow = await self._session.execute(
            select(alias_shadows.c.id).where(alias_shadows.c.thing == "report").limit(1)
        )
        if any_shadow.first() is None:
            return  # nearly always: no merge has set anything aside
        columns = tuple_(
            alias_shadows.c.service_id, alias_shadows.c.target_id, alias_shadows.c.discovery_source
        )
        for start in range(0, len(keys), _KEYS_PER_STATEMENT):
            chunk = list(keys[start : start + _KEYS_PER_STATEMENT])
            await self._session.execute(
                delete(alias_shadows)
                .where(alias_shadows.c.thing == "report")
                .where(columns.in_(chunk))
            )

    async def forget_shadows(self, shadow_ids: Sequence[str]) -> None:
        if shadow_ids:
            ids = [uuid.UUID(i) for i in shadow_ids]
            await self._session.execute(delete(alias_shadows).where(alias_shadows.c.id.in_(ids)))
