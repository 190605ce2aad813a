"""All SQL on the graph's history: the change log (`graph_changes`) and the time of
each revision (`graph_revisions`).

A write records its changes (graph/change_log.py `GraphChange`) in its own transaction
through `ChangeLog.record`: the current states the changes replace or end are closed
(`valid_to` = the write's revision), then the new entries are appended, in bulk, in each
engine's native form like catalog/bulk.py (COPY on PostgreSQL, the driver's executemany
on SQLite): two or three statements per write, never one per row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.bulk import driver_connection, sqlite_time
from slo_engine.catalog.tables import graph_changes, graph_revisions
from slo_engine.graph.change_log import (
    CYCLE,
    EDGE,
    SERVICE,
    ChangeType,
    EntryOutline,
    GraphChange,
    report_from_state,
    service_from_state,
)
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.graph.snapshot import ReportKey

# Changes that start a thing's first state: nothing current to close.
_STARTS = frozenset({ChangeType.EDGE_REPORTED, ChangeType.SERVICE_CREATED})
# Changes that are events, not states: never current (`valid_to` = their revision).
_EVENTS = frozenset(
    {
        ChangeType.EDGE_RETRACTED,
        ChangeType.SERVICE_DELETED,
        ChangeType.CYCLE_OPENED,
        ChangeType.CYCLE_RESOLVED,
    }
)
_INSERT_COLUMNS = (
    "revision",
    "changed_at",
    "change_type",
    "kind",
    "service_id",
    "target_id",
    "discovery_source",
    "actor",
    "state",
    "previous",
    "valid_to",
)
# Rows converted between two yields to the event loop when states are read in bulk.
_READ_PARTITION = 1_000


def _dumps(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    """One stored entry of the change log."""

    id: int
    revision: int
    changed_at: datetime
    type: ChangeType
    service_id: str
    target_id: str | None
    discovery_source: str | None
    actor: str | None
    state: dict[str, Any] | None
    previous: dict[str, Any] | None


def _entry_from_row(row: Row[Any]) -> ChangeEntry:
    m = row._mapping
    return ChangeEntry(
        id=int(m["id"]),
        revision=int(m["revision"]),
        changed_at=m["changed_at"],
        type=ChangeType(m["change_type"]),
        service_id=m["service_id"],
        target_id=m["target_id"],
        discovery_source=m["discovery_source"],
        actor=m["actor"],
        state=m["state"],
        previous=m["previous"],
    )


class ChangeLog:
    """The change log as one write at `revision` appends to it."""

    def __init__(
        self, session: AsyncSession, revision: int, at: datetime, actor: str | None
    ) -> None:
        self._session = session
        self.revision = revision
        self.at = at
        self.actor = actor

    async def record(self, changes: Sequence[GraphChange]) -> None:
        """Close the current states these changes replace or end, then append them."""
        if not changes:
            return
        closing = [c for c in changes if c.type not in _STARTS and c.kind in (EDGE, SERVICE)]
        edges = [(c.service_id, c.target_id, c.discovery_source) for c in closing if c.kind == EDGE]
        services = [c.service_id for c in closing if c.kind == SERVICE]
        if self._session.get_bind().dialect.name == "postgresql":
            await self._record_postgres(changes, edges, services)
        else:
            await self._record_sqlite(changes, edges, services)

    def _records(self, changes: Sequence[GraphChange], at: Any) -> list[tuple[Any, ...]]:
        revision, actor = self.revision, self.actor
        return [
            (
                revision,
                at,
                c.type.value,
                c.kind,
                c.service_id,
                c.target_id,
                c.discovery_source,
                actor,
                _dumps(c.state),
                _dumps(c.previous),
                revision if c.type in _EVENTS else None,
            )
            for c in changes
        ]

    async def _record_postgres(
        self,
        changes: Sequence[GraphChange],
        edges: list[tuple[str, str | None, str | None]],
        services: list[str],
    ) -> None:
        driver = await driver_connection(self._session)
        if edges:
            await driver.execute(
                "UPDATE graph_changes SET valid_to = $1 FROM unnest($2::text[], $3::text[], "
                "$4::text[]) AS k(s, t, d) WHERE valid_to IS NULL AND kind = 'edge' "
                "AND service_id = k.s AND target_id = k.t AND discovery_source = k.d",
                self.revision,
                [e[0] for e in edges],
                [e[1] for e in edges],
                [e[2] for e in edges],
            )
        if services:
            await driver.execute(
                "UPDATE graph_changes SET valid_to = $1 WHERE valid_to IS NULL "
                "AND kind = 'service' AND target_id IS NULL AND discovery_source IS NULL "
                "AND service_id = ANY($2::text[])",
                self.revision,
                services,
            )
        await driver.copy_records_to_table(
            "graph_changes", records=self._records(changes, self.at), columns=_INSERT_COLUMNS
        )

    async def _record_sqlite(
        self,
        changes: Sequence[GraphChange],
        edges: list[tuple[str, str | None, str | None]],
        services: list[str],
    ) -> None:
        connection = await self._session.connection()
        revision = self.revision
        if edges:
            await connection.exec_driver_sql(
                "UPDATE graph_changes SET valid_to = ? WHERE valid_to IS NULL AND kind = 'edge' "
                "AND service_id = ? AND target_id = ? AND discovery_source = ?",
                [(revision, *edge) for edge in edges],
            )
        if services:
            await connection.exec_driver_sql(
                "UPDATE graph_changes SET valid_to = ? WHERE valid_to IS NULL "
                "AND kind = 'service' AND target_id IS NULL AND discovery_source IS NULL "
                "AND service_id = ?",
                [(revision, service) for service in services],
            )
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
        await connection.exec_driver_sql(
            f"INSERT INTO graph_changes ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks})",
            self._records(changes, sqlite_time(self.at)),
        )


# --- the time of each revision ---------------------------------------------------------


async def record_revision(
    session: AsyncSession, revision: int, at: datetime, actor: str | None
) -> None:
    """When `revision` was committed and by whom (in the write's transaction)."""
    await session.execute(
        graph_revisions.insert().values(revision=revision, committed_at=at, actor=actor)
    )


async def revision_at(session: AsyncSession, at: datetime) -> int | None:
    """The last revision committed at or before `at`; None if the history kept begins
    after it."""
    result = await session.execute(
        select(func.max(graph_revisions.c.revision)).where(graph_revisions.c.committed_at <= at)
    )
    found = result.scalar_one()
    return None if found is None else int(found)


async def history_begins(session: AsyncSession) -> tuple[int, datetime] | None:
    """The oldest revision the history kept can answer, and its time."""
    result = await session.execute(
        select(graph_revisions.c.revision, graph_revisions.c.committed_at)
        .order_by(graph_revisions.c.revision)
        .limit(1)
    )
    row = result.one_or_none()
    return None if row is None else (int(row.revision), row.committed_at)


async def revision_times(session: AsyncSession, revisions: Sequence[int]) -> dict[int, datetime]:
    result = await session.execute(
        select(graph_revisions.c.revision, graph_revisions.c.committed_at).where(
            graph_revisions.c.revision.in_(list(revisions))
        )
    )
    return {int(row.revision): row.committed_at for row in result}


# --- reads -------------------------------------------------------------------------


async def latest_revision(session: AsyncSession) -> int:
    """The last committed revision (0 before the first write)."""
    result = await session.execute(select(func.max(graph_revisions.c.revision)))
    found = result.scalar_one()
    return 0 if found is None else int(found)


async def outlines_between(
    session: AsyncSession, after: int, upto: int
) -> AsyncIterator[EntryOutline]:
    """The entries of the revisions after `after` up to `upto`, in the order they were
    written, read in partitions. O(entries read); the states of edges and services,
    most of an entry's bytes, are not read."""
    c = graph_changes.c
    rows = await session.stream(
        select(
            c.revision,
            c.changed_at,
            c.actor,
            c.change_type,
            c.service_id,
            c.target_id,
            c.discovery_source,
            case((c.kind == CYCLE, c.state), else_=None).label("cycle"),
        )
        .where(c.revision > after, c.revision <= upto)
        .order_by(c.id)
        .execution_options(yield_per=_READ_PARTITION)
    )
    async for partition in rows.partitions():
        for row in partition:
            yield EntryOutline(
                int(row.revision),
                row.changed_at,
                row.actor,
                ChangeType(row.change_type),
                row.service_id,
                row.target_id,
                row.discovery_source,
                row.cycle,
            )
        await asyncio.sleep(0)


async def removals_since(session: AsyncSession, revision: int) -> tuple[list[ReportKey], list[str]]:
    """The reports retracted and the services deleted after `revision` (what a
    catch-up takes out of a snapshot before upserting the rows written since)."""
    result = await session.execute(
        select(
            graph_changes.c.change_type,
            graph_changes.c.service_id,
            graph_changes.c.target_id,
            graph_changes.c.discovery_source,
        )
        .where(graph_changes.c.revision > revision)
        .where(
            graph_changes.c.change_type.in_(
                (ChangeType.EDGE_RETRACTED.value, ChangeType.SERVICE_DELETED.value)
            )
        )
        .order_by(graph_changes.c.id)
    )
    retracted: list[ReportKey] = []
    deleted: list[str] = []
    for row in result:
        if row.change_type == ChangeType.EDGE_RETRACTED.value:
            retracted.append((row.service_id, row.target_id, row.discovery_source))
        else:
            deleted.append(row.service_id)
    return retracted, deleted


async def graph_at(
    session: AsyncSession, revision: int
) -> tuple[list[Service], list[DependencyReport]]:
    """Every service and report as they were at `revision`: the states valid then (one
    indexed read of O(graph size + states ended since), no replay)."""
    valid = and_(
        graph_changes.c.revision <= revision,
        or_(graph_changes.c.valid_to.is_(None), graph_changes.c.valid_to > revision),
    )
    services: list[Service] = []
    reports: list[DependencyReport] = []
    async for row in _state_rows(session, valid):
        if row.kind == SERVICE:
            services.append(service_from_state(row.service_id, row.state))
        else:
            reports.append(
                report_from_state(row.service_id, row.target_id, row.discovery_source, row.state)
            )
    return services, reports


@dataclass(frozen=True, slots=True)
class ChangeFilter:
    after_id: int | None = None  # the cursor
    since_revision: int | None = None  # revisions after this one
    until_revision: int | None = None  # revisions up to this one
    service: str | None = None  # a change of this service, or of an edge touching it
    types: tuple[ChangeType, ...] = ()


async def list_changes(
    session: AsyncSession, change_filter: ChangeFilter, limit: int
) -> list[ChangeEntry]:
    """Entries in the order they were written (revision order), keyset-paginated."""
    stmt = select(graph_changes).order_by(graph_changes.c.id).limit(limit)
    f = change_filter
    if f.after_id is not None:
        stmt = stmt.where(graph_changes.c.id > f.after_id)
    if f.since_revision is not None:
        stmt = stmt.where(graph_changes.c.revision > f.since_revision)
    if f.until_revision is not None:
        stmt = stmt.where(graph_changes.c.revision <= f.until_revision)
    if f.service is not None:
        stmt = stmt.where(
            (graph_changes.c.service_id == f.service) | (graph_changes.c.target_id == f.service)
        )
    if f.types:
        stmt = stmt.where(graph_changes.c.change_type.in_([t.value for t in f.types]))
    result = await session.execute(stmt)
    return [_entry_from_row(row) for row in result]


async def prune_before(session: AsyncSession, revision: int) -> int:
    """Forget the history before `revision`: entries that stopped being valid at or
    before it (states replaced, events) and the times of earlier revisions. The states
    valid at `revision` stay, so the graph at it can still be rebuilt. Returns the
    number of entries removed."""
    result = await session.execute(
        delete(graph_changes).where(
            graph_changes.c.valid_to.is_not(None), graph_changes.c.valid_to <= revision
        )
    )
    await session.execute(delete(graph_revisions).where(graph_revisions.c.revision < revision))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- the difference between two revisions --------------------------------------------

# A recorded state (an entry's `state`), as stored.
State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class KeyedStates:
    """Recorded states of services (by id) and of edge reports (by caller, callee,
    source), each key at most once."""

    services: dict[str, State]
    edges: dict[ReportKey, State]


async def _state_rows(session: AsyncSession, condition: Any) -> AsyncIterator[Any]:
    """The state rows (kind, service_id, target_id, discovery_source, state) of services
    and edges meeting `condition`, read in partitions with a yield to the event loop
    between them. O(rows read)."""
    rows = await session.stream(
        select(
            graph_changes.c.kind,
            graph_changes.c.service_id,
            graph_changes.c.target_id,
            graph_changes.c.discovery_source,
            graph_changes.c.state,
        )
        .where(
            condition,
            graph_changes.c.kind.in_((EDGE, SERVICE)),
            # Retractions and deletions carry no state: they only end one.
            graph_changes.c.state.is_not(None),
        )
        .execution_options(yield_per=_READ_PARTITION)
    )
    async for partition in rows.partitions():
        for row in partition:
            yield row
        await asyncio.sleep(0)


async def _keyed_states(session: AsyncSession, condition: Any) -> KeyedStates:
    """The states of services and edges meeting `condition`, by key. O(rows read)."""
    found = KeyedStates({}, {})
    async for row in _state_rows(session, condition):
        if row.kind == SERVICE:
            found.services[row.service_id] = row.state
        else:
            found.edges[(row.service_id, row.target_id, row.discovery_source)] = row.state
    return found


async def states_ended_between(session: AsyncSession, after: int, upto: int) -> KeyedStates:
    """The states valid at revision `after` that stopped being valid by `upto`
    (`revision <= after < valid_to <= upto`): what each thing that changed in
    (after, upto] was at `after`. At most one per key (one state of a thing is valid at
    a revision). One range read of `ix_graph_changes_valid_to`: O(entries that ended in
    (after, upto]).

    Stable under concurrent writes: a later write only closes current states, with a
    `valid_to` above `upto`."""
    return await _keyed_states(
        session,
        and_(
            graph_changes.c.valid_to > after,
            graph_changes.c.valid_to <= upto,
            graph_changes.c.revision <= after,
        ),
    )


async def states_started_between(session: AsyncSession, after: int, upto: int) -> KeyedStates:
    """The states that began in (after, upto] and are still valid at `upto`
    (`after < revision <= upto`, `valid_to` NULL or above `upto`): what each thing that
    changed in that range is at `upto`. At most one per key. One range read of
    `ix_graph_changes_revision`: O(entries of the revisions in (after, upto]).

    Stable under concurrent writes: a later write closes a state with a `valid_to` above
    `upto`, which still counts as valid at `upto`."""
    return await _keyed_states(
        session,
        and_(
            graph_changes.c.revision > after,
            graph_changes.c.revision <= upto,
            or_(graph_changes.c.valid_to.is_(None), graph_changes.c.valid_to > upto),
        ),
    )


async def count_changes(
    session: AsyncSession, after: int, upto: int, types: Sequence[ChangeType]
) -> dict[ChangeType, int]:
    """How many entries of each of `types` the revisions in (after, upto] recorded. One
    range read of `ix_graph_changes_revision`: O(entries of those revisions)."""
    result = await session.execute(
        select(graph_changes.c.change_type, func.count())
        .where(
            graph_changes.c.revision > after,
            graph_changes.c.revision <= upto,
            graph_changes.c.change_type.in_([t.value for t in types]),
        )
        .group_by(graph_changes.c.change_type)
    )
    counts = dict.fromkeys(types, 0)
    for change_type, count in result:
        counts[ChangeType(change_type)] = int(count)
    return counts


async def revisions_before(session: AsyncSession, revision: int) -> int:
    """How many revision times are kept for revisions before `revision` (what
    `prune_before` forgets of them). One index range count."""
    result = await session.execute(
        select(func.count()).where(graph_revisions.c.revision < revision)
    )
    return int(result.scalar_one())
