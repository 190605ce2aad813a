"""GET /api/v1/changes: the change feed; GET /api/v1/graph/diff: what changed between
two revisions or times."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from slo_engine.access.dependencies import read_access
from slo_engine.catalog.change_log import ChangeFilter
from slo_engine.graph.change_log import ChangeType
from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.history.diff import GraphDiff, render_markdown
from slo_engine.history.schemas import ChangeOut, ChangePage, GraphDiffOut
from slo_engine.history.service import change_page, graph_diff
from slo_engine.infra.components import SettingsDep
from slo_engine.infra.cursor import CursorQuery, PageLimit
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.storable import QueryTime
from slo_engine.live.reads import MAX_REVISION

router = APIRouter(tags=["history"])


@router.get(
    "/changes",
    dependencies=[Depends(read_access)],
    response_model=ChangePage,
    operation_id="listChanges",
    summary="The change feed: every change to the stored graph, in revision order",
    responses=problem_responses(400, 401, 403, 429, 500, 503),
)
async def list_graph_changes(
    database: DatabaseDep,
    since_revision: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_REVISION,
            description="Only changes of revisions after this one (exclusive): pass the "
            "last revision already seen, e.g. a write's `revision`.",
        ),
    ] = None,
    since: Annotated[
        QueryTime | None,
        Query(description="Only changes of revisions committed after this time (RFC 3339)."),
    ] = None,
    until: Annotated[
        QueryTime | None,
        Query(description="Only changes of revisions committed at or before this time (RFC 3339)."),
    ] = None,
    service: Annotated[
        str | None,
        Query(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="Only changes of this service, or of edges from or to it.",
        ),
    ] = None,
    change_type: Annotated[
        list[ChangeType] | None,
        Query(alias="type", description="Only changes of these types (repeat the parameter)."),
    ] = None,
    cursor: CursorQuery = None,
    limit: PageLimit = 100,
) -> ChangePage:
    """Ordered by revision (and within one by the order the write recorded them); pass
    `next_cursor` back as `cursor` for the next page."""
    wanted = ChangeFilter(
        since_revision=since_revision,
        service=service,
        types=tuple(change_type or ()),
    )
    items, next_cursor = await database.read(
        lambda session: change_page(session, wanted, since, until, cursor, limit)
    )
    return ChangePage(items=[ChangeOut.of(e) for e in items], next_cursor=next_cursor)


class DiffFormat(enum.StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"


MARKDOWN_MEDIA_TYPE = "text/markdown"
_BOUND_DESCRIPTION = (
    "A graph revision (an integer, as `X-Graph-Revision` names them) or an RFC 3339 time "
    "with an offset (the last revision committed at or before it). Older than "
    "HISTORY_RETENTION_DAYS, or before the history began: 410; past the current "
    "revision, or in the future: 400."
)
# Long enough for any revision or RFC 3339 time (with nanoseconds and an offset).
_BOUND_MAX_LENGTH = 64


def encoded_diff(diff: GraphDiff, answer_format: DiffFormat) -> bytes:
    """The answer's bytes: O(answer), up to 10,000 entries per list."""
    if answer_format is DiffFormat.MARKDOWN:
        return render_markdown(diff).encode()
    return GraphDiffOut.of(diff).model_dump_json(by_alias=True).encode()


@router.get(
    "/graph/diff",
    dependencies=[Depends(read_access)],
    response_model=GraphDiffOut,
    operation_id="getGraphDiff",
    summary="What changed in the stored graph between two revisions or times",
    responses={
        200: {
            "description": "The difference, as JSON or (format=markdown) a readable summary",
            "content": {MARKDOWN_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **problem_responses(400, 401, 403, 410, 429, 500, 503),
    },
)
async def get_graph_diff(
    database: DatabaseDep,
    settings: SettingsDep,
    start: Annotated[
        str,
        Query(
            alias="from", min_length=1, max_length=_BOUND_MAX_LENGTH, description=_BOUND_DESCRIPTION
        ),
    ],
    end: Annotated[
        str | None,
        Query(
            alias="to",
            min_length=1,
            max_length=_BOUND_MAX_LENGTH,
            description=_BOUND_DESCRIPTION + " Default: the current revision.",
        ),
    ] = None,
    answer_format: Annotated[
        DiffFormat,
        Query(alias="format", description="`json`, or `markdown` for a readable summary."),
    ] = DiffFormat.JSON,
) -> Response:
    """Services added, removed and changed (with the old and new values of each field
    that differs), edge reports likewise, and the cycles opened and resolved, between
    the graph at `from` and at `to`. Read from the change log, not from two rebuilt
    graphs. Each list holds at most 10,000 entries (`truncated`); the counts are
    whole."""
    diff = await graph_diff(
        database,
        start,
        end,
        now=datetime.now(UTC),
        retention=timedelta(days=settings.history_retention_days),
    )
    # Encoding up to 10,000 entries per list is CPU work: off the event loop.
    body = await asyncio.to_thread(encoded_diff, diff, answer_format)
    markdown = answer_format is DiffFormat.MARKDOWN
    media_type = f"{MARKDOWN_MEDIA_TYPE}; charset=utf-8" if markdown else "application/json"
    return Response(body, media_type=media_type)
