"""GET /api/v1/drift, GET /api/v1/drift/suggestions and
GET /api/v1/services/{service_id}/drift

Answered from the live graph (no database read), computed off the event loop. Drift
moves with the clock as well as with the graph (observations leave the window), so the
answers carry the revision they judged (`X-Graph-Revision`, and `revision` in the body:
the same) and the time they were computed at, and no ETag: a conditional read keyed on
the revision alone would call a moved answer unchanged.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from slo_engine.access.dependencies import read_access
from slo_engine.drift import service
from slo_engine.drift.schemas import DriftOut
from slo_engine.graph.drift import Drift
from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.infra.components import SettingsDep
from slo_engine.infra.cursor import CursorQuery
from slo_engine.infra.http_errors import problem_responses
from slo_engine.live.graph import LiveGraph
from slo_engine.live.reads import (
    MAX_REVISION,
    MIN_REVISION_DESCRIPTION,
    LiveGraphDep,
    revision_headers,
)
from slo_engine.topology.service import service_in

router = APIRouter(tags=["drift"])

# Observations older than 90 days are stale long before (STALE_EDGE_THRESHOLD_HOURS).
MAX_WINDOW_HOURS = 24 * 90
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_KINDS = "|".join(kind.value for kind in Drift)

WindowQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_WINDOW_HOURS,
        description=f"Observations count when made within this many hours before now (1 "
        f"to {MAX_WINDOW_HOURS}); stale ones never count. Default "
        f"{service.DEFAULT_WINDOW_HOURS} (7 days).",
    ),
]
DriftKindsQuery = Annotated[
    str | None,
    Query(
        alias="drift",
        pattern=f"^({_KINDS})(,({_KINDS}))*$",
        max_length=100,
        description="Only items of these kinds, comma-separated: `declared_only`, "
        "`observed_only`, `mismatch`. Left out: all. The totals count all kinds.",
        examples=["declared_only,observed_only"],
    ),
]
IncludeExternalQuery = Annotated[
    bool,
    Query(
        description="Also judge edges with an `external` end (a SaaS API, an "
        "uninstrumented peer): left out by default, as traffic names them by address, "
        "not as catalogs do (docs/drift.md)."
    ),
]
LimitQuery = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}.")
]
MinRevisionQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_REVISION,
        description=MIN_REVISION_DESCRIPTION + " The whole graph's drift, kept for a "
        "minute whatever revisions come meanwhile, is judged again when it is of an "
        "earlier revision.",
    ),
]
_RESPONSES = problem_responses(400, 401, 403, 429, 500, 503)


async def _live_snapshot(
    live: LiveGraph, min_revision: int | None, wait_seconds: float
) -> GraphSnapshot:
    """The live graph's snapshot, at `min_revision` or later (read-your-writes)."""
    if min_revision is not None:
        await live.wait_for(min_revision, wait_seconds)
    return live.snapshot


def _headers(live: LiveGraph, revision: int) -> dict[str, str]:
    """The headers of an answer judged at `revision` (returned by the off-loop work: the
    live snapshot may have moved on since)."""
    return {**revision_headers(live, revision), "Cache-Control": "no-cache"}


def _page_request(
    window_hours: int,
    kinds: str | None,
    cursor: str | None,
    limit: int,
    include_external: bool,
    min_revision: int | None,
) -> service.PageRequest:
    return service.PageRequest(
        timedelta(hours=window_hours),
        service.parse_kinds(kinds),
        service.cursor_after(cursor),
        limit,
        include_external,
        min_revision,
    )


@router.get(
    "/drift",
    dependencies=[Depends(read_access)],
    response_model=DriftOut,
    operation_id="listDrift",
    summary="Drift: where declarations and traffic disagree",
    responses=_RESPONSES,
)
async def list_drift(
    live: LiveGraphDep,
    settings: SettingsDep,
    window_hours: WindowQuery = service.DEFAULT_WINDOW_HOURS,
    kinds: DriftKindsQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    include_external: IncludeExternalQuery = False,
    min_revision: MinRevisionQuery = None,
) -> Response:
    """Every edge where what people and catalogs declare (`manual`, `backstage`) and
    what traffic shows (`service_mesh`, `otel_service_graph`, `jaeger`) disagree:
    declared and not seen although the caller is, seen and declared by nobody, or both
    with a field that differs. Each with a confidence and its evidence; rules in
    docs/drift.md. Pages by (source, target, kind, field): pass `next_cursor` back as
    `cursor`. The whole graph's drift is kept for a minute, whatever revisions come
    meanwhile: `revision` says which it judged (`min_revision` asks for a later one)."""
    request = _page_request(window_hours, kinds, cursor, limit, include_external, min_revision)
    snapshot = await _live_snapshot(live, min_revision, settings.min_revision_wait_seconds)
    revision, body = await service.drift_of_graph(live, snapshot, request)
    return Response(body, media_type="application/json", headers=_headers(live, revision))


@router.get(
    "/drift/suggestions",
    dependencies=[Depends(read_access)],
    operation_id="getDriftSuggestions",
    summary="Drift fixes in the catalogs' own formats",
    response_class=Response,
    responses={
        200: {
            "description": "A Backstage patch (YAML) or a manual ingest request (JSON)",
            "content": {
                "application/yaml": {
                    # A stream of YAML documents (none when nothing drifts): no one
                    # JSON type describes what a YAML reader makes of it.
                    "schema": {"description": "YAML documents, one per Backstage entity"},
                    "example": "entityRef: component:default/checkoutservice\n"
                    "dependsOn:\n  add:\n  - component:default/quoteservice\n",
                },
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/IngestionRequest"},
                    "example": {
                        "source": "manual",
                        "nodes": [],
                        "edges": [
                            {
                                "source": "checkoutservice",
                                "target": "quoteservice",
                                "attributes": {"communication_mode": "sync"},
                            }
                        ],
                    },
                },
            },
            "headers": {
                service.TRUNCATED_HEADER: {
                    "description": "`true` when more edges drift than the "
                    f"{service.MAX_SUGGESTED_EDGES:,} the answer names.",
                    "schema": {"type": "string"},
                }
            },
        },
        **problem_responses(400, 401, 403, 404, 429, 500, 503),
    },
)
async def get_drift_suggestions(
    live: LiveGraphDep,
    settings: SettingsDep,
    suggestion_format: Annotated[
        Literal["backstage-patch", "ingest"],
        Query(
            alias="format",
            description="`backstage-patch`: per Backstage entity, the `spec.dependsOn` "
            "entries to add (`observed_only`) and remove (`declared_only` declared by "
            "Backstage), as YAML documents. `ingest`: a `manual` ingest request declaring "
            "every `observed_only` edge (POST it to /api/v1/services/dependencies).",
        ),
    ],
    service_id: Annotated[
        str | None,
        Query(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="Only the edges this service calls or is called by (404 if "
            "unknown); left out: the whole graph.",
        ),
    ] = None,
    window_hours: WindowQuery = service.DEFAULT_WINDOW_HOURS,
    include_external: IncludeExternalQuery = False,
    min_revision: MinRevisionQuery = None,
) -> Response:
    """What would make the catalogs agree with traffic, in their own formats
    (docs/drift.md, Suggestions), for the whole graph or one service's edges. `mismatch`
    items are left to a person: which side is right is a question, not an addition."""
    request = _page_request(window_hours, None, None, 1, include_external, min_revision)
    snapshot = await _live_snapshot(live, min_revision, settings.min_revision_wait_seconds)
    found_service = None if service_id is None else service_in(snapshot, service_id)
    found = await service.suggestions_of(live, snapshot, request, suggestion_format, found_service)
    headers = {
        **_headers(live, found.revision),
        service.TRUNCATED_HEADER: str(found.truncated).lower(),
    }
    media_type = (
        "application/yaml" if suggestion_format == "backstage-patch" else "application/json"
    )
    return Response(found.body, media_type=media_type, headers=headers)


@router.get(
    "/services/{service_id}/drift",
    dependencies=[Depends(read_access)],
    response_model=DriftOut,
    operation_id="getServiceDrift",
    summary="Drift of one service's edges",
    responses=problem_responses(400, 401, 403, 404, 429, 500, 503),
)
async def get_service_drift(
    live: LiveGraphDep,
    settings: SettingsDep,
    service_id: Annotated[
        str,
        Path(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="The service whose edges to judge, as caller or callee (404 if unknown).",
        ),
    ],
    window_hours: WindowQuery = service.DEFAULT_WINDOW_HOURS,
    kinds: DriftKindsQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    include_external: IncludeExternalQuery = False,
    min_revision: MinRevisionQuery = None,
) -> Response:
    """The drift items of the edges this service calls or is called by (listDrift's
    rules and shape, the totals counting this service's), judged now."""
    request = _page_request(window_hours, kinds, cursor, limit, include_external, min_revision)
    snapshot = await _live_snapshot(live, min_revision, settings.min_revision_wait_seconds)
    found = service_in(snapshot, service_id)
    revision, body = await service.drift_of_service(live, snapshot, found, request)
    return Response(body, media_type="application/json", headers=_headers(live, revision))
