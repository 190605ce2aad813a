"""GET /api/v1/discovery/sources: each discovery source's health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from slo_engine.access.dependencies import read_access
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.schemas import SourceHealth, SourceHealthList
from slo_engine.discovery.wiring import DISCOVERY, SOURCE_NAMES, Discovery
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses

router = APIRouter(tags=["discovery"])


@router.get(
    "/discovery/sources",
    dependencies=[Depends(read_access)],
    response_model=SourceHealthList,
    operation_id="listDiscoverySources",
    summary="Health of each discovery source: last success, last error, failures in a row",
    responses=problem_responses(401, 403, 429, 500),
)
async def list_sources(
    database: DatabaseDep,
    discovery: Annotated[Discovery, Depends(DISCOVERY)],
) -> SourceHealthList:
    """Every known source, configured or not; a source that never ran has no times.
    The figures are shared by all replicas (stored in the database)."""
    statuses = await database.read(lambda session: DiscoveryRepository(session).statuses())
    configured = discovery.sources
    items = []
    for name in SOURCE_NAMES:
        status = statuses.get(name)
        source = configured.get(name)
        failures = status.consecutive_failures if status else 0
        items.append(
            SourceHealth(
                name=name,
                configured=source is not None,
                interval_minutes=source.interval_minutes if source else None,
                healthy=failures == 0,
                last_attempt_at=status.last_attempt_at if status else None,
                last_success_at=status.last_success_at if status else None,
                last_error=status.last_error if status else None,
                last_error_at=status.last_error_at if status else None,
                consecutive_failures=failures,
                last_nodes=status.last_nodes if status else None,
                last_edges=status.last_edges if status else None,
            )
        )
    return SourceHealthList(items=items)
