"""GET /api/v1/changes: the change feed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from slo_engine.access.dependencies import read_access
from slo_engine.catalog.change_log import ChangeFilter
from slo_engine.graph.change_log import ChangeType
from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.history.schemas import ChangeOut, ChangePage
from slo_engine.history.service import change_page
from slo_engine.infra.cursor import CursorQuery, PageLimit
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.live.reads import MAX_REVISION

router = APIRouter(tags=["history"])


@router.get(
    "/changes",
    dependencies=[Depends(read_access)],
    response_model=ChangePage,
    summary="The change feed: every change to the stored graph, in revision order",
    responses=problem_responses(400, 401, 403, 429, 500, 503),
)
async def list_graph_changes(
    database: DatabaseDep,
    since_revision: Annotated[
        int | None,
        Query(ge=0, le=MAX_REVISION, description="Only changes of later revisions."),
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="Only changes of revisions committed after this time (RFC 3339)."),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="Only changes of revisions committed at or before this time."),
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
