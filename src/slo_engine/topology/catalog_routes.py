"""GET /api/v1/services and GET /api/v1/services/{service_id}"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from slo_engine.access.dependencies import read_access
from slo_engine.catalog import service
from slo_engine.catalog.repository import ServiceFilter
from slo_engine.graph.model import SERVICE_ID_PATTERN, NodeKind, ServiceCriticality
from slo_engine.infra.components import SETTINGS, SettingsDep
from slo_engine.infra.cursor import CursorQuery, PageLimit
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.storable import NO_NUL_PATTERN, QueryTime
from slo_engine.live.as_of import PastGraphs
from slo_engine.live.reads import (
    AS_OF_DESCRIPTION,
    NOT_MODIFIED,
    PAST_GRAPHS,
    LiveGraphDep,
    graph_read,
)
from slo_engine.topology.answer_cache import ANSWERS
from slo_engine.topology.catalog_schemas import ServiceOut, ServicePage
from slo_engine.topology.includes import (
    INCLUDES,
    Include,
    IncludeQuery,
    parse_include,
    with_included,
)
from slo_engine.topology.routes import INCLUDE_STALE_DESCRIPTION, IncludedReadDep, without_etag
from slo_engine.topology.schemas import ServiceDetailOut
from slo_engine.topology.service import service_in

router = APIRouter(tags=["services"])


@router.get(
    "/services",
    dependencies=[Depends(read_access)],
    response_model=ServicePage,
    operation_id="listServices",
    summary="List services",
    responses=problem_responses(400, 401, 403, 410, 429, 500, 503),
)
async def list_services(
    request: Request,
    response: Response,
    database: DatabaseDep,
    live: LiveGraphDep,
    settings: SettingsDep,
    past: Annotated[PastGraphs, Depends(PAST_GRAPHS)],
    team: Annotated[
        str | None,
        Query(
            max_length=255,
            pattern=NO_NUL_PATTERN,
            description="Only the services of this team (exact match, case-sensitive).",
        ),
    ] = None,
    criticality: Annotated[
        ServiceCriticality | None,
        Query(description="Only the services declared with this criticality."),
    ] = None,
    discovered: Annotated[
        bool | None,
        Query(
            description="true: only services known only from edges (no source declared "
            "them); false: only declared ones. Left out: both."
        ),
    ] = None,
    search: Annotated[
        str | None,
        Query(
            max_length=255,
            pattern=NO_NUL_PATTERN,
            description="Only services whose id or display name contains this text "
            "(case-insensitive).",
        ),
    ] = None,
    kind: Annotated[
        NodeKind | None,
        Query(description="Only the nodes of this kind (`database`, `service`, ...)."),
    ] = None,
    cursor: CursorQuery = None,
    limit: PageLimit = 100,
    as_of: Annotated[QueryTime | None, Query(description=AS_OF_DESCRIPTION)] = None,
) -> ServicePage:
    """Services ordered by service id; pass `next_cursor` back as `cursor` for the next
    page. With `as_of`, the services of the graph as it was then."""
    wanted = ServiceFilter(team, criticality, discovered, search, kind)
    if as_of is not None:
        read = await graph_read(request, live, settings, past, as_of=as_of)
        items, stale_only, next_cursor = service.list_services_of(
            read.snapshot, wanted, cursor, limit
        )
        response.headers.update(read.headers(read.snapshot.revision))
    else:
        items, stale_only, next_cursor = await database.read(
            lambda session: service.list_services(session, wanted, cursor, limit)
        )
    return ServicePage(
        items=[ServiceOut.of(s, s.service_id in stale_only) for s in items],
        next_cursor=next_cursor,
    )


@router.get(
    "/services/{service_id}",
    dependencies=[Depends(read_access)],
    response_model=ServiceDetailOut,
    operation_id="getService",
    summary="One service",
    responses={**NOT_MODIFIED, **problem_responses(400, 401, 403, 404, 410, 429, 500, 503)},
)
async def get_service(
    read: IncludedReadDep,
    service_id: Annotated[
        str,
        Path(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="The service to answer about (404 if unknown).",
        ),
    ],
    request: Request,
    include: IncludeQuery = None,
    include_stale: Annotated[
        bool, Query(description="With `include`: " + INCLUDE_STALE_DESCRIPTION)
    ] = False,
) -> Response:
    """The service as the live graph holds it (or, with `as_of`, as it was then): its
    declared fields and metadata, and whether only stale edges are left to it. With
    `include=impact,availability`, its blast radius and availability ceiling too (what
    the explorer shows for a service it selects, in one request)."""
    snapshot = read.snapshot
    found = service_in(snapshot, service_id)
    answer = ServiceOut.of(found, snapshot.only_stale_edges(service_id))
    app = request.app
    # Encoded here, not by FastAPI through ServiceDetailOut: a plain answer has no
    # `impact` or `availability` member at all (not nulls).
    includes = parse_include(include)
    body = await with_included(
        orjson.dumps(answer.model_dump(mode="json")),
        includes,
        INCLUDES.of(app),
        # A past graph's answers are not the live one's (GraphRead.current).
        (
            read.live,
            snapshot,
            found,
            include_stale,
            SETTINGS.of(app),
            ANSWERS.of(app) if read.current else None,
        ),
    )
    headers = read.headers(snapshot.revision)
    if Include.DRIFT in includes:
        headers = without_etag(headers)
    return Response(body, media_type="application/json", headers=headers)
