"""/api/v1/webhooks: subscriptions to the graph's changes, for keys with the `admin`
scope (docs/history.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from slo_engine.access.dependencies import admin_read_access, admin_write_access
from slo_engine.access.service import Principal
from slo_engine.infra.components import SettingsDep
from slo_engine.infra.cursor import CursorQuery
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.json_body import json_body, openapi_body
from slo_engine.webhooks import service
from slo_engine.webhooks.repository import DeliveryStatus
from slo_engine.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from slo_engine.webhooks.service import MESSAGE_ID_PATTERN, WEBHOOK_ID_PATTERN
from slo_engine.webhooks.targets import allowed_hosts

router = APIRouter(tags=["webhooks"])

WebhookId = Annotated[
    str,
    Path(
        pattern=WEBHOOK_ID_PATTERN,
        description="The subscription's id (`wh_` and 32 hex digits), as `POST` answered it.",
    ),
]


# Each message holds its body (up to ~100 KB for a long listing): pages are kept short.
DeliveryPageLimit = Annotated[
    int, Query(ge=1, le=100, description="Messages per page, 1 to 100 (each holds its body).")
]


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookCreated,
    operation_id="createWebhook",
    summary="Subscribe a URL to the graph's changes (its secret is returned once)",
    responses=problem_responses(400, 401, 403, 409, 415, 422, 429, 500, 503),
    openapi_extra={"requestBody": openapi_body(WebhookCreate)},
)
async def create_webhook(
    principal: Annotated[Principal, Depends(admin_write_access)],
    body: Annotated[WebhookCreate, Depends(json_body(WebhookCreate))],
    database: DatabaseDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookCreated:
    """Changes committed from now on are sent to the URL, signed with the secret in
    this answer (no cache may keep it: `Cache-Control: no-store`)."""
    response.headers["Cache-Control"] = "no-store"
    webhook, secret = await database.transaction(
        lambda session: service.create_webhook(
            session,
            body,
            allowed_hosts(settings.webhook_allowed_hosts),
            principal.name,
            datetime.now(UTC),
        )
    )
    return WebhookCreated(**WebhookOut.of(webhook).model_dump(), secret=secret)


@router.get(
    "/webhooks",
    dependencies=[Depends(admin_read_access)],
    response_model=WebhookList,
    operation_id="listWebhooks",
    summary="List the webhook subscriptions (never their secrets)",
    responses=problem_responses(401, 403, 429, 500, 503),
)
async def list_webhooks(database: DatabaseDep) -> WebhookList:
    """Every subscription, oldest first, with its status and how far it has read the
    change log."""
    webhooks = await database.read(service.list_webhooks)
    return WebhookList(items=[WebhookOut.of(w) for w in webhooks])


@router.get(
    "/webhooks/{webhook_id}",
    dependencies=[Depends(admin_read_access)],
    response_model=WebhookOut,
    operation_id="getWebhook",
    summary="One webhook subscription",
    responses=problem_responses(400, 401, 403, 404, 429, 500, 503),
)
async def get_webhook(webhook_id: WebhookId, database: DatabaseDep) -> WebhookOut:
    """The subscription (never its secret): `failing` with `failing_since` when a message
    gave up and waits for a redelivery."""
    webhook = await database.read(lambda session: service.get_webhook(session, webhook_id))
    return WebhookOut.of(webhook)


@router.delete(
    "/webhooks/{webhook_id}",
    dependencies=[Depends(admin_write_access)],
    response_model=WebhookOut,
    operation_id="deleteWebhook",
    summary="Unsubscribe: the subscription and its delivery log are deleted",
    responses=problem_responses(400, 401, 403, 404, 429, 500, 503),
)
async def delete_webhook(webhook_id: WebhookId, database: DatabaseDep) -> WebhookOut:
    """Its pending messages go with the log (one already in flight may still arrive).
    The answer is the subscription as it was."""
    webhook = await database.transaction(
        lambda session: service.delete_webhook(session, webhook_id)
    )
    return WebhookOut.of(webhook)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    dependencies=[Depends(admin_read_access)],
    response_model=DeliveryPage,
    operation_id="listWebhookDeliveries",
    summary="A subscription's delivery log, newest first",
    responses=problem_responses(400, 401, 403, 404, 429, 500, 503),
)
async def list_deliveries(
    webhook_id: WebhookId,
    database: DatabaseDep,
    status: Annotated[
        DeliveryStatus | None,
        Query(description="Only messages in this state: `pending`, `delivered` or `failed`."),
    ] = None,
    cursor: CursorQuery = None,
    limit: DeliveryPageLimit = 20,
) -> DeliveryPage:
    """Each message with its last attempt's outcome: HTTP status, error, attempts so
    far, and for a pending one when it is tried next."""
    items, next_cursor = await database.read(
        lambda session: service.delivery_page(
            session, webhook_id, None if status is None else str(status), cursor, limit
        )
    )
    return DeliveryPage(items=[DeliveryOut.of(d) for d in items], next_cursor=next_cursor)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{message_id}/redeliver",
    dependencies=[Depends(admin_write_access)],
    status_code=202,
    response_model=WebhookOut,
    operation_id="redeliverWebhookMessage",
    summary="Send a message again (next, with a new retry window)",
    responses=problem_responses(400, 401, 403, 404, 429, 500, 503),
)
async def redeliver(
    webhook_id: WebhookId,
    message_id: Annotated[
        str,
        Path(
            pattern=MESSAGE_ID_PATTERN,
            description="The message's id, as `message_id` in the delivery log (and the "
            "`webhook-id` header the receiver saw).",
        ),
    ],
    database: DatabaseDep,
) -> WebhookOut:
    """A failed message (or a delivered one the receiver lost) is queued again, ahead of
    the subscription's other pending messages; a failing subscription is active again.
    The answer is the subscription."""
    webhook = await database.transaction(
        lambda session: service.redeliver(session, webhook_id, message_id, datetime.now(UTC))
    )
    return WebhookOut.of(webhook)
