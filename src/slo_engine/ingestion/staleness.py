"""Observed edges age: a report no source has repeated for the staleness threshold is
flagged stale (never deleted), and the cycle alerts only stale edges still close are
resolved. Run as the `mark-stale` job (jobs/wiring.py)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slo_engine.alerts.service import reconcile_alerts
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.change_log import changes_of_write
from slo_engine.graph.cycles import cyclic_components
from slo_engine.graph.model import DependencyReport, DiscoverySource
from slo_engine.graph.snapshot import reports_of
from slo_engine.graph.stored_rows import expired
from slo_engine.infra.db import Database, after_commit
from slo_engine.live.graph import LiveGraph

logger = logging.getLogger(__name__)

# Who the change log says made the staleness job's changes.
STALENESS_ACTOR = "job:mark-stale"

# Sources whose edges are observations and so go stale when no longer seen. Declared
# edges (manual, Backstage) stay until someone changes them.
AGING_SOURCES = frozenset(
    {DiscoverySource.OTEL_SERVICE_GRAPH, DiscoverySource.SERVICE_MESH, DiscoverySource.JAEGER}
)


@dataclass(frozen=True, slots=True)
class StaleOutcome:
    flagged: int
    cycles_checked: bool


async def mark_stale_edges(
    database: Database, cache: LiveGraph, threshold: timedelta, now: datetime
) -> StaleOutcome:
    """Flag observed edges not seen for `threshold` as stale (never delete them), then
    resolve the cycle alerts whose cycles only stale edges still close.

    Under the graph write lock, from the exact snapshot of the current revision: the
    rows flagged in SQL and in the snapshot follow the same rule (`graph.stored_rows.expired`).
    """
    cutoff = now - threshold
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        revision = await repository.lock_graph()
        base = await cache.for_write(repository, revision)
        flagged: list[DependencyReport] = [
            report._replace(is_stale=True)
            for stored in base.pairs.values()
            for report in reports_of(stored)
            if expired(report, AGING_SOURCES, cutoff)
        ]
        if not flagged:
            return StaleOutcome(0, cycles_checked=False)
        # The revision's time, and its change-log entries', is the wall clock's, not the
        # job's `now` (a test's clock).
        new_revision = await repository.bump_revision(STALENESS_ACTOR)
        count = await repository.mark_stale(sorted(AGING_SOURCES), cutoff, now)
        change_log = repository.change_log()
        await change_log.record(changes_of_write(base, [], flagged))
        if count != len(flagged):  # cannot happen while the lock is held; be safe anyway
            logger.warning("staleness: %d rows flagged, %d expected", count, len(flagged))
            after_commit(session, cache.invalidate)
        else:
            after_commit(session, lambda: cache.apply_committed(new_revision, [], flagged))
        gone = {
            (r.source, r.target)
            for r in flagged
            if all(
                x.is_stale or expired(x, AGING_SOURCES, cutoff)
                for x in base.reports((r.source, r.target))
            )
        }
        adjacency = {
            source: [t for t in targets if (source, t) not in gone]
            for source, targets in base.downstream_fresh.items()
        }
        components = await asyncio.to_thread(cyclic_components, adjacency, adjacency)
        async with session.begin_nested():
            await reconcile_alerts(
                session,
                components,
                adjacency,
                now,
                change_log,
                "only edges no longer observed closed the cycle",
            )
    logger.info("staleness: %d edge reports flagged stale (cutoff %s)", count, cutoff)
    return StaleOutcome(count, cycles_checked=True)
