"""GET /api/v1/services/{service_id}/impact and GET /api/v1/services/{service_id}/availability"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from slo_engine.access.dependencies import read_access
from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.infra.context import AppContext, app_context
from slo_engine.infra.http_errors import problem_responses
from slo_engine.insights import service
from slo_engine.insights.schemas import AvailabilityOut, ImpactOut
from slo_engine.topology.routes import DEFAULT_MAX_NODES, MAX_DEPTH, MAX_MAX_NODES

router = APIRouter(tags=["insights"])

ServiceIdPath = Annotated[str, Path(pattern=SERVICE_ID_PATTERN, max_length=255)]
IncludeStale = Annotated[
    bool, Query(description="Follow stale edges too (they are ignored by default).")
]


@router.get(
    "/services/{service_id}/impact",
    dependencies=[Depends(read_access)],
    response_model=ImpactOut,
    summary="Blast radius: who is hurt if this service fails",
    responses=problem_responses(400, 401, 403, 404, 429, 500),
)
async def get_impact(
    request: Request,
    context: Annotated[AppContext, Depends(app_context)],
    service_id: ServiceIdPath,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = MAX_DEPTH,
    include_stale: IncludeStale = False,
    max_affected: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MAX_NODES,
            description="List at most this many (the worst hit first); totals count all.",
        ),
    ] = DEFAULT_MAX_NODES,
) -> Response:
    """Callers, and callers of callers up to `depth` hops, that this service's failure
    takes down (they need it: hard and sync) or degrades (soft, degraded or async, or
    they need a degraded service). Each with one shortest path that explains it; totals
    by team and by service criticality. Rules and a worked example: docs/insights.md."""
    body = await context.database.transaction(
        lambda session: service.impact_of(
            session,
            context.graph_cache,
            service_id,
            depth=depth,
            include_stale=include_stale,
            max_affected=max_affected,
            known_revision=getattr(request.state, "graph_revision", None),
        )
    )
    return Response(body, media_type="application/json")


@router.get(
    "/services/{service_id}/availability",
    dependencies=[Depends(read_access)],
    response_model=AvailabilityOut,
    summary="Availability ceiling: the best this service can deliver",
    responses=problem_responses(400, 401, 403, 404, 429, 500),
)
async def get_availability(
    request: Request,
    context: Annotated[AppContext, Depends(app_context)],
    service_id: ServiceIdPath,
    include_stale: IncludeStale = False,
    max_terms: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MAX_NODES,
            description="List at most this many terms, units and limiting units (the "
            "costliest first); the ceiling and its arithmetic count all.",
        ),
    ] = DEFAULT_MAX_NODES,
) -> Response:
    """The product of the availabilities of the service and of everything it cannot
    work without (each target from metadata `slo_target` or DEFAULT_SLO_TARGET, or the
    observed success ratio where lower), the arithmetic, the dependencies ranked by what
    they cost, and the figure if soft dependencies were hard. Cycles are one unit."""
    body = await context.database.transaction(
        lambda session: service.availability_of(
            session,
            context.graph_cache,
            service_id,
            include_stale=include_stale,
            default_target=context.settings.default_slo_target,
            max_terms=max_terms,
            known_revision=getattr(request.state, "graph_revision", None),
        )
    )
    return Response(body, media_type="application/json")
