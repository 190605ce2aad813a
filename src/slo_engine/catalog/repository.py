"""All SQL about services, their dependencies and the graph revision.

Writes are bulk: each call sends one INSERT ... ON CONFLICT statement per table, which
SQLAlchemy's "insertmanyvalues" executes as multi-row VALUES pages of up to 1,000 rows,
never one statement per row. Rows are converted to domain objects before they leave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.tables import graph_state, service_dependencies, services
from slo_engine.graph.model import (
    CommunicationMode,
    DependencyCriticality,
    DependencyReport,
    DiscoverySource,
    Service,
    ServiceCriticality,
)

AnyRow = Row[*tuple[Any, ...]]

# Bound parameters per IN list: well under SQLite's 32,766 and PostgreSQL's 65,535.
_IN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ServiceUpsert:
    """A node entry of an ingestion: None means "not given, keep what is stored"."""

    service_id: str
    display_name: str | None
    team: str | None
    criticality: ServiceCriticality | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ServiceFilter:
    team: str | None = None
    criticality: ServiceCriticality | None = None
    discovered: bool | None = None


def _service_from_row(row: AnyRow) -> Service:
    m = row._mapping
    return Service(
        service_id=m["service_id"],
        display_name=m["display_name"],
        team=m["team"],
        criticality=ServiceCriticality(m["criticality"]) if m["criticality"] else None,
        metadata=m["metadata"] or {},
        discovered=m["discovered"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _report_from_row(row: AnyRow, names: Mapping[uuid.UUID, str]) -> DependencyReport:
    m = row._mapping
    mode = m["communication_mode"]
    criticality = m["criticality"]
    return DependencyReport(
        source=names[m["source_service_id"]],
        target=names[m["target_service_id"]],
        discovery_source=DiscoverySource(m["discovery_source"]),
        last_observed_at=m["last_observed_at"],
        communication_mode=CommunicationMode(mode) if mode else None,
        criticality=DependencyCriticality(criticality) if criticality else None,
        protocol=m["protocol"],
        timeout_ms=m["timeout_ms"],
        retry_config=m["retry_config"],
        confidence_score=m["confidence_score"],
        request_rate=m["request_rate"],
        error_rate=m["error_rate"],
        latency_p95_ms=m["latency_p95_ms"],
        is_stale=m["is_stale"],
    )


_SERVICE_COLUMNS = (
    services.c.id,
    services.c.service_id,
    services.c.display_name,
    services.c.team,
    services.c.criticality,
    services.c["metadata"],
    services.c.discovered,
    services.c.created_at,
    services.c.updated_at,
)
_REPORT_COLUMNS = tuple(
    c
    for c in service_dependencies.c
    if c.name not in ("id", "first_observed_at", "created_at", "updated_at")
)


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        bind = session.get_bind()
        self._dialect = bind.dialect.name

    def _insert(self, table: Any) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # --- graph revision -------------------------------------------------------------

    async def bump_revision(self) -> int:
        """Advance the graph revision. Takes the graph write lock until the transaction ends."""
        result = await self._session.execute(
            update(graph_state)
            .where(graph_state.c.id == 1)
            .values(revision=graph_state.c.revision + 1)
            .returning(graph_state.c.revision)
        )
        return int(result.scalar_one())

    async def current_revision(self) -> int:
        result = await self._session.execute(
            select(graph_state.c.revision).where(graph_state.c.id == 1)
        )
        return int(result.scalar_one())

    # --- writes ---------------------------------------------------------------------

    async def upsert_declared_services(
        self, declared: Sequence[ServiceUpsert], now: datetime
    ) -> tuple[dict[str, uuid.UUID], list[Service]]:
        """Insert or update services from node entries; they stop being `discovered`.

        Scalars not given keep their stored value; metadata is replaced when given.
        Returns the ids and the stored services.
        """
        ids: dict[str, uuid.UUID] = {}
        stored: list[Service] = []
        for replace_metadata in (True, False):
            batch = [s for s in declared if (s.metadata is not None) == replace_metadata]
            if not batch:
                continue
            stmt = self._insert(services)
            excluded = stmt.excluded
            updates: dict[str, Any] = {
                "display_name": func.coalesce(excluded.display_name, services.c.display_name),
                "team": func.coalesce(excluded.team, services.c.team),
                "criticality": func.coalesce(excluded.criticality, services.c.criticality),
                "discovered": False,
                "updated_at": excluded.updated_at,
            }
            if replace_metadata:
                updates["metadata"] = excluded["metadata"]
            stmt = stmt.on_conflict_do_update(index_elements=[services.c.service_id], set_=updates)
            rows = [
                {
                    "id": uuid.uuid4(),
                    "service_id": s.service_id,
                    "display_name": s.display_name,
                    "team": s.team,
                    "criticality": s.criticality.value if s.criticality else None,
                    "metadata": s.metadata or {},
                    "discovered": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for s in batch
            ]
            result = await self._session.execute(stmt.returning(*_SERVICE_COLUMNS), rows)
            for row in result:
                ids[row.service_id] = row.id
                stored.append(_service_from_row(row))
        return ids, stored

    async def ensure_services(
        self, service_ids: Iterable[str], now: datetime
    ) -> tuple[dict[str, uuid.UUID], list[Service]]:
        """Create the services that do not exist yet as `discovered`; leave the others.

        Returns the ids of all of them and the services it created.
        """
        wanted = list(service_ids)
        if not wanted:
            return {}, []
        stmt = self._insert(services).on_conflict_do_nothing(index_elements=[services.c.service_id])
        rows: list[dict[str, Any]] = [
            {
                "id": uuid.uuid4(),
                "service_id": service_id,
                "display_name": None,
                "team": None,
                "criticality": None,
                "metadata": {},
                "discovered": True,
                "created_at": now,
                "updated_at": now,
            }
            for service_id in wanted
        ]
        result = await self._session.execute(stmt.returning(*_SERVICE_COLUMNS), rows)
        created = list(result)
        ids = {row.service_id: row.id for row in created}
        missing = [service_id for service_id in wanted if service_id not in ids]
        for start in range(0, len(missing), _IN_CHUNK):
            chunk = missing[start : start + _IN_CHUNK]
            found = await self._session.execute(
                select(services.c.service_id, services.c.id).where(services.c.service_id.in_(chunk))
            )
            ids.update({row.service_id: row.id for row in found})
        return ids, [_service_from_row(row) for row in created]

    async def upsert_reports(
        self,
        reports: Sequence[DependencyReport],
        ids: Mapping[str, uuid.UUID],
        now: datetime,
    ) -> list[DependencyReport]:
        """Insert or update one row per (source, target, discovery source).

        A report seen again takes the new attributes and figures, is no longer stale,
        and keeps the later of the two `last_observed_at`. Returns the stored reports.
        """
        if not reports:
            return []
        stmt = self._insert(service_dependencies)
        excluded = stmt.excluded
        table = service_dependencies.c
        replaced = (
            "communication_mode",
            "criticality",
            "protocol",
            "timeout_ms",
            "retry_config",
            "confidence_score",
            "request_rate",
            "error_rate",
            "latency_p95_ms",
            "updated_at",
        )
        updates: dict[str, Any] = {name: excluded[name] for name in replaced}
        updates["is_stale"] = False
        updates["last_observed_at"] = case(
            (excluded.last_observed_at > table.last_observed_at, excluded.last_observed_at),
            else_=table.last_observed_at,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                table.source_service_id,
                table.target_service_id,
                table.discovery_source,
            ],
            set_=updates,
        )
        rows = [
            {
                "id": uuid.uuid4(),
                "source_service_id": ids[r.source],
                "target_service_id": ids[r.target],
                "discovery_source": r.discovery_source.value,
                "communication_mode": r.communication_mode.value if r.communication_mode else None,
                "criticality": r.criticality.value if r.criticality else None,
                "protocol": r.protocol,
                "timeout_ms": r.timeout_ms,
                "retry_config": r.retry_config,
                "confidence_score": r.confidence_score,
                "request_rate": r.request_rate,
                "error_rate": r.error_rate,
                "latency_p95_ms": r.latency_p95_ms,
                "first_observed_at": r.last_observed_at,
                "last_observed_at": r.last_observed_at,
                "is_stale": False,
                "created_at": now,
                "updated_at": now,
            }
            for r in reports
        ]
        result = await self._session.execute(stmt.returning(*_REPORT_COLUMNS), rows)
        names = {service_uuid: service_id for service_id, service_uuid in ids.items()}
        return [_report_from_row(row, names) for row in result]

    # --- reads ----------------------------------------------------------------------

    async def load_graph(self) -> tuple[list[Service], list[DependencyReport]]:
        """Every service and every stored report (for the in-memory snapshot)."""
        service_rows = (await self._session.execute(select(*_SERVICE_COLUMNS))).all()
        names = {row.id: row.service_id for row in service_rows}
        report_rows = await self._session.execute(select(*_REPORT_COLUMNS))
        return (
            [_service_from_row(row) for row in service_rows],
            [_report_from_row(row, names) for row in report_rows],
        )

    async def get_service(self, service_id: str) -> Service | None:
        result = await self._session.execute(
            select(*_SERVICE_COLUMNS).where(services.c.service_id == service_id)
        )
        row = result.one_or_none()
        return _service_from_row(row) if row is not None else None

    async def list_services(
        self, service_filter: ServiceFilter, after: str | None, limit: int
    ) -> list[Service]:
        """Services ordered by service id, starting after `after` (keyset pagination)."""
        stmt = select(*_SERVICE_COLUMNS).order_by(services.c.service_id).limit(limit)
        if after is not None:
            stmt = stmt.where(services.c.service_id > after)
        if service_filter.team is not None:
            stmt = stmt.where(services.c.team == service_filter.team)
        if service_filter.criticality is not None:
            stmt = stmt.where(services.c.criticality == service_filter.criticality.value)
        if service_filter.discovered is not None:
            stmt = stmt.where(services.c.discovered == service_filter.discovered)
        result = await self._session.execute(stmt)
        return [_service_from_row(row) for row in result]
