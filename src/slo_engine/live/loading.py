"""What the live graph reads from the database: the whole graph, or the rows written
since a revision (a `Change`), each on one database snapshot (or, without one, between
two equal reads of the revision).

The live graph (live/graph.py) decides when to read and what to do with the result; the
statements and the bookkeeping of a read do not depend on its state, hence a module of
their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository, Revisions, graph_epoch, read_revisions
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.graph.snapshot import GraphSnapshot, ReportKey

logger = logging.getLogger(__name__)

_CONSISTENT_READ_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Change:
    """Rows to remove from and upsert into a snapshot at a revision in [base, revision)
    to bring it to `revision`: one write's rows (base = revision - 1), or every row
    written and removed since `base` (a catch-up)."""

    base: int
    revision: int
    services: Sequence[Service]
    reports: Sequence[DependencyReport]
    # Taken out before the rows are upserted (GraphSnapshot.apply).
    retracted: Sequence[ReportKey] = ()
    deleted: Sequence[str] = ()

    @property
    def size(self) -> int:
        return len(self.services) + len(self.reports) + len(self.retracted) + len(self.deleted)


def apply_change(snapshot: GraphSnapshot, change: Change) -> None:
    snapshot.apply(
        change.revision,
        change.services,
        change.reports,
        retracted=change.retracted,
        deleted=change.deleted,
    )


async def changes_since(session: AsyncSession, base: int) -> tuple[Revisions, Change]:
    """The revisions, and the rows written after `base` (on one database snapshot)."""
    now = await read_revisions(session)
    repository = CatalogRepository(session)
    retracted, deleted = await repository.removals_since(base)
    services, reports = await repository.changes_since(base)
    return now, Change(base, now.graph, services, reports, retracted, deleted)


async def whole_graph(session: AsyncSession) -> tuple[Revisions, str, GraphSnapshot]:
    """The revisions, the graph's epoch and a snapshot of every row (on one database
    snapshot); the snapshot is built in a worker thread."""
    revisions = await read_revisions(session)
    epoch = await graph_epoch(session)
    services, reports = await CatalogRepository(session).load_graph()
    snapshot = await asyncio.to_thread(GraphSnapshot.build, revisions.graph, services, reports)
    return revisions, epoch, snapshot


async def load_pulling(repository: CatalogRepository) -> GraphSnapshot:
    """A snapshot of every row `repository`'s session reads, without a database snapshot
    to read them on (one-off processes: the CLI)."""
    # Read the revision before and after the rows: equal means no write committed in
    # between (PostgreSQL's READ COMMITTED gives each statement its own view).
    for _ in range(_CONSISTENT_READ_ATTEMPTS):
        before = await repository.current_revision()
        services, reports = await repository.load_graph()
        after = await repository.current_revision()
        if before == after:
            break
    else:
        logger.warning("graph kept changing while it was loaded; using the last read")
    return await asyncio.to_thread(GraphSnapshot.build, before, services, reports)
