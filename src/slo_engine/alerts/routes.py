"""GET /api/v1/circular-dependencies and PATCH /api/v1/circular-dependencies/{alert_id}"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from slo_engine.access.dependencies import read_access, write_access
from slo_engine.access.service import Principal
from slo_engine.alerts import service
from slo_engine.alerts.schemas import AlertOut, AlertPage, AlertUpdate
from slo_engine.errors import AlertNotFoundError
from slo_engine.graph.model import AlertStatus
from slo_engine.infra.cursor import (
    CursorQuery,
    PageLimit,
    decode_cursor,
    encode_cursor,
    not_issued,
)
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.json_body import json_body, openapi_body

router = APIRouter(tags=["circular dependencies"])

# Plain text, not a UUID parameter: `_alert_uuid` answers any other text with the 404 of
# an unknown alert.
AlertIdPath = Annotated[
    str, Path(description="The alert's id, a UUID (as `alert_id` in the answers).")
]


def _alert_uuid(alert_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(alert_id)
    except ValueError as error:
        raise AlertNotFoundError(
            f"No circular-dependency alert has id '{alert_id[:64]}'."
        ) from error


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    at, alert_id = decode_cursor(cursor, 2)
    try:
        if not isinstance(at, str) or not isinstance(alert_id, str):
            raise TypeError("cursor values must be strings")
        # In UTC here: a crafted offset near the end of time overflows the conversion,
        # which must be a 400 now, not a 500 when the query binds it.
        return datetime.fromisoformat(at).astimezone(UTC), uuid.UUID(alert_id)
    except (TypeError, ValueError, OverflowError) as error:
        raise not_issued() from error


@router.get(
    "/circular-dependencies",
    dependencies=[Depends(read_access)],
    response_model=AlertPage,
    operation_id="listCycleAlerts",
    summary="List circular-dependency alerts",
    responses=problem_responses(400, 401, 403, 429, 500),
)
async def list_alerts(
    database: DatabaseDep,
    status: Annotated[
        AlertStatus | None,
        Query(description="Only alerts in this status (`open` for what needs a look)."),
    ] = None,
    cursor: CursorQuery = None,
    limit: PageLimit = 100,
) -> AlertPage:
    """Newest first. Each alert is one strongly connected component of the graph."""
    page = await database.read(
        lambda session: service.list_alerts(session, status, _after(cursor), limit + 1)
    )
    next_cursor = None
    if len(page) > limit:
        last = page[limit - 1]
        next_cursor = encode_cursor([last.first_detected_at.isoformat(), str(last.alert_id)])
    return AlertPage(items=[AlertOut.of(a) for a in page[:limit]], next_cursor=next_cursor)


@router.get(
    "/circular-dependencies/{alert_id}",
    dependencies=[Depends(read_access)],
    response_model=AlertOut,
    operation_id="getCycleAlert",
    summary="One circular-dependency alert",
    responses=problem_responses(401, 403, 404, 429, 500),
)
async def get_alert(alert_id: AlertIdPath, database: DatabaseDep) -> AlertOut:
    """The alert: the cycle's services, one concrete cycle path, its status and who
    changed it when. 404 for an id no alert has."""
    alert = await database.read(lambda session: service.get_alert(session, _alert_uuid(alert_id)))
    return AlertOut.of(alert)


@router.patch(
    "/circular-dependencies/{alert_id}",
    response_model=AlertOut,
    operation_id="updateCycleAlert",
    summary="Acknowledge, resolve or reopen an alert",
    responses=problem_responses(400, 401, 403, 404, 409, 415, 422, 429, 500, 503),
    openapi_extra={"requestBody": openapi_body(AlertUpdate)},
)
async def update_alert(
    alert_id: AlertIdPath,
    # The access check first (dependencies resolve in this order): an unauthenticated
    # request is a 401, and its body is never read.
    principal: Annotated[Principal, Depends(write_access)],
    body: Annotated[AlertUpdate, Depends(json_body(AlertUpdate))],
    database: DatabaseDep,
) -> AlertOut:
    """A resolved alert whose cycle is still in the graph is reopened by the next scan;
    acknowledge it to keep it quiet instead."""
    alert = await database.transaction(
        lambda session: service.change_status(
            session,
            _alert_uuid(alert_id),
            AlertStatus(body.status),
            body.actor or principal.name,
            body.note,
        )
    )
    return AlertOut.of(alert)
