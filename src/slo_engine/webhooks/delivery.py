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

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.change_log import latest_revision, outlines_between
from slo_engine.graph.change_log import EntryOutline
from slo_engine.infra.db import Database
from slo_engine.observability.metrics import WEBHOOK_ATTEMPTS
from slo_engine.settings import Settings
from slo_engine.webhooks.events import Message, messages_of_revision
from slo_engine.webhooks.repository import (
    DELIVERED,
    FAILED,
    FAILING,
    Delivery,
    Webhook,
    WebhookRepository,
)
from slo_engine.webhooks.retry import RetryPolicy
from slo_engine.webhooks.signing import signed_headers
from slo_engine.webhooks.targets import allowed_hosts, refusal

logger = logging.getLogger(__name__)

# Revisions read from the change log per fan-out transaction: bounds one transaction
# (a subscription far behind catches up over several).
FAN_OUT_REVISIONS = 100
# Subscriptions one process serves at once (each waits on its receiver).
CONCURRENT_SUBSCRIPTIONS = 8
# Messages one subscription is sent per pass before the others get their turn.
MESSAGES_PER_PASS = 100
_ERROR_TEXT_LIMIT = 500
USER_AGENT = "slo-engine-webhooks"


def message_id() -> str:
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
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # a redirect is a failed attempt, never followed
            timeout=limits.timeout.total_seconds(),
            headers={"user-agent": USER_AGENT, "content-type": "application/json"},
        )
        self._task: asyncio.Task[None] | None = None

    # --- the loop ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
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
        """One pass over every subscription; how many attempts it made."""
        subscriptions, latest = await self._database.read(_subscriptions_and_latest)
        gate = asyncio.Semaphore(CONCURRENT_SUBSCRIPTIONS)

        async def serve(webhook: Webhook) -> int:
            async with gate:
                return await self._serve(webhook, latest)

        attempts = await asyncio.gather(*(serve(w) for w in subscriptions))
        return sum(attempts)

    # --- one subscription, under its lease -------------------------------------------------

    async def _serve(self, webhook: Webhook, latest: int) -> int:
        if not await self._take_lease(webhook.id):
            return 0
        try:
            position = webhook.cursor_revision
            while position < latest:
                upto = min(latest, position + FAN_OUT_REVISIONS)
                if not await self._fan_out(webhook, position, upto):
                    return 0  # another replica moved it: the lease was lost
                position = upto
                if not await self._take_lease(webhook.id):  # renewed per transaction
                    return 0
            if webhook.status == FAILING:
                return 0
            return await self._deliver_pending(webhook.id)
        finally:
            with contextlib.suppress(Exception):
                await self._database.transaction(
                    lambda s: WebhookRepository(s).release_lease(webhook.id, self.replica)
                )

    async def _take_lease(self, webhook_id: str) -> bool:
        now = self._clock()
        return await self._database.transaction(
            lambda s: WebhookRepository(s).take_lease(
                webhook_id, self.replica, now, now + self._limits.lease
            )
        )

    async def _fan_out(self, webhook: Webhook, after: int, upto: int) -> bool:
        """Enqueue the messages of revisions after..upto; False if the position moved."""

        async def fan_out(session: AsyncSession) -> bool:
            messages: list[tuple[int, Message, str]] = []
            revision: list[EntryOutline] = []

            def close_revision() -> None:
                for message in messages_of_revision(webhook.subscription, revision):
                    messages.append((revision[0].revision, message, message_id()))
                revision.clear()

            async for entry in outlines_between(session, after, upto):
                if revision and entry.revision != revision[0].revision:
                    close_revision()
                revision.append(entry)
            if revision:
                close_revision()
            return await WebhookRepository(session).enqueue(
                webhook.id, after, upto, messages, self._clock()
            )

        return await self._database.transaction(fan_out)

    async def _deliver_pending(self, webhook_id: str) -> int:
        """Send the subscription's pending messages in order while they succeed."""
        sent = 0
        while sent < MESSAGES_PER_PASS:
            if not await self._take_lease(webhook_id):  # renewed before every attempt
                break
            head, secret, url = await self._database.read(lambda s: _head(s, webhook_id))
            if head is None or secret is None or head.next_attempt_at > self._clock():
                break
            attempt = await self._send(url, secret, head)
            sent += 1
            if not await self._record(webhook_id, head, attempt):
                break
        return sent

    async def _send(self, url: str, secret: str, delivery: Delivery) -> Attempt:
        """One POST, bounded in time and in the response bytes read."""
        why_not = refusal(url, self._limits.allowed)
        if why_not is not None:
            return Attempt(None, why_not)
        body = delivery.payload.encode()
        headers = signed_headers(secret, delivery.message_id, body, self._clock())
        try:
            async with asyncio.timeout(self._limits.timeout.total_seconds()):
                async with self._client.stream("POST", url, content=body, headers=headers) as r:
                    read = 0
                    async for chunk in r.aiter_raw():
                        read += len(chunk)
                        if read >= self._limits.max_response_bytes:
                            break  # the answer's body means nothing to us: stop reading
                    if r.is_redirect:
                        return Attempt(r.status_code, "redirect not followed")
                    return Attempt(r.status_code, None if r.is_success else r.reason_phrase)
        except TimeoutError:
            return Attempt(None, f"no answer within {self._limits.timeout.total_seconds():g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return Attempt(None, f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT])

    async def _record(self, webhook_id: str, delivery: Delivery, attempt: Attempt) -> bool:
        """Write the attempt's outcome; whether to go on with the next message."""
        now = self._clock()
        if attempt.succeeded:
            outcome, go_on = {"status": DELIVERED, "delivered_at": now}, True
            WEBHOOK_ATTEMPTS.labels("delivered").inc()
        else:
            first = delivery.first_attempt_at or now
            retry_at = self._limits.retry.next_attempt(delivery.attempts + 1, first, now)
            if retry_at is None:
                outcome = {"status": FAILED}
                WEBHOOK_ATTEMPTS.labels("given_up").inc()
                logger.warning(
                    "webhook %s: message %s failed for %s; the subscription is failing",
                    webhook_id,
                    delivery.message_id,
                    self._limits.retry.window,
                )
            else:
                outcome = {"next_attempt_at": retry_at}
                WEBHOOK_ATTEMPTS.labels("failed").inc()
            go_on = False

        async def record(session: AsyncSession) -> None:
            repository = WebhookRepository(session)
            await repository.record_attempt(
                delivery,
                now,
                response_status=attempt.status_code,
                last_error=attempt.error,
                **outcome,
            )
            if outcome.get("status") == FAILED:
                await repository.set_status(webhook_id, FAILING, now)

        await self._database.transaction(record)
        return go_on


async def _subscriptions_and_latest(session: AsyncSession) -> tuple[list[Webhook], int]:
    return await WebhookRepository(session).all(), await latest_revision(session)


async def _head(session: AsyncSession, webhook_id: str) -> tuple[Delivery | None, str | None, str]:
    repository = WebhookRepository(session)
    webhook = await repository.get(webhook_id)
    if webhook is None:  # deleted meanwhile
        return None, None, ""
    return (
        await repository.next_pending(webhook_id),
        await repository.secret(webhook_id),
        webhook.url,
    )
