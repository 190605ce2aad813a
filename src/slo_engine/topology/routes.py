"""GET /api/v1/services/{service_id}/dependencies"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from slo_engine.access.dependencies import check_without_injection, read_access
from slo_engine.graph.model import SERVICE_ID_PATTERN, Direction
from slo_engine.infra.components import SETTINGS, SettingsDep
from slo_engine.infra.fast_lane import FastLaneRoute, fast_lane, plain_query, whole_number
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.storable import QueryTime
from slo_engine.live.as_of import PastGraphs, query_problem
from slo_engine.live.reads import (
    AS_OF_DESCRIPTION,
    LIVE_GRAPH,
    MAX_REVISION,
    MIN_REVISION_DESCRIPTION,
    NOT_MODIFIED,
    PAST_GRAPHS,
    GraphRead,
    LiveGraphDep,
    graph_read,
)
from slo_engine.observability.metrics import TRAVERSAL_DURATION
from slo_engine.topology import service
from slo_engine.topology.answer_cache import ANSWERS, AnswerCache
from slo_engine.topology.filter_params import (
    TraversalFilterDep,
)
from slo_engine.topology.formats import ExportFormat, render_subgraph
from slo_engine.topology.includes import (
    INCLUDES,
    Include,
    IncludeQuery,
    parse_include,
    refuse_include_for_format,
    with_included,
)
from slo_engine.topology.negotiation import negotiate, openapi_content
from slo_engine.topology.schemas import SubgraphOut

router = APIRouter(tags=["topology"], route_class=FastLaneRoute)

MAX_DEPTH = 10
DEFAULT_MAX_NODES = 10_000
MAX_MAX_NODES = 100_000
# The answer's format depends on Accept, so shared caches must key on it.
_VARY = {"Vary": "Accept"}

# The graph reads' shared parameters (the insights and the whole-graph export take them
# too), described once so every operation says the same.
INCLUDE_STALE_DESCRIPTION = (
    "Also follow stale edges: those every source stopped observing (not seen for "
    "STALE_EDGE_THRESHOLD_HOURS, 168 h by default; kept, never deleted). By default they "
    "are left out, as if gone."
)
IncludeStaleQuery = Annotated[bool, Query(description=INCLUDE_STALE_DESCRIPTION)]
FORMAT_DESCRIPTION = (
    "The answer's format: `json` (the default), `dot` (Graphviz), `mermaid` or "
    "`cytoscape` (Cytoscape.js elements). Wins over Accept; see docs/exports.md."
)
ExportFormatQuery = Annotated[
    ExportFormat | None, Query(alias="format", description=FORMAT_DESCRIPTION)
]


def asks_drift(request: Request) -> bool:
    """Whether the request includes drift (`include=drift`), which moves with the clock
    (docs/drift.md): its answer is never a 304, has no ETag, and is of the live graph."""
    return any(
        Include.DRIFT.value in value.split(",") for value in request.query_params.getlist("include")
    )


def without_etag(headers: dict[str, str]) -> dict[str, str]:
    """An answer's headers for one that includes drift: no ETag, not reused unchecked."""
    return {
        **{name: value for name, value in headers.items() if name != "ETag"},
        "Cache-Control": "no-cache",
    }


async def included_read(
    request: Request,
    live: LiveGraphDep,
    settings: SettingsDep,
    past: Annotated[PastGraphs, Depends(PAST_GRAPHS)],
    min_revision: Annotated[
        int | None, Query(ge=0, le=MAX_REVISION, description=MIN_REVISION_DESCRIPTION)
    ] = None,
    as_of: Annotated[QueryTime | None, Query(description=AS_OF_DESCRIPTION)] = None,
) -> GraphRead:
    """`graph_read` for the reads that take `include` (same parameters): with
    `include=drift`, If-None-Match is not answered with a 304, and `as_of` is a 400 (the
    refusal raised when the endpoint reads the snapshot, like graph_read's)."""
    if not asks_drift(request):
        return await graph_read(request, live, settings, past, min_revision, as_of)
    if as_of is not None:
        refusal = query_problem(
            "as_of",
            "drift is judged against the live graph and the clock; drop `as_of` or `include=drift`",
        )
        return GraphRead(live, None, "", as_of, refusal)
    headers = [(k, v) for k, v in request.scope["headers"] if k.lower() != b"if-none-match"]
    unconditional = Request({**request.scope, "headers": headers}, request.receive)
    return await graph_read(unconditional, live, settings, past, min_revision)


# A graph read for a route that takes `include` (declare it after the access check).
IncludedReadDep = Annotated[GraphRead, Depends(included_read)]

# The query parameters the lane parses, each to the endpoint's argument and its value
# (None: not a value FastAPI would take as written; the request goes its way). A
# parameter not given keeps the endpoint's default.
_LANE_ARGUMENTS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "direction": ("direction", {d.value: d for d in Direction}.get),
    "depth": ("depth", lambda text: whole_number(text, 1, MAX_DEPTH)),
    "include_stale": ("include_stale", {"true": True, "false": False}.get),
    "max_nodes": ("max_nodes", lambda text: whole_number(text, 1, MAX_MAX_NODES)),
    "format": ("export_format", {f.value: f for f in ExportFormat}.get),
}
_LANE_PARAMETERS = frozenset((*_LANE_ARGUMENTS, "min_revision"))
_SERVICE_ID = re.compile(SERVICE_ID_PATTERN)


async def _dependencies_lane(request: Request) -> Response | None:
    """`get_dependencies` for its common request shape (infra/fast_lane.py): the
    parameters as FastAPI would validate them, or None for anything else."""
    query = plain_query(request, _LANE_PARAMETERS)
    service_id = request.path_params.get("service_id")
    # The pattern bounds the length too (`Path(max_length=255)`).
    if query is None or not isinstance(service_id, str) or not _SERVICE_ID.fullmatch(service_id):
        return None
    arguments: dict[str, Any] = {}
    for name, (argument, parse) in _LANE_ARGUMENTS.items():
        if name in query:
            value = parse(query[name])
            if value is None:
                return None
            arguments[argument] = value
    min_revision = None
    if "min_revision" in query:
        min_revision = whole_number(query["min_revision"], 0, MAX_REVISION)
        if min_revision is None:
            return None
    await check_without_injection(read_access, request)
    app = request.app
    read = await graph_read(
        request, LIVE_GRAPH.of(app), SETTINGS.of(app), PAST_GRAPHS.of(app), min_revision
    )
    return await get_dependencies(
        request=request,
        answers=ANSWERS.of(app),
        read=read,
        filters=service.NO_FILTER,
        service_id=service_id,
        **arguments,
    )


@router.get(
    "/services/{service_id}/dependencies",
    dependencies=[Depends(read_access)],
    response_model=SubgraphOut,
    operation_id="getDependencies",
    summary="The subgraph around a service",
    responses={
        200: {"content": openapi_content(), "description": "The subgraph"},
        **NOT_MODIFIED,
        **problem_responses(400, 401, 403, 404, 406, 410, 429, 431, 500, 503),
    },
)
@fast_lane(_dependencies_lane, calls=(read_access,))
async def get_dependencies(
    request: Request,
    answers: Annotated[AnswerCache | None, Depends(ANSWERS)],
    read: IncludedReadDep,
    filters: TraversalFilterDep,
    service_id: Annotated[
        str,
        Path(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="The service at the centre of the subgraph (404 if unknown).",
        ),
    ],
    direction: Annotated[
        Direction,
        Query(
            description="Which way to walk: `downstream` along calls (what the service "
            "depends on), `upstream` against them (what depends on it), `both` (the union "
            "of the two walks, each service at the nearer distance)."
        ),
    ] = Direction.DOWNSTREAM,
    depth: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_DEPTH,
            description=f"How many hops to walk from the service, 1 to {MAX_DEPTH}; 1 "
            "answers its direct dependencies (or callers) only.",
        ),
    ] = 3,
    include_stale: IncludeStaleQuery = False,
    max_nodes: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_MAX_NODES,
            description=f"List at most this many services (1 to {MAX_MAX_NODES:,}), the "
            "closest first; past it the answer says `statistics.truncated` and keeps only "
            "the edges between the services listed.",
        ),
    ] = DEFAULT_MAX_NODES,
    export_format: ExportFormatQuery = None,
    include: IncludeQuery = None,
) -> Response:
    """Nodes at hop distance 1..`depth` along `direction`, and the edges leaving
    (downstream) or entering (upstream) nodes closer than `depth`; `both` is the union.
    Edges reported by several sources come back once, merged. Also as Graphviz DOT,
    Mermaid or Cytoscape.js elements (format= or Accept), the root highlighted. With
    `include=impact,availability`, the root's blast radius and availability ceiling in
    the same answer."""
    # Before any work: a request we cannot answer in an acceptable format is a 406.
    choice = negotiate(export_format, request.headers.get("accept"))
    includes = parse_include(include)
    if includes and choice.export_format is not ExportFormat.JSON:
        raise refuse_include_for_format()
    started = time.perf_counter()
    shape = service.SubgraphShape(direction, depth, include_stale, max_nodes, filters)
    revision = read.snapshot.revision
    if not read.current:
        answers = None  # a past graph's answers are not the live one's (GraphRead.current)
    body = await service.cached_subgraph(answers, revision, service_id, shape)
    if body is None:
        revision, body = await service.subgraph_of(
            read.live, read.snapshot, service_id, shape, answers
        )
    TRAVERSAL_DURATION.labels(direction.value, str(depth)).observe(time.perf_counter() - started)
    headers = {**_VARY, **read.headers(revision)}
    if choice.export_format is ExportFormat.JSON:
        if includes:
            app = request.app
            root = service.service_in(read.snapshot, service_id)
            arguments = (read.live, read.snapshot, root, include_stale, SETTINGS.of(app), answers)
            body = await with_included(body, includes, INCLUDES.of(app), arguments)
            if Include.DRIFT in includes:
                headers = without_etag(headers)
        # The cached bytes as they are: the JSON path costs no more than before exports.
        return Response(body, media_type="application/json", headers=headers)
    # Other formats are drawn from the JSON answer, so they hold exactly its nodes and
    # edges (and share its answer cache). In a worker thread: the answer is this
    # request's own data, and drawing 100,000 nodes would otherwise stall the loop.
    text = await asyncio.to_thread(_render, choice.export_format, body)
    return Response(text, media_type=choice.media_type, headers=headers)


def _render(export_format: ExportFormat, body: bytes) -> str:
    return render_subgraph(export_format, orjson.loads(body))
