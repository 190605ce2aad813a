"""Discovery's use case: run a source into the graph.

A source's answer goes through the very `ingest` use case the HTTP API uses, in one
transaction with the source's health record, so a run stores all it found or nothing.
A source that fails stores nothing of the graph: the last good data stays, and the
failure is recorded (its own small transaction).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.sources.base import Discovered, Source
from slo_engine.infra.db import Database
from slo_engine.ingestion.service import IngestionResult, ingest
from slo_engine.live.graph import LiveGraph

logger = logging.getLogger(__name__)


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
            result = await ingest(session, cache, found.request, f"job:discover-{source.name}")
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
