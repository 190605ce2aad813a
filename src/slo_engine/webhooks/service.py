"""Webhook use cases: make, list, delete subscriptions; read and replay their log."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.change_log import latest_revision
from slo_engine.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    WebhookNotFoundError,
)
from slo_engine.infra.cursor import decode_cursor, encode_cursor, not_issued
from slo_engine.infra.db import Database
from slo_engine.webhooks.events import EventType
from slo_engine.webhooks.repository import ACTIVE, Delivery, Webhook, WebhookRepository
from slo_engine.webhooks.schemas import WebhookCreate
from slo_engine.webhooks.signing import new_secret
from slo_engine.webhooks.targets import refusal

# Every process serves every subscription on each pass, and the listing is one page:
# both stay bounded.
MAX_WEBHOOKS = 100
WEBHOOK_ID_PATTERN = r"^wh_[0-9a-f]{32}$"
MESSAGE_ID_PATTERN = r"^msg_[0-9a-f]{32}$"


async def create_webhook(
    session: AsyncSession,
    body: WebhookCreate,
    allowed: tuple[str, ...],
    actor: str | None,
    now: datetime,
) -> tuple[Webhook, str]:
    """A new subscription and its secret. It is told about changes committed after it
    was made: its read position starts at the current revision."""
    repository = WebhookRepository(session)
    if await repository.count() >= MAX_WEBHOOKS:
        raise ConflictError(
            f"There are {MAX_WEBHOOKS} webhook subscriptions already, the most there can "
            "be: delete one first."
        )
    why_not = refusal(body.url, allowed)
    if why_not is not None:
        raise InvalidInputError(
            f"This URL cannot receive webhooks: {why_not}.",
            errors=[{"pointer": "/url", "detail": why_not}],
        )
    webhook = Webhook(
        id="wh_" + secrets.token_hex(16),
        url=body.url,
        event_types=[event for event in EventType if event in body.event_types],
        services=None if body.services is None else sorted(set(body.services)),
        description=body.description,
        status=ACTIVE,
        created_at=now,
        created_by=actor,
        failing_since=None,
        cursor_revision=await latest_revision(session),
    )
    secret = new_secret()
    await repository.create(webhook, secret)
    return webhook, secret


async def get_webhook(session: AsyncSession, webhook_id: str) -> Webhook:
    webhook = await WebhookRepository(session).get(webhook_id)
    if webhook is None:
        raise WebhookNotFoundError(f"No webhook {webhook_id!r}.")
    return webhook


async def list_webhooks(session: AsyncSession) -> list[Webhook]:
    return await WebhookRepository(session).all()


async def delete_webhook(session: AsyncSession, webhook_id: str) -> Webhook:
    """The subscription and its delivery log go; messages in flight may still arrive."""
    webhook = await get_webhook(session, webhook_id)
    await WebhookRepository(session).delete(webhook_id)
    return webhook


async def delivery_page(
    session: AsyncSession, webhook_id: str, status: str | None, cursor: str | None, limit: int
) -> tuple[list[Delivery], str | None]:
    """The delivery log, newest first; `next_cursor` leads to older messages."""
    await get_webhook(session, webhook_id)
    before: int | None = None
    if cursor is not None:
        (before,) = decode_cursor(cursor, 1)
        if not isinstance(before, int) or isinstance(before, bool) or not 0 < before < 2**63:
            raise not_issued()
    items = await WebhookRepository(session).deliveries(webhook_id, status, before, limit + 1)
    if len(items) <= limit:
        return items, None
    return items[:limit], encode_cursor([items[limit - 1].seq])


async def redeliver(
    session: AsyncSession, webhook_id: str, message_id: str, now: datetime
) -> Webhook:
    """Send a message again, next, with a new retry window. A failing subscription is
    active again once no failed message is left (its waiting messages then follow in
    order); redelivering another message of it queues that one ahead, to go when the
    failed one is redelivered too."""
    repository = WebhookRepository(session)
    await get_webhook(session, webhook_id)
    if not await repository.requeue(webhook_id, message_id, now):
        raise NotFoundError(f"Webhook {webhook_id!r} has no message {message_id!r}.")
    if not await repository.any_failed(webhook_id):
        await repository.set_status(webhook_id, ACTIVE, None)
    return await get_webhook(session, webhook_id)


async def prune_deliveries(database: Database, cutoff: datetime) -> int:
    """Forget delivered messages made before `cutoff` (the history's retention, in the
    history-prune job)."""
    return await database.transaction(
        lambda session: WebhookRepository(session).prune_before(cutoff)
    )
