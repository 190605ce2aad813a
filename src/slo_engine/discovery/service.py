"""Discovery use cases: run a source into the graph, age observed edges, scan for cycles.

A source's answer goes through the very `ingest` use case the HTTP API uses, in one
transaction with the source's health record, so a run stores all it found or nothing.
A source that fails stores nothing of the graph: the last good data stays, and the
failure is recorded (its own small transaction).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slo_engine.alerts.service import reconcile_alerts
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.sources.base import Discovered, Source
from slo_engine.graph.cycles import cyclic_components
from slo_engine.graph.model import DependencyReport, DiscoverySource
from slo_engine.graph.snapshot import expired, reports_of
from slo_engine.infra.db import Database, after_commit
from slo_engine.ingestion.service import IngestionResult, ingest
from slo_engine.live.graph import LiveGraph

logger = logging.getLogger(__name__)

# Sources whose edges are observations and so go stale when no longer seen. Declared
# edges (manual, Backstage) stay until someone changes them.
AGING_SOURCES = frozenset(
    {DiscoverySource.OTEL_SERVICE_GRAPH, DiscoverySource.SERVICE_MESH, DiscoverySource.JAEGER}
)


@dataclass(frozen=True, slots=True)
class SourceRun:
    discovered: Discovered
    result: IngestionResult | None  # None on a dry run


async def run_source(
    database: Database, cache: LiveGraph, source: Source, now: datetime, *, dry_run: bool = False
) -> SourceRun:
    """Ask `source` for what it sees and ingest it; record the outcome either way."""
    try:
        found = await source.discover()
    except Exception as error:
        if not dry_run:  # a dry run stores nothing, its failure included
            await _record_failure(database, source.name, now, f"{type(error).__name__}: {error}")
        raise
    if dry_run:
        return SourceRun(found, None)
    try:
        async with database.session_scope() as session:
            result = await ingest(session, cache, found.request)
            await DiscoveryRepository(session).record_success(
                source.name, now, result.nodes_upserted, result.edges_upserted
            )
    except Exception as error:
        await _record_failure(database, source.name, now, f"ingestion failed: {error}")
        raise
    logger.info(
        "discovery %s: %d services, %d edges ingested (%d warnings)",
        source.name,
        result.nodes_upserted,
        result.edges_upserted,
        len(found.warnings),
    )
    return SourceRun(found, result)


async def _record_failure(database: Database, name: str, now: datetime, error: str) -> None:
    logger.warning("discovery %s failed; the stored graph is unchanged: %s", name, error)
    try:
        async with database.session_scope() as session:
            await DiscoveryRepository(session).record_failure(name, now, error)
    except Exception:  # the database itself may be what failed
        logger.exception("could not record the failure of discovery %s", name)


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
    rows flagged in SQL and in the snapshot follow the same rule (`graph.snapshot.expired`).
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
        new_revision = await repository.bump_revision()
        count = await repository.mark_stale(sorted(AGING_SOURCES), cutoff, now)
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
            await reconcile_alerts(session, components, adjacency, now)
    logger.info("staleness: %d edge reports flagged stale (cutoff %s)", count, cutoff)
    return StaleOutcome(count, cycles_checked=True)


async def scan_cycles(database: Database, cache: LiveGraph, now: datetime) -> int:
    """A full cycle scan of the fresh graph, reconciling every alert; returns the number
    of cyclic components. Ingestion already scans when it adds edges: this catches up
    after anything else (a failed scan, a manual database change)."""
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        revision = await repository.lock_graph()
        base = await cache.for_write(repository, revision)
        adjacency = base.downstream_fresh
        components = await asyncio.to_thread(cyclic_components, adjacency, adjacency)
        await reconcile_alerts(session, components, adjacency, now)
    return len(components)
