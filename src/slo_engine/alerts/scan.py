"""The full cycle scan (the `cycle-scan` job): every alert reconciled with the cycles
of the fresh graph as it is now."""

from __future__ import annotations

import asyncio
from datetime import datetime

from slo_engine.alerts.service import reconcile_alerts
from slo_engine.catalog.change_log import ChangeLog
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.cycles import cyclic_components
from slo_engine.infra.db import Database
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
        change_log = ChangeLog(session, revision, now, SCAN_ACTOR)
        await reconcile_alerts(session, components, adjacency, now, change_log)
    return len(components)
