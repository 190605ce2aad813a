"""Delivering webhooks: the change log is the outbox, read by every process.

Every WEBHOOK_POLL_SECONDS each process looks at the subscriptions. For each, it takes
the subscription's lease (a conditional update on its row, `WEBHOOK_LEASE` long, renewed
before every attempt), so one replica at a time serves it:

1. Fan-out: the entries of the revisions committed since the subscription's read
   position become its messages (webhooks/events.py), inserted in one transaction with
   the move of the position, which is conditional on the position read: a change is
   never enqueued twice, and an entry is never skipped, since revisions commit in order
   (each write holds the graph's revision row until it commits).
2. Delivery: the oldest pending message is signed and POSTed; the next one only after
   it succeeded, so a subscription receives its messages in revision order. A failure
   is retried with backoff (webhooks/retry.py); past the retry window the message
   fails and the subscription is marked failing, and its later messages wait (still
   enqueued) until a redelivery call.

At least once: the outcome of an attempt is written after the receiver answered, so a
replica killed in between leaves the message pending, and whoever next holds the lease
(after it expires) sends it again, with the same `webhook-id` for the receiver to drop.
In normal operation nothing is sent twice: only the lease holder sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.change_log import latest_revision, outlines_between
from slo_engine.infra.db import Database
from slo_engine.observability.metrics import WEBHOOK_ATTEMPTS
from slo_engine.settings import Settings
from slo_engine.webhooks.events import Message, RevisionMessages, Subscription
from slo_engine.webhooks.repository import (
    ACTIVE,
    FAILING,
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookRepository,
)
from slo_engine.webhooks.retry import RetryPolicy
from slo_engine.webhooks.signing import signed_headers
from slo_engine.webhooks.targets import allowed_hosts, refusal

logger = logging.getLogger(__name__)

# A fan-out batch: at most this many revisions, and it ends at the first revision
# boundary past this many entries (a subscription far behind catches up over several
# batches; one revision is never split, however large).
FAN_OUT_REVISIONS = 100
FAN_OUT_ENTRIES = 50_000
# Subscriptions one process serves at once (each waits on its receiver).
CONCURRENT_SUBSCRIPTIONS = 8
# Messages one subscription is sent per pass before the others get their turn.
MESSAGES_PER_PASS = 100
_ERROR_TEXT_LIMIT = 500
USER_AGENT = "slo-engine-webhooks"


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one POST ended: a status code, or an error before any."""

    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    timeout: timedelta
    max_response_bytes: int
    allowed: tuple[str, ...]
    retry: RetryPolicy

    @property
    def lease(self) -> timedelta:
        """Longer than one attempt with room to record it: renewed before each."""
        return self.timeout * 2 + timedelta(seconds=10)

    @classmethod
    def of(cls, settings: Settings) -> DeliveryLimits:
        return cls(
            timeout=timedelta(seconds=settings.webhook_timeout_seconds),
            max_response_bytes=settings.webhook_max_response_bytes,
            allowed=allowed_hosts(settings.webhook_allowed_hosts),
            retry=RetryPolicy(
                first=timedelta(seconds=settings.webhook_retry_first_seconds),
                longest=timedelta(seconds=settings.webhook_retry_longest_seconds),
                window=timedelta(hours=settings.webhook_retry_hours),
            ),
        )


Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _FanOutBatch:
    upto: int  # the last revision read whole
    messages: list[tuple[int, Message, str]]  # (revision, message, message id)


class WebhookDispatcher:
    """One per process: fans the change log out to the subscriptions and delivers."""

    def __init__(
        self,
        database: Database,
        limits: DeliveryLimits,
        replica: str,
        *,
        poll_seconds: float = 1.0,
        clock: Clock = _utc_now,
    ) -> None:
        self._database = database
        self._limits = limits
        self.replica = replica
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None

    # --- the loop ----------------------------------------------------------------------

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # a redirect is a failed attempt, never followed
            timeout=self._limits.timeout.total_seconds(),
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
        )
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database away, say: try again next poll
                logger.warning("webhook delivery pass failed: %s", error)
            await asyncio.sleep(self._poll_seconds)

    async def run_once(self) -> int:
        """One pass over the subscriptions that have something to do (changes past
        their read position, or a pending message due): how many attempts it made.
        An idle pass is one read; a pass ends only when every subscription's turn has."""
        now = self._clock()
        work = await self._database.read(lambda session: _work(session, now))
        gate = asyncio.Semaphore(CONCURRENT_SUBSCRIPTIONS)

        async def serve(webhook: Webhook) -> int:
            async with gate:
                try:
                    return await self._serve(webhook, work.latest)
                except Exception:  # one subscription's failure is not the others'
                    logger.exception("webhook %s: delivery pass failed", webhook.id)
                    return 0

        attempts = await asyncio.gather(*(serve(w) for w in work.subscriptions))
        return sum(attempts)

    # --- one subscription, under its lease -------------------------------------------------

    async def _serve(self, webhook: Webhook, latest: int) -> int:
        if not await self._hold_lease(webhook.id):
            return 0
        try:
            position = webhook.cursor_revision
            while position < latest:
                batch = await self._fan_out(webhook, position, latest)
                enqueued = await self._database.transaction(
                    partial(_enqueue, webhook.id, position, batch, self._clock())
                )
                if not enqueued:
                    return 0  # another replica moved it: the lease was lost
                position = batch.upto
                if not await self._hold_lease(webhook.id):  # renewed per batch
                    return 0
            return await self._deliver_pending(webhook.id)
        finally:
            with contextlib.suppress(Exception):
                await self._database.transaction(
                    lambda s: WebhookRepository(s).release_lease(webhook.id, self.replica)
                )

    async def _hold_lease(self, webhook_id: str) -> bool:
        """Take the subscription's lease, or extend it if this replica holds it."""
        now = self._clock()
        return await self._database.transaction(
            lambda s: WebhookRepository(s).take_lease(
                webhook_id, self.replica, now, now + self._limits.lease
            )
        )

    async def _fan_out(self, webhook: Webhook, after: int, latest: int) -> _FanOutBatch:
        return await self._database.read(partial(_read_batch, webhook.subscription, after, latest))

    async def _deliver_pending(self, webhook_id: str) -> int:
        """Send the subscription's pending messages in order while they succeed."""
        sent = 0
        # The lease is held here (taken by `_serve`, renewed after each fan-out batch) and
        # renewed with every recorded outcome (`_record`), so an attempt starts with a
        # whole lease ahead of it.
        while sent < MESSAGES_PER_PASS:
            head = await self._database.read(lambda s: _head(s, webhook_id))
            if head is None or head.delivery.next_attempt_at > self._clock():
                break
            attempt = await self._send(head)
            sent += 1
            if not await self._record(webhook_id, head.delivery, attempt):
                break
        return sent

    async def _send(self, head: _Head) -> Attempt:
        """One POST, bounded in time and in the response bytes read. Whatever goes wrong
        is a failed attempt, retried like any other."""
        why_not = refusal(head.url, self._limits.allowed)
        if why_not is not None:
            return Attempt(None, why_not)
        assert self._client is not None, "start() makes the client"
        delivery = head.delivery
        body = delivery.payload.encode()
        headers = signed_headers(head.secret, delivery.message_id, body, self._clock())
        seconds = self._limits.timeout.total_seconds()
        try:
            async with asyncio.timeout(seconds):
                async with self._client.stream(
                    "POST", head.url, content=body, headers=headers
                ) as r:
                    read = 0
                    async for chunk in r.aiter_raw():
                        read += len(chunk)
                        if read >= self._limits.max_response_bytes:
                            break  # the answer's body means nothing to us: stop reading
                    if r.is_redirect:
                        return Attempt(r.status_code, "redirect not followed")
                    return Attempt(r.status_code, None if r.is_success else r.reason_phrase)
        except TimeoutError:
            return Attempt(None, f"no answer within {seconds:g} s")
        except Exception as error:  # connection refused, TLS, a name httpx cannot encode...
            return Attempt(None, f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT])

    async def _record(self, webhook_id: str, delivery: Delivery, attempt: Attempt) -> bool:
        """Write the attempt's outcome, if this replica still holds the lease and the
        message is as it was sent (not redelivered meanwhile); whether to go on."""
        now = self._clock()
        outcome: dict[str, Any]
        if attempt.succeeded:
            outcome, go_on = {"status": DeliveryStatus.DELIVERED, "delivered_at": now}, True
        else:
            first = delivery.first_attempt_at or now
            retry_at = self._limits.retry.next_attempt(delivery.attempts + 1, first, now)
            if retry_at is None:
                outcome = {"status": DeliveryStatus.FAILED}
            else:
                outcome = {"next_attempt_at": retry_at}
            go_on = False

        async def record(session: AsyncSession) -> bool:
            repository = WebhookRepository(session)
            held = await repository.take_lease(
                webhook_id, self.replica, now, now + self._limits.lease
            )
            if not held or not await repository.record_attempt(
                delivery,
                now,
                response_status=attempt.status_code,
                last_error=attempt.error,
                **outcome,
            ):
                return False  # another replica or a redelivery has it now
            if outcome.get("status") == DeliveryStatus.FAILED:
                await repository.set_status(webhook_id, FAILING, now)
            return True

        recorded = await self._database.transaction(record)
        if not recorded:
            return False
        if attempt.succeeded:
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
        elif outcome.get("status") == DeliveryStatus.FAILED:
            WEBHOOK_ATTEMPTS.labels("given_up").inc()
            logger.warning(
                "webhook %s: message %s failed for %s; the subscription is failing",
                webhook_id,
                delivery.message_id,
                self._limits.retry.window,
            )
        else:
            WEBHOOK_ATTEMPTS.labels("failed").inc()
        return go_on


@dataclass(frozen=True, slots=True)
class _Work:
    subscriptions: list[Webhook]  # those with something to do
    latest: int


async def _work(session: AsyncSession, now: datetime) -> _Work:
    """The subscriptions with changes past their read position, or an active one with
    a pending message due."""
    repository = WebhookRepository(session)
    latest = await latest_revision(session)
    due = await repository.due_subscriptions(now)
    return _Work(
        [
            webhook
            for webhook in await repository.all()
            if webhook.cursor_revision < latest or (webhook.status == ACTIVE and webhook.id in due)
        ],
        latest,
    )


@dataclass(frozen=True, slots=True)
class _Head:
    """A subscription's next message, with what sending it needs."""

    delivery: Delivery
    url: str
    secret: str


async def _head(session: AsyncSession, webhook_id: str) -> _Head | None:
    """The next message to send, or None: none pending, the subscription deleted or
    failing (its later messages wait behind the failed one)."""
    repository = WebhookRepository(session)
    target = await repository.sending_target(webhook_id)
    if target is None:
        return None
    url, secret, status = target
    if status == FAILING:
        return None
    delivery = await repository.next_pending(webhook_id)
    return None if delivery is None else _Head(delivery, url, secret)


async def _read_batch(
    subscription: Subscription, after: int, latest: int, session: AsyncSession
) -> _FanOutBatch:
    """The messages of the revisions after `after`, read in a read transaction (the
    enqueue's conditional move makes it safe), in memory bounded per revision by
    `RevisionMessages`. O(entries read)."""
    upto = min(latest, after + FAN_OUT_REVISIONS)
    messages: list[tuple[int, Message, str]] = []
    building: RevisionMessages | None = None
    read = 0

    def close(revision_messages: RevisionMessages) -> None:
        for message in revision_messages.messages():
            messages.append((revision_messages.revision, message, new_message_id()))

    async for entry in outlines_between(session, after, upto):
        if building is None or entry.revision != building.revision:
            if building is not None:
                close(building)
                if read >= FAN_OUT_ENTRIES:  # a boundary past the budget: stop here
                    return _FanOutBatch(building.revision, messages)
            building = RevisionMessages(subscription, entry)
        building.add(entry)
        read += 1
    if building is not None:
        close(building)
    return _FanOutBatch(upto, messages)


async def _enqueue(
    webhook_id: str, after: int, batch: _FanOutBatch, now: datetime, session: AsyncSession
) -> bool:
    return await WebhookRepository(session).enqueue(
        webhook_id, after, batch.upto, batch.messages, now
    )
