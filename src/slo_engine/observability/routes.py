"""GET /metrics: Prometheus exposition of this process's metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from slo_engine.alerts.tables import circular_dependency_alerts
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.errors import DatabaseUnavailableError
from slo_engine.graph.model import AlertStatus
from slo_engine.infra.context import AppContext, app_context
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


async def refresh_state_gauges(context: AppContext) -> None:
    """Set the gauges that describe state: cheap reads, once per scrape."""
    snapshot = context.live_graph.peek()
    if snapshot is not None:
        fresh = sum(len(targets) for targets in snapshot.downstream_fresh.values())
        GRAPH_SERVICES.set(len(snapshot.services))
        GRAPH_EDGES.labels("fresh").set(fresh)
        GRAPH_EDGES.labels("stale").set(len(snapshot.pairs) - fresh)
    pool: Any = context.database.engine.pool
    if hasattr(pool, "checkedout") and hasattr(pool, "size"):
        DB_POOL.labels("in_use").set(pool.checkedout())
        DB_POOL.labels("size").set(pool.size())
    try:
        async with context.database.session_scope() as session:
            open_alerts = await session.execute(
                select(func.count())
                .select_from(circular_dependency_alerts)
                .where(circular_dependency_alerts.c.status != AlertStatus.RESOLVED.value)
            )
            OPEN_CYCLE_ALERTS.set(int(open_alerts.scalar_one()))
            statuses = await DiscoveryRepository(session).statuses()
    except DatabaseUnavailableError:
        # A scrape during an outage still answers: the process's own metrics, and the
        # last values read of the gauges that need the database.
        return
    finally:
        DB_AVAILABLE.set(1 if context.database.health.available else 0)
    for name in context.discovery.sources:
        status = statuses.get(name)
        DISCOVERY_CONSECUTIVE_FAILURES.labels(name).set(
            status.consecutive_failures if status else 0
        )
        last = status.last_success_at if status else None
        DISCOVERY_LAST_SUCCESS.labels(name).set(last.timestamp() if last else 0)


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process (docs/metrics.md)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(context: Annotated[AppContext, Depends(app_context)]) -> Response:
    """Not behind an API key, like the health endpoints: scrapers are kept out at the
    network level (the Helm chart's NetworkPolicy), or turn it off with METRICS_ENABLED."""
    await refresh_state_gauges(context)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
