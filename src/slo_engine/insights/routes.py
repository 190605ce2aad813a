"""GET /api/v1/services/{service_id}/impact and GET /api/v1/services/{service_id}/availability"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from slo_engine.access.dependencies import read_access
from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.infra.components import SettingsDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.insights import service
from slo_engine.insights.schemas import AvailabilityOut, ImpactOut
from slo_engine.live.reads import NOT_MODIFIED, GraphReadDep
from slo_engine.topology.answer_cache import ANSWERS, AnswerCache
from slo_engine.topology.filter_params import (
    TraversalFilterDep,
)
from slo_engine.topology.routes import (
    DEFAULT_MAX_NODES,
    MAX_DEPTH,
    MAX_MAX_NODES,
    IncludeStaleQuery,
)
from slo_engine.topology.service import service_in

router = APIRouter(tags=["insights"])


@router.get(
    "/services/{service_id}/impact",
    dependencies=[Depends(read_access)],
    response_model=ImpactOut,
    operation_id="getImpact",
    summary="Blast radius: who is hurt if this service fails",
    responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404, 410, 429, 431, 500, 503)},
)
async def get_impact(
    read: GraphReadDep,
    filters: TraversalFilterDep,
    answers: Annotated[AnswerCache | None, Depends(ANSWERS)],
    service_id: Annotated[
        str,
        Path(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="The service assumed to fail (404 if unknown).",
        ),
    ],
    depth: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_DEPTH,
            description=f"How many hops upstream the failure travels, 1 to {MAX_DEPTH}: 1 "
            "judges the direct callers only.",
        ),
    ] = MAX_DEPTH,
    include_stale: IncludeStaleQuery = False,
    max_affected: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MAX_NODES,
            description=f"List at most this many affected services (1 to {MAX_MAX_NODES:,}), "
            "the worst hit first; the totals count all.",
        ),
    ] = DEFAULT_MAX_NODES,
) -> Response:
    """Callers, and callers of callers up to `depth` hops, that this service's failure
    takes down (they need it: hard and sync) or degrades (soft, degraded or async, or
    they need a degraded service). Each with one shortest path that explains it; totals
    by team and by service criticality. Rules and a worked example: docs/insights.md.
    With traversal filters, the failure travels only what they let through."""
    revision, body = await service.impact_of(
        read.live,
        read.snapshot,
        service_in(read.snapshot, service_id),
        depth=depth,
        include_stale=include_stale,
        max_affected=max_affected,
        filters=filters,
        # A past graph's answers are not the live one's (GraphRead.current).
        answers=answers if read.current else None,
    )
    return Response(body, media_type="application/json", headers=read.headers(revision))


@router.get(
    "/services/{service_id}/availability",
    dependencies=[Depends(read_access)],
    response_model=AvailabilityOut,
    operation_id="getAvailability",
    summary="Availability ceiling: the best this service can deliver",
    responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404, 410, 429, 500, 503)},
)
async def get_availability(
    read: GraphReadDep,
    answers: Annotated[AnswerCache | None, Depends(ANSWERS)],
    settings: SettingsDep,
    service_id: Annotated[
        str,
        Path(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="The service whose ceiling to compute (404 if unknown).",
        ),
    ],
    include_stale: IncludeStaleQuery = False,
    max_terms: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MAX_NODES,
            description=f"List at most this many terms, units and limiting units each (1 "
            f"to {MAX_MAX_NODES:,}; the costliest limiting units first); the ceiling and "
            "its arithmetic count all.",
        ),
    ] = DEFAULT_MAX_NODES,
) -> Response:
    """The product of the availabilities of the service and of everything it cannot
    work without (each target from metadata `slo_target` or DEFAULT_SLO_TARGET, or the
    observed success ratio where lower), the arithmetic, the dependencies ranked by what
    they cost, and the figure if soft dependencies were hard. Cycles are one unit."""
    revision, body = await service.availability_of(
        read.live,
        read.snapshot,
        service_in(read.snapshot, service_id),
        include_stale=include_stale,
        default_target=settings.default_slo_target,
        max_terms=max_terms,
        answers=answers if read.current else None,
    )
    return Response(body, media_type="application/json", headers=read.headers(revision))
