"""The full cycle scan (the `cycle-scan` job): every alert reconciled with the cycles
of the fresh graph as it is now."""

from __future__ import annotations

import asyncio
from datetime import datetime

from slo_engine.alerts.service import reconcile_alerts
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.change_log import cycle_change
from slo_engine.graph.cycles import cyclic_components
from slo_engine.infra.db import Database, after_commit
from slo_engine.live.graph import LiveGraph

# Who the change log says opened or resolved the cycles a full scan found.
SCAN_ACTOR = "job:cycle-scan"


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
        outcome = await reconcile_alerts(session, components, adjacency, now)
        if outcome.opened or outcome.resolved:
            # Recorded at a revision of their own, like every change: a reader of the
            # change log that is past the current revision (webhook delivery) sees them.
            new_revision = await repository.bump_revision(SCAN_ACTOR)
            await repository.change_log().record(
                [cycle_change(True, c.cycle_path) for c in outcome.opened]
                + [cycle_change(False, c.cycle_path) for c in outcome.resolved]
            )
            # No graph row changed: the live graph only moves to the new revision.
            after_commit(session, lambda: cache.apply_committed(new_revision, [], []))
    return len(components)
