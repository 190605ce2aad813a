"""Request and response bodies of the webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from pydantic import BaseModel, Field, StringConstraints

from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.infra.storable import NO_NUL_PATTERN, STRICT_BODY
from slo_engine.webhooks.events import EventType
from slo_engine.webhooks.repository import Delivery, DeliveryStatus, Webhook

# Long enough for any real endpoint; a longer URL is refused (422).
URL_MAX_LENGTH = 2048
SERVICE_FILTER_MAX = 1_000


class WebhookCreate(BaseModel):
    model_config = STRICT_BODY

    url: Annotated[
        str, StringConstraints(max_length=URL_MAX_LENGTH, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://")
    ] = Field(
        description="Where messages are POSTed: an http or https URL whose host "
        "WEBHOOK_ALLOWED_HOSTS allows. Redirects are not followed.",
        examples=["https://hooks.example.com/slo-engine"],
    )
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))] = Field(
        description="The events to be told about (docs/history.md lists them)."
    )
    services: (
        Annotated[
            list[Annotated[str, StringConstraints(pattern=SERVICE_ID_PATTERN, max_length=255)]],
            Field(min_length=1, max_length=SERVICE_FILTER_MAX),
        ]
        | None
    ) = Field(
        default=None,
        description="Only changes of these services, of edges from or to them, and of "
        "cycles through them; none: every service.",
    )
    description: (
        Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL_PATTERN)] | None
    ) = None


class WebhookOut(BaseModel):
    """A subscription as stored: never its secret."""

    id: str
    url: str
    event_types: list[EventType]
    services: list[str] | None
    description: str | None
    status: str = Field(
        description="`active`, or `failing` once a message failed for the whole retry "
        "window: its later messages wait until a redelivery."
    )
    created_at: datetime
    created_by: str | None = Field(description="The API key that made it.")
    failing_since: datetime | None
    read_through_revision: int = Field(
        description="The change log is read up to this graph revision: the messages of "
        "revisions up to it are in the delivery log. It starts at the revision current "
        "when the subscription was made."
    )

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookOut:
        return cls(
            id=webhook.id,
            url=webhook.url,
            event_types=webhook.event_types,
            services=webhook.services,
            description=webhook.description,
            status=webhook.status,
            created_at=webhook.created_at,
            created_by=webhook.created_by,
            failing_since=webhook.failing_since,
            read_through_revision=webhook.cursor_revision,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (`whsec_` and base64): shown this once, never again."
    )


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: EventType
    revision: int
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="For a pending message.")
    delivered_at: datetime | None
    response_status: int | None = Field(description="The last attempt's HTTP status.")
    last_error: str | None = Field(description="Why the last attempt failed, if it did.")
    payload: dict[str, object] = Field(description="The body sent (its `data` may be long).")

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        pending = delivery.status == DeliveryStatus.PENDING
        return cls(
            message_id=delivery.message_id,
            event_type=EventType(delivery.event_type),
            revision=delivery.revision,
            status=DeliveryStatus(delivery.status),
            attempts=delivery.attempts,
            created_at=delivery.created_at,
            last_attempt_at=delivery.last_attempt_at,
            next_attempt_at=delivery.next_attempt_at if pending else None,
            delivered_at=delivery.delivered_at,
            response_status=delivery.response_status,
            last_error=delivery.last_error,
            payload=orjson.loads(delivery.payload),
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass back as `cursor` for older messages.")
