"""GET /api/v1/services/{service_id}/dependencies"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from slo_engine.access.dependencies import check_without_injection, read_access
from slo_engine.graph.model import SERVICE_ID_PATTERN, Direction
from slo_engine.infra.components import SETTINGS
from slo_engine.infra.fast_lane import FastLaneRoute, fast_lane, plain_query, whole_number
from slo_engine.infra.http_errors import problem_responses
from slo_engine.live.reads import LIVE_GRAPH, NOT_MODIFIED, GraphReadDep, graph_read
from slo_engine.observability.metrics import TRAVERSAL_DURATION
from slo_engine.topology import service
from slo_engine.topology.answer_cache import ANSWERS, AnswerCache
from slo_engine.topology.formats import ExportFormat, render_subgraph
from slo_engine.topology.negotiation import negotiate, openapi_content
from slo_engine.topology.schemas import SubgraphOut

router = APIRouter(tags=["topology"], route_class=FastLaneRoute)

MAX_DEPTH = 10
DEFAULT_MAX_NODES = 10_000
MAX_MAX_NODES = 100_000
# The answer's format depends on Accept, so shared caches must key on it.
_VARY = {"Vary": "Accept"}
MAX_REVISION = 2**63 - 1


_LANE_PARAMETERS = frozenset(
    ("direction", "depth", "include_stale", "max_nodes", "format", "min_revision")
)
_DIRECTIONS = {direction.value: direction for direction in Direction}
_FORMATS = {export_format.value: export_format for export_format in ExportFormat}
_BOOLEANS = {"true": True, "false": False}
_SERVICE_ID = re.compile(SERVICE_ID_PATTERN)


async def _dependencies_lane(request: Request) -> Response | None:
    """`get_dependencies` for its common request shape (infra/fast_lane.py): the
    parameters as FastAPI would validate them, or None for anything else."""
    query = plain_query(request, _LANE_PARAMETERS)
    service_id = request.path_params.get("service_id")
    if query is None or not isinstance(service_id, str) or len(service_id) > 255:
        return None
    direction = _DIRECTIONS.get(query.get("direction", "downstream"))
    depth = whole_number(query.get("depth", "3"), 1, MAX_DEPTH)
    include_stale = _BOOLEANS.get(query.get("include_stale", "false"))
    max_nodes = whole_number(query.get("max_nodes", str(DEFAULT_MAX_NODES)), 1, MAX_MAX_NODES)
    export_format = None
    if "format" in query:
        export_format = _FORMATS.get(query["format"])
        if export_format is None:
            return None
    min_revision = None
    if "min_revision" in query:
        min_revision = whole_number(query["min_revision"], 0, MAX_REVISION)
        if min_revision is None:
            return None
    if (
        direction is None
        or depth is None
        or include_stale is None
        or max_nodes is None
        or not _SERVICE_ID.fullmatch(service_id)
    ):
        return None
    await check_without_injection(read_access, request)
    app = request.app
    answers = ANSWERS.of(app)
    read = await graph_read(request, LIVE_GRAPH.of(app), SETTINGS.of(app), min_revision)
    return await get_dependencies(
        request,
        answers,
        read,
        service_id,
        direction,
        depth,
        include_stale,
        max_nodes,
        export_format,
    )


@router.get(
    "/services/{service_id}/dependencies",
    dependencies=[Depends(read_access)],
    response_model=SubgraphOut,
    summary="The subgraph around a service",
    responses={
        200: {"content": openapi_content(), "description": "The subgraph"},
        **NOT_MODIFIED,
        **problem_responses(400, 401, 403, 404, 406, 429, 500, 503),
    },
)
@fast_lane(_dependencies_lane, calls=(read_access,))
async def get_dependencies(
    request: Request,
    answers: Annotated[AnswerCache | None, Depends(ANSWERS)],
    read: GraphReadDep,
    service_id: Annotated[str, Path(pattern=SERVICE_ID_PATTERN, max_length=255)],
    direction: Annotated[Direction, Query()] = Direction.DOWNSTREAM,
    depth: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = 3,
    include_stale: Annotated[bool, Query()] = False,
    max_nodes: Annotated[int, Query(ge=1, le=MAX_MAX_NODES)] = DEFAULT_MAX_NODES,
    export_format: Annotated[
        ExportFormat | None,
        Query(alias="format", description="Wins over Accept; see docs/exports.md."),
    ] = None,
) -> Response:
    """Nodes at hop distance 1..`depth` along `direction`, and the edges leaving
    (downstream) or entering (upstream) nodes closer than `depth`; `both` is the union.
    Edges reported by several sources come back once, merged. Also as Graphviz DOT,
    Mermaid or Cytoscape.js elements (format= or Accept), the root highlighted."""
    # Before any work: a request we cannot answer in an acceptable format is a 406.
    choice = negotiate(export_format, request.headers.get("accept"))
    started = time.perf_counter()
    shape = service.SubgraphShape(direction, depth, include_stale, max_nodes)
    revision = read.snapshot.revision
    body = await service.cached_subgraph(answers, revision, service_id, shape)
    if body is None:
        revision, body = await service.subgraph_of(
            read.live, read.snapshot, service_id, shape, answers
        )
    TRAVERSAL_DURATION.labels(direction.value, str(depth)).observe(time.perf_counter() - started)
    headers = {**_VARY, **read.headers(revision)}
    if choice.export_format is ExportFormat.JSON:
        # The cached bytes as they are: the JSON path costs no more than before exports.
        return Response(body, media_type="application/json", headers=headers)
    # Other formats are drawn from the JSON answer, so they hold exactly its nodes and
    # edges (and share its answer cache). In a worker thread: the answer is this
    # request's own data, and drawing 100,000 nodes would otherwise stall the loop.
    text = await asyncio.to_thread(_render, choice.export_format, body)
    return Response(text, media_type=choice.media_type, headers=headers)


def _render(export_format: ExportFormat, body: bytes) -> str:
    return render_subgraph(export_format, orjson.loads(body))
