"""GET /api/v1/services/{service_id}/dependencies"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from slo_engine.access.dependencies import read_access
from slo_engine.graph.model import SERVICE_ID_PATTERN, Direction
from slo_engine.infra.context import AppContext, app_context
from slo_engine.infra.http_errors import problem_responses
from slo_engine.observability.metrics import TRAVERSAL_DURATION
from slo_engine.topology import service
from slo_engine.topology.schemas import SubgraphOut

router = APIRouter(tags=["topology"])

MAX_DEPTH = 10
DEFAULT_MAX_NODES = 10_000
MAX_MAX_NODES = 100_000


@router.get(
    "/services/{service_id}/dependencies",
    dependencies=[Depends(read_access)],
    response_model=SubgraphOut,
    summary="The subgraph around a service",
    responses=problem_responses(400, 401, 403, 404, 429, 500),
)
async def get_dependencies(
    request: Request,
    context: Annotated[AppContext, Depends(app_context)],
    service_id: Annotated[str, Path(pattern=SERVICE_ID_PATTERN, max_length=255)],
    direction: Annotated[Direction, Query()] = Direction.DOWNSTREAM,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = 3,
    include_stale: Annotated[bool, Query()] = False,
    max_nodes: Annotated[int, Query(ge=1, le=MAX_MAX_NODES)] = DEFAULT_MAX_NODES,
) -> Response:
    """Nodes at hop distance 1..`depth` along `direction`, and the edges leaving
    (downstream) or entering (upstream) nodes closer than `depth`; `both` is the union.
    Edges reported by several sources come back once, merged."""
    started = time.perf_counter()
    async with context.database.session_scope() as session:
        body = await service.query_subgraph(
            session,
            context.graph_cache,
            service_id,
            direction=direction,
            depth=depth,
            include_stale=include_stale,
            max_nodes=max_nodes,
            known_revision=getattr(request.state, "graph_revision", None),
            answers=context.answers,
        )
    TRAVERSAL_DURATION.labels(direction.value, str(depth)).observe(time.perf_counter() - started)
    return Response(body, media_type="application/json")
