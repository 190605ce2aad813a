"""All SQL about services, their dependencies and the graph revision.

Writes are bulk, in each engine's native form (catalog/bulk.py), never one statement
per row. Rows are converted to domain objects before they leave.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from slo_engine.catalog.bulk import ServiceRow, bulk_writer
from slo_engine.catalog.change_log import ChangeLog, record_revision, removals_since
from slo_engine.catalog.identity import service_uuid
from slo_engine.catalog.interning import Interner
from slo_engine.catalog.tables import (
    ACCESS_REVISION_ROW,
    GRAPH_REVISION_ROW,
    graph_identity,
    graph_state,
    service_dependencies,
    services,
)
from slo_engine.graph.model import (
    DECLARED_ATTRIBUTES,
    OBSERVED_ATTRIBUTES,
    REPORTED_NAMES,
    CommunicationMode,
    DependencyCriticality,
    DependencyReport,
    DiscoverySource,
    NodeKind,
    Service,
    ServiceCriticality,
    ServiceDeclaration,
)
from slo_engine.graph.snapshot import ReportKey, report_key

AnyRow = Row[*tuple[Any, ...]]

# Bound parameters per IN list: well under SQLite's 32,766 and PostgreSQL's 65,535.
_IN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ServiceFilter:
    team: str | None = None
    criticality: ServiceCriticality | None = None
    discovered: bool | None = None
    # Case-insensitive substring of the service id or display name (type-ahead search).
    search: str | None = None
    kind: NodeKind | None = None


def _service_from_row(row: AnyRow, shared: Interner | None = None) -> Service:
    m = row._mapping
    shared = shared or Interner()
    created_at, updated_at = m["created_at"], m["updated_at"]
    return Service(
        service_id=m["service_id"],
        display_name=m["display_name"],
        team=shared.text(m["team"]),
        criticality=ServiceCriticality(m["criticality"]) if m["criticality"] else None,
        metadata=m["metadata"] or {},
        discovered=m["discovered"],
        created_at=created_at if created_at is None else shared.time(created_at),
        updated_at=updated_at if updated_at is None else shared.time(updated_at),
        kind=NodeKind(m["kind"]) if m["kind"] else NodeKind.SERVICE,
        kind_declared=m["kind_declared"],
    )


def _report_from_row(
    row: AnyRow, source: str, target: str, shared: Interner | None = None
) -> DependencyReport:
    m = row._mapping
    shared = shared or Interner()
    mode = m["communication_mode"]
    criticality = m["criticality"]
    return DependencyReport(
        source=source,
        target=target,
        discovery_source=DiscoverySource(m["discovery_source"]),
        last_observed_at=shared.time(m["last_observed_at"]),
        communication_mode=CommunicationMode(mode) if mode else None,
        criticality=DependencyCriticality(criticality) if criticality else None,
        protocol=shared.text(m["protocol"]),
        timeout_ms=m["timeout_ms"],
        retry_config=m["retry_config"],
        confidence_score=shared.number(m["confidence_score"]),  # type: ignore[arg-type]
        request_rate=shared.number(m["request_rate"]),
        error_rate=shared.number(m["error_rate"]),
        latency_p95_ms=shared.number(m["latency_p95_ms"]),
        is_stale=m["is_stale"],
        source_reported_as=m["source_reported_as"],
        target_reported_as=m["target_reported_as"],
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
    services.c.kind,
    services.c.kind_declared,
)
# What `put_reports` writes of a report as it is.
_PUT_REPORT_FIELDS = (
    *DECLARED_ATTRIBUTES,
    "confidence_score",
    *OBSERVED_ATTRIBUTES,
    *REPORTED_NAMES,
)
_REPORT_COLUMNS = tuple(
    c
    for c in service_dependencies.c
    if c.name not in ("id", "first_observed_at", "created_at", "updated_at", "revision")
)
# Rows converted between two yields to the event loop while the graph, or what changed
# in it, is read: 250,000 reports are seconds of Python, and a 5,000-edge write read in
# one go held the loop ~25 ms, which the requests served meanwhile from the snapshot
# must not wait for. 1,000 rows are ~5 ms.
_LOAD_PARTITION = 1_000


class Revisions(NamedTuple):
    graph: int
    access: int


_READ_REVISIONS = select(graph_state.c.id, graph_state.c.revision).where(
    graph_state.c.id.in_((GRAPH_REVISION_ROW, ACCESS_REVISION_ROW))
)
# The same read as text, for a driver connection of its own (the change feed's).
READ_REVISIONS_SQL = str(
    _READ_REVISIONS.compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
)


def revisions_of(rows: Iterable[tuple[int, int]]) -> Revisions:
    """The counters from the (id, revision) rows of `READ_REVISIONS_SQL`."""
    by_row = {int(row_id): int(revision) for row_id, revision in rows}
    return Revisions(by_row[GRAPH_REVISION_ROW], by_row[ACCESS_REVISION_ROW])


async def read_revisions(connection: AsyncConnection | AsyncSession) -> Revisions:
    """Both revision counters in one primary-key read (the live graph's freshness check)."""
    result = await connection.execute(_READ_REVISIONS)
    return revisions_of((row.id, row.revision) for row in result)


async def graph_epoch(session: AsyncSession) -> str:
    """The random name of this database's graph (see `graph_identity`)."""
    result = await session.execute(select(graph_identity.c.epoch).where(graph_identity.c.id == 1))
    return str(result.scalar_one())


# The PostgreSQL channel every committing write notifies (live/graph.py listens).
CHANGES_CHANNEL = "slo_engine_changes"


async def notify_change(session: AsyncSession, kind: str, revision: int) -> None:
    """Tell every process listening that `kind` ("graph", "access") reached `revision`.

    PostgreSQL delivers a NOTIFY when (and only if) the transaction commits; SQLite has
    no such thing, and its processes notice a commit by `PRAGMA data_version` instead.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_notify(CHANGES_CHANNEL, f"{kind}:{int(revision)}")))


async def bump_access_revision(session: AsyncSession) -> int:
    """Called in the transaction of every API-key change; returns the new revision."""
    result = await session.execute(
        update(graph_state)
        .where(graph_state.c.id == ACCESS_REVISION_ROW)
        .values(revision=graph_state.c.revision + 1)
        .returning(graph_state.c.revision)
    )
    revision = int(result.scalar_one())
    await notify_change(session, "access", revision)
    return revision


class CatalogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._bulk = bulk_writer(session)
        self._revision: int | None = None  # the revision this transaction writes
        self._change_log: ChangeLog | None = None  # its entries, once bumped

    def _writing_revision(self) -> int:
        if self._revision is None:
            raise RuntimeError("a graph write must bump the revision first (bump_revision)")
        return self._revision

    # --- graph revision -------------------------------------------------------------

    async def bump_revision(self, actor: str | None = None, at: datetime | None = None) -> int:
        """Advance the graph revision, and record when (`at`, default now) and by whom.
        Takes the graph write lock until the transaction ends."""
        result = await self._session.execute(
            update(graph_state)
            .where(graph_state.c.id == GRAPH_REVISION_ROW)
            .values(revision=graph_state.c.revision + 1)
            .returning(graph_state.c.revision)
        )
        self._revision = int(result.scalar_one())
        at = at or datetime.now(UTC)
        await record_revision(self._session, self._revision, at, actor)
        self._change_log = ChangeLog(self._session, self._revision, at, actor)
        await notify_change(self._session, "graph", self._revision)
        return self._revision

    def change_log(self) -> ChangeLog:
        """The change log as this write appends to it: its revision, the time and the
        actor the revision was recorded with (`bump_revision`)."""
        if self._change_log is None:
            raise RuntimeError("a graph write must bump the revision first (bump_revision)")
        return self._change_log

    async def lock_graph(self) -> int:
        """Take the graph write lock without changing the revision (for jobs that read
        the graph and write alerts); returns the current revision."""
        result = await self._session.execute(
            update(graph_state)
            .where(graph_state.c.id == GRAPH_REVISION_ROW)
            .values(revision=graph_state.c.revision)
            .returning(graph_state.c.revision)
        )
        return int(result.scalar_one())

    async def mark_stale(
        self, discovery_sources: Sequence[str], observed_before: datetime, now: datetime
    ) -> int:
        """Flag as stale the fresh reports of these sources last observed before the
        cutoff; returns how many. (The same rule as `graph.stored_rows.expired`.)"""
        result = await self._session.execute(
            update(service_dependencies)
            .where(service_dependencies.c.is_stale.is_(False))
            .where(service_dependencies.c.discovery_source.in_(list(discovery_sources)))
            .where(service_dependencies.c.last_observed_at < observed_before)
            .values(is_stale=True, updated_at=now, revision=self._writing_revision())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def current_revision(self) -> int:
        result = await self._session.execute(
            select(graph_state.c.revision).where(graph_state.c.id == GRAPH_REVISION_ROW)
        )
        return int(result.scalar_one())

    # --- writes (bulk, see catalog/bulk.py) -----------------------------------------

    async def upsert_declared_services(
        self, declarations: Sequence[ServiceDeclaration], now: datetime
    ) -> None:
        """Insert or update services from node entries; they stop being `discovered`."""
        await self._bulk.upsert_declared_services(
            [
                ServiceRow(
                    service_uuid(d.service_id),
                    d.service_id,
                    d.display_name,
                    d.team,
                    d.criticality.value if d.criticality else None,
                    d.metadata,
                    False,
                    now,
                    now,
                    d.kind.value if d.kind else None,
                    d.kind is not None,
                )
                for d in declarations
            ],
            self._writing_revision(),
        )

    async def insert_missing_services(
        self,
        service_ids: Sequence[str],
        now: datetime,
        kinds: Mapping[str, NodeKind] | None = None,
    ) -> None:
        """Create, as `discovered`, those of these services that do not exist yet, of
        the kinds given (a service otherwise)."""
        kinds = kinds or {}
        await self._bulk.insert_missing_services(
            [
                ServiceRow(
                    service_uuid(name),
                    name,
                    None,
                    None,
                    None,
                    {},
                    True,
                    now,
                    now,
                    kinds[name].value if name in kinds else None,
                    False,
                )
                for name in service_ids
            ],
            self._writing_revision(),
        )

    async def set_observed_kinds(self, changed: Sequence[Service], now: datetime) -> None:
        """Store the kinds sources observed for these services, whose kind no node entry
        declared (computed by graph/stored_rows.py `observed_kind`): one statement
        stepped over them all (a first run of a source may retype thousands)."""
        if not changed:
            return
        statement = (
            update(services)
            .where(services.c.id == bindparam("row_id"))
            .where(services.c.kind_declared.is_(False))
            .values(kind=bindparam("new_kind"), updated_at=now, revision=self._writing_revision())
        )
        await self._session.execute(
            statement,
            [{"row_id": service_uuid(s.service_id), "new_kind": s.kind.value} for s in changed],
        )

    async def upsert_reports(self, reports: Sequence[DependencyReport], now: datetime) -> None:
        """Insert or update one row per (source, target, discovery source).

        A report seen again takes the new attributes and figures, is no longer stale,
        and keeps the later of the two `last_observed_at`. Both services must exist.
        """
        await self._bulk.upsert_reports(reports, now, self._writing_revision())

    async def delete_reports(self, keys: Sequence[tuple[str, str, str]]) -> int:
        """Delete these reports, each named (caller, callee, discovery source); returns
        how many rows went (a retraction; the change log records it)."""
        deps = service_dependencies
        removed = 0
        rows = [(service_uuid(s), service_uuid(t), d) for s, t, d in keys]
        # Three bound parameters per key.
        for start in range(0, len(rows), _IN_CHUNK // 3):
            chunk = rows[start : start + _IN_CHUNK // 3]
            result = await self._session.execute(
                delete(deps).where(
                    tuple_(
                        deps.c.source_service_id, deps.c.target_service_id, deps.c.discovery_source
                    ).in_(chunk)
                )
            )
            removed += int(result.rowcount)  # type: ignore[attr-defined]
        return removed

    async def first_observations(self, keys: Sequence[ReportKey]) -> dict[ReportKey, datetime]:
        """When each of these stored reports was first observed, by key."""
        deps = service_dependencies
        source, target = services.alias("source"), services.alias("target")
        found: dict[ReportKey, datetime] = {}
        rows = [(service_uuid(s), service_uuid(t), d) for s, t, d in keys]
        for start in range(0, len(rows), _IN_CHUNK // 3):
            chunk = rows[start : start + _IN_CHUNK // 3]
            result = await self._session.execute(
                select(
                    source.c.service_id,
                    target.c.service_id,
                    deps.c.discovery_source,
                    deps.c.first_observed_at,
                )
                .join(source, source.c.id == deps.c.source_service_id)
                .join(target, target.c.id == deps.c.target_service_id)
                .where(
                    tuple_(
                        deps.c.source_service_id, deps.c.target_service_id, deps.c.discovery_source
                    ).in_(chunk)
                )
            )
            found.update(((s, t, d), first) for s, t, d, first in result)
        return found

    async def put_reports(
        self,
        reports: Sequence[DependencyReport],
        now: datetime,
        first_observed: Mapping[ReportKey, datetime],
    ) -> None:
        """Insert these reports exactly as given (stale ones stay stale, the first
        observation kept where `first_observed` has it), over keys the caller cleared
        (`delete_reports`): how a merge moves reports between pairs. One executemany;
        merges move few rows next to an ingestion."""
        if not reports:
            return
        revision = self._writing_revision()
        await self._session.execute(
            insert(service_dependencies),
            [
                {
                    "id": uuid.uuid4(),
                    "source_service_id": service_uuid(r.source),
                    "target_service_id": service_uuid(r.target),
                    "discovery_source": r.discovery_source.value,
                    **{name: getattr(r, name) for name in _PUT_REPORT_FIELDS},
                    "first_observed_at": first_observed.get(report_key(r), r.last_observed_at),
                    "last_observed_at": r.last_observed_at,
                    "is_stale": r.is_stale,
                    "created_at": now,
                    "updated_at": now,
                    "revision": revision,
                }
                for r in reports
            ],
        )

    async def put_services(self, written: Sequence[Service]) -> None:
        """Insert these services exactly as given: ids that no row holds (a merge's
        copies and the services an unmerge brings back)."""
        if not written:
            return
        revision = self._writing_revision()
        await self._session.execute(
            insert(services),
            [
                {
                    "id": service_uuid(s.service_id),
                    "service_id": s.service_id,
                    "display_name": s.display_name,
                    "team": s.team,
                    "criticality": s.criticality.value if s.criticality else None,
                    "metadata": s.metadata,
                    "discovered": s.discovered,
                    "created_at": s.created_at or s.updated_at,
                    "updated_at": s.updated_at,
                    "kind": s.kind.value,
                    "kind_declared": s.kind_declared,
                    "revision": revision,
                }
                for s in written
            ],
        )

    async def delete_services(self, service_ids: Sequence[str]) -> None:
        """Delete services that no report names any more (a merge's)."""
        ids = [service_uuid(s) for s in service_ids]
        for start in range(0, len(ids), _IN_CHUNK):
            await self._session.execute(
                delete(services).where(services.c.id.in_(ids[start : start + _IN_CHUNK]))
            )

    async def delete_service(self, service_id: str) -> bool:
        """Delete a service that no report names any more; whether it existed."""
        result = await self._session.execute(
            delete(services).where(services.c.id == service_uuid(service_id))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # --- reads ----------------------------------------------------------------------

    async def load_graph(self) -> tuple[list[Service], list[DependencyReport]]:
        """Every service and every stored report (for the in-memory snapshot), read in
        partitions that give the event loop back in between. Consistent only inside a
        snapshot transaction (`Database.consistent_read`)."""
        loaded: list[Service] = []
        names: dict[uuid.UUID, str] = {}
        shared = Interner()
        rows = await self._session.stream(
            select(*_SERVICE_COLUMNS).execution_options(yield_per=_LOAD_PARTITION)
        )
        async for partition in rows.partitions():
            for row in partition:
                names[row.id] = row.service_id
                loaded.append(_service_from_row(row, shared))
            await asyncio.sleep(0)
        reports: list[DependencyReport] = []
        rows = await self._session.stream(
            select(*_REPORT_COLUMNS).execution_options(yield_per=_LOAD_PARTITION)
        )
        async for partition in rows.partitions():
            reports.extend(
                _report_from_row(
                    row, names[row.source_service_id], names[row.target_service_id], shared
                )
                for row in partition
            )
            await asyncio.sleep(0)
        return loaded, reports

    async def changes_since(self, revision: int) -> tuple[list[Service], list[DependencyReport]]:
        """The services and reports written after graph revision `revision` (each as it
        is now). Applied over a snapshot at `revision` after the removals since then
        (`removals_since`), they bring it to the current revision. Consistent
        only inside a snapshot transaction (`Database.consistent_read`). O(changed rows),
        by the revision indexes."""
        shared = Interner()
        changed_services = [
            _service_from_row(row, shared)
            for row in await self._session.execute(
                select(*_SERVICE_COLUMNS).where(services.c.revision > revision)
            )
        ]
        source, target = services.alias("source"), services.alias("target")
        deps = service_dependencies
        rows = await self._session.stream(
            select(
                *_REPORT_COLUMNS,
                source.c.service_id.label("source_name"),
                target.c.service_id.label("target_name"),
            )
            .join(source, source.c.id == deps.c.source_service_id)
            .join(target, target.c.id == deps.c.target_service_id)
            .where(deps.c.revision > revision)
            .execution_options(yield_per=_LOAD_PARTITION)
        )
        changed_reports: list[DependencyReport] = []
        async for partition in rows.partitions():
            changed_reports.extend(
                _report_from_row(row, row.source_name, row.target_name, shared) for row in partition
            )
            await asyncio.sleep(0)  # a large write's rows must not stall the reads
        return changed_services, changed_reports

    async def removals_since(self, revision: int) -> tuple[list[ReportKey], list[str]]:
        """The reports retracted and services deleted after `revision` (from the change
        log: deleted rows leave nothing else behind)."""
        return await removals_since(self._session, revision)

    async def only_stale_edges(self, service_ids: Sequence[str]) -> set[str]:
        """Those of these services that have edges, all of them stale: seen only through
        edges no longer observed (flagged, never deleted)."""
        if not service_ids:
            return set()
        deps = service_dependencies
        ids = {service_uuid(name): name for name in service_ids}

        def touching(service: Any) -> Any:
            return (deps.c.source_service_id == service) | (deps.c.target_service_id == service)

        has_edges = select(deps.c.id).where(touching(services.c.id)).exists()
        has_fresh = (
            select(deps.c.id).where(touching(services.c.id)).where(deps.c.is_stale.is_(False))
        ).exists()
        result = await self._session.execute(
            select(services.c.id)
            .where(services.c.id.in_(list(ids)))
            .where(has_edges)
            .where(~has_fresh)
        )
        return {ids[row.id] for row in result}

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
        if service_filter.kind is NodeKind.SERVICE:
            stmt = stmt.where(
                services.c.kind.is_(None) | (services.c.kind == NodeKind.SERVICE.value)
            )
        elif service_filter.kind is not None:
            stmt = stmt.where(services.c.kind == service_filter.kind.value)
        if service_filter.search:
            stmt = stmt.where(
                services.c.service_id.icontains(service_filter.search, autoescape=True)
                | services.c.display_name.icontains(service_filter.search, autoescape=True)
            )
        result = await self._session.execute(stmt)
        return [_service_from_row(row) for row in result]
