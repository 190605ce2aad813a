"""All SQL about webhooks: subscriptions, their leases, and the delivery log."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.webhooks.events import EventType, Message, Subscription
from slo_engine.webhooks.tables import webhook_deliveries, webhooks

ACTIVE, FAILING = "active", "failing"


class DeliveryStatus(enum.StrEnum):
    """Where a message is: waiting to be sent (or retried), sent, given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Webhook:
    """A stored subscription (its secret apart: it is read only to sign)."""

    id: str
    url: str
    event_types: list[EventType]
    services: list[str] | None
    description: str | None
    status: str
    created_at: datetime
    created_by: str | None
    failing_since: datetime | None
    cursor_revision: int

    @property
    def subscription(self) -> Subscription:
        return Subscription(
            frozenset(self.event_types),
            None if self.services is None else frozenset(self.services),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message of the delivery log, with the outcome of its last attempt."""

    seq: int
    webhook_id: str
    message_id: str
    revision: int
    event_type: str
    payload: str
    status: str
    attempts: int
    created_at: datetime
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime
    delivered_at: datetime | None
    response_status: int | None
    last_error: str | None


_WEBHOOK_COLUMNS = [c for c in webhooks.c if c.name not in ("secret", "lease_owner", "lease_until")]


def _webhook(row: Row[Any]) -> Webhook:
    m = row._mapping
    return Webhook(
        id=m["id"],
        url=m["url"],
        event_types=[EventType(value) for value in m["event_types"]],
        services=m["services"],
        description=m["description"],
        status=m["status"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        failing_since=m["failing_since"],
        cursor_revision=int(m["cursor_revision"]),
    )


def _delivery(row: Row[Any]) -> Delivery:
    return Delivery(**row._mapping)


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- subscriptions ---------------------------------------------------------------

    async def create(self, webhook: Webhook, secret: str) -> None:
        await self._session.execute(
            insert(webhooks).values(
                id=webhook.id,
                url=webhook.url,
                event_types=[str(event) for event in webhook.event_types],
                services=webhook.services,
                description=webhook.description,
                secret=secret,
                status=webhook.status,
                created_at=webhook.created_at,
                created_by=webhook.created_by,
                cursor_revision=webhook.cursor_revision,
            )
        )

    async def all(self) -> list[Webhook]:
        result = await self._session.execute(
            select(*_WEBHOOK_COLUMNS).order_by(webhooks.c.created_at, webhooks.c.id)
        )
        return [_webhook(row) for row in result]

    async def get(self, webhook_id: str) -> Webhook | None:
        result = await self._session.execute(
            select(*_WEBHOOK_COLUMNS).where(webhooks.c.id == webhook_id)
        )
        row = result.one_or_none()
        return None if row is None else _webhook(row)

    async def sending_target(self, webhook_id: str) -> tuple[str, str, str] | None:
        """(url, secret, status) of a subscription, in one read: what sending needs."""
        result = await self._session.execute(
            select(webhooks.c.url, webhooks.c.secret, webhooks.c.status).where(
                webhooks.c.id == webhook_id
            )
        )
        row = result.one_or_none()
        return None if row is None else (row.url, row.secret, row.status)

    async def count(self) -> int:
        result = await self._session.execute(select(func.count()).select_from(webhooks))
        return int(result.scalar_one())

    async def delete(self, webhook_id: str) -> bool:
        # The log goes first, whatever the foreign key's cascade does on each engine.
        await self._session.execute(
            delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
        )
        result = await self._session.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_status(self, webhook_id: str, status: str, since: datetime | None) -> None:
        await self._session.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(status=status, failing_since=since)
        )

    # --- leases: one replica delivers a subscription at a time -----------------------

    async def take_lease(self, webhook_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take or extend the lease on a subscription: True for one replica at a time
        (a conditional update: a row lock on PostgreSQL, the write lock on SQLite)."""
        result = await self._session.execute(
            update(webhooks)
            .where(
                webhooks.c.id == webhook_id,
                or_(
                    webhooks.c.lease_owner.is_(None),
                    webhooks.c.lease_owner == owner,
                    webhooks.c.lease_until < now,
                ),
            )
            .values(lease_owner=owner, lease_until=until)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release_lease(self, webhook_id: str, owner: str) -> None:
        await self._session.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    # --- the outbox ------------------------------------------------------------------

    async def enqueue(
        self,
        webhook_id: str,
        read_from: int,
        read_upto: int,
        messages: Sequence[tuple[int, Message, str]],
        now: datetime,
    ) -> bool:
        """Add the messages of revisions `read_from`+1..`read_upto` and move the read
        position there; False (and nothing added) if the position is no longer
        `read_from` (another replica did it). `messages`: (revision, message, id)."""
        moved = await self._session.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.cursor_revision == read_from)
            .values(cursor_revision=read_upto)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return False
        if messages:
            await self._session.execute(
                insert(webhook_deliveries),
                [
                    {
                        "webhook_id": webhook_id,
                        "message_id": message_id,
                        "revision": revision,
                        "event_type": str(message.event_type),
                        "payload": message.body.decode(),
                        "status": DeliveryStatus.PENDING,
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                    for revision, message, message_id in messages
                ],
            )
        return True

    async def next_pending(self, webhook_id: str) -> Delivery | None:
        """The subscription's oldest pending message: messages go out in order."""
        result = await self._session.execute(
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.status == DeliveryStatus.PENDING,
            )
            .order_by(webhook_deliveries.c.seq)
            .limit(1)
        )
        row = result.one_or_none()
        return None if row is None else _delivery(row)

    async def record_attempt(self, delivery: Delivery, at: datetime, **outcome: Any) -> bool:
        """The outcome of one attempt (status, next_attempt_at, response_status,
        last_error, delivered_at), if the message is still as it was read: pending,
        with as many attempts. False if it changed meanwhile (a redelivery, another
        replica): that attempt's outcome is then not ours to write."""
        result = await self._session.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.seq == delivery.seq,
                webhook_deliveries.c.status == DeliveryStatus.PENDING,
                webhook_deliveries.c.attempts == delivery.attempts,
            )
            .values(
                attempts=delivery.attempts + 1,
                first_attempt_at=delivery.first_attempt_at or at,
                last_attempt_at=at,
                **outcome,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_subscriptions(self, now: datetime) -> set[str]:
        """The subscriptions whose next pending message is due."""
        result = await self._session.execute(
            select(webhook_deliveries.c.webhook_id)
            .where(webhook_deliveries.c.status == DeliveryStatus.PENDING)
            .group_by(webhook_deliveries.c.webhook_id)
            .having(func.min(webhook_deliveries.c.next_attempt_at) <= now)
        )
        return {row.webhook_id for row in result}

    async def any_failed(self, webhook_id: str) -> bool:
        result = await self._session.execute(
            select(webhook_deliveries.c.seq)
            .where(
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.status == DeliveryStatus.FAILED,
            )
            .limit(1)
        )
        return result.first() is not None

    async def deliveries(
        self, webhook_id: str, status: str | None, before_seq: int | None, limit: int
    ) -> list[Delivery]:
        """The delivery log, newest first, keyset-paginated."""
        stmt = (
            select(webhook_deliveries)
            .where(webhook_deliveries.c.webhook_id == webhook_id)
            .order_by(webhook_deliveries.c.seq.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(webhook_deliveries.c.status == status)
        if before_seq is not None:
            stmt = stmt.where(webhook_deliveries.c.seq < before_seq)
        result = await self._session.execute(stmt)
        return [_delivery(row) for row in result]

    async def requeue(self, webhook_id: str, message_id: str, now: datetime) -> bool:
        """Send a message again, before the subscription's other pending ones, with a
        new retry window."""
        result = await self._session.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.webhook_id == webhook_id,
                webhook_deliveries.c.message_id == message_id,
            )
            .values(
                status=DeliveryStatus.PENDING,
                attempts=0,
                first_attempt_at=None,
                next_attempt_at=now,
                delivered_at=None,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def prune_before(self, cutoff: datetime) -> int:
        """Forget delivered messages made before `cutoff`. Pending ones stay whatever
        their age, and so does a failed one: its subscription waits on its redelivery."""
        result = await self._session.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.status == DeliveryStatus.DELIVERED,
                webhook_deliveries.c.created_at < cutoff,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
