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

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.sources.base import Discovered, Source
from slo_engine.infra.db import Database
from slo_engine.ingestion.schemas import IngestionRequest, NodeIn
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
            request = found.request
            if found.metadata_key is not None and request.nodes:
                request = await _with_stored_metadata(session, cache, request, found.metadata_key)
            result = await ingest(session, cache, request, f"job:discover-{source.name}")
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


async def _with_stored_metadata(
    session: AsyncSession, cache: LiveGraph, request: IngestionRequest, key: str
) -> IngestionRequest:
    """`request` with each node's metadata merged into the stored metadata: `key` takes
    the node's value, the other keys keep theirs (a source owns its key, not the rest).

    The graph write lock is taken first (and held to the end of the transaction, by
    `ingest` too), so nothing written between this read and the write is lost.
    """
    repository = CatalogRepository(session)
    revision = await repository.lock_graph()
    stored = (await cache.for_write(repository, revision)).services
    nodes: list[NodeIn] = []
    for node in request.nodes:
        given = node.get("metadata")
        service = stored.get(node["service_id"])
        if isinstance(given, dict) and key in given and service is not None:
            nodes.append({**node, "metadata": {**service.metadata, key: given[key]}})
        else:
            nodes.append(node)
    return request.model_copy(update={"nodes": nodes})
