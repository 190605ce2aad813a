"""GET /metrics: Prometheus exposition of this process's metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.repository import AlertRepository
from slo_engine.discovery.repository import DiscoveryRepository, SourceStatus
from slo_engine.discovery.wiring import DISCOVERY, Discovery
from slo_engine.errors import DatabaseUnavailableError
from slo_engine.infra.db import Database, DatabaseDep
from slo_engine.live.graph import LiveGraph
from slo_engine.live.reads import LiveGraphDep
from slo_engine.observability.metrics import (
    DB_AVAILABLE,
    DB_POOL,
    DISCOVERY_CONSECUTIVE_FAILURES,
    DISCOVERY_LAST_SUCCESS,
    GRAPH_EDGES,
    GRAPH_SERVICES,
    OPEN_CYCLE_ALERTS,
    REGISTRY,
)

router = APIRouter(tags=["observability"])


@dataclass(frozen=True, slots=True)
class _StoredState:
    unresolved_alerts: int
    source_statuses: dict[str, SourceStatus]


async def _stored_state(session: AsyncSession) -> _StoredState:
    return _StoredState(
        await AlertRepository(session).count_unresolved(),
        await DiscoveryRepository(session).statuses(),
    )


async def refresh_state_gauges(database: Database, live: LiveGraph, discovery: Discovery) -> None:
    """Set the gauges that describe state: cheap reads, once per scrape."""
    snapshot = live.peek()
    if snapshot is not None:
        fresh = sum(len(targets) for targets in snapshot.downstream_fresh.values())
        GRAPH_SERVICES.set(len(snapshot.services))
        GRAPH_EDGES.labels("fresh").set(fresh)
        GRAPH_EDGES.labels("stale").set(len(snapshot.pairs) - fresh)
    pool: Any = database.engine.pool
    if hasattr(pool, "checkedout") and hasattr(pool, "size"):
        DB_POOL.labels("in_use").set(pool.checkedout())
        DB_POOL.labels("size").set(pool.size())
    try:
        stored = await database.read(_stored_state)
    except DatabaseUnavailableError:
        # A scrape during an outage still answers: the process's own metrics, and the
        # last values read of the gauges that need the database.
        return
    finally:
        DB_AVAILABLE.set(1 if database.health.available else 0)
    OPEN_CYCLE_ALERTS.set(stored.unresolved_alerts)
    for name in discovery.sources:
        status = stored.source_statuses.get(name)
        DISCOVERY_CONSECUTIVE_FAILURES.labels(name).set(
            status.consecutive_failures if status else 0
        )
        last = status.last_success_at if status else None
        DISCOVERY_LAST_SUCCESS.labels(name).set(last.timestamp() if last else 0)


@router.get(
    "/metrics",
    operation_id="getMetrics",
    summary="Prometheus metrics of this process (docs/metrics.md)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(
    database: DatabaseDep,
    live: LiveGraphDep,
    discovery: Annotated[Discovery, Depends(DISCOVERY)],
) -> Response:
    """The process's requests, graph reads, database pool, live graph and discovery
    figures in the Prometheus text format (docs/metrics.md lists them).

    Not behind an API key, like the health endpoints: scrapers are kept out at the
    network level (the Helm chart's NetworkPolicy), or turn it off with METRICS_ENABLED."""
    await refresh_state_gauges(database, live, discovery)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
