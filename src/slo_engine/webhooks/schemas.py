"""Request and response bodies of the webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.graph.model import SERVICE_ID_PATTERN
from slo_engine.infra.storable import NO_NUL_PATTERN, STRICT_BODY
from slo_engine.webhooks.events import EventType
from slo_engine.webhooks.repository import Delivery, DeliveryStatus, Webhook

# Long enough for any real endpoint; a longer URL is refused (422).
URL_MAX_LENGTH = 2048
SERVICE_FILTER_MAX = 1_000

_WEBHOOK_EXAMPLE: dict[str, Any] = {
    "id": "wh_5b0e7a6f3c2d4e1f8a9b0c1d2e3f4a5b",
    "url": "https://hooks.example.com/slo-engine",
    "event_types": ["edge.removed", "cycle.opened"],
    "services": ["checkoutservice"],
    "description": "checkout team's dependency alerts",
    "status": "active",
    "created_at": "2026-11-26T10:00:00Z",
    "created_by": "platform-admin",
    "failing_since": None,
    "read_through_revision": 57,
}
_DELIVERY_EXAMPLE: dict[str, Any] = {
    "message_id": "msg_9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
    "event_type": "edge.removed",
    "revision": 58,
    "status": "failed",
    "attempts": 14,
    "created_at": "2026-11-26T10:15:02Z",
    "last_attempt_at": "2026-11-27T10:16:40Z",
    "next_attempt_at": None,
    "delivered_at": None,
    "response_status": 502,
    "last_error": "Bad Gateway",
    "payload": {
        "type": "edge.removed",
        "timestamp": "2026-11-26T10:15:02.113+00:00",
        "data": {
            "revision": 58,
            "actor": "backstage-sync",
            "count": 1,
            "truncated": False,
            "items": [
                {
                    "source": "checkoutservice",
                    "target": "emailservice",
                    "discovery_source": "backstage",
                }
            ],
        },
    },
}


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        **STRICT_BODY,
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/slo-engine",
                    "event_types": ["edge.removed", "cycle.opened"],
                    "services": ["checkoutservice"],
                    "description": "checkout team's dependency alerts",
                }
            ]
        },
    )

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
    ) = Field(
        default=None,
        description="A note for the people who read the subscription list (at most 255 "
        "characters); not sent to the receiver.",
    )


class WebhookOut(BaseModel):
    """A subscription as stored: never its secret."""

    model_config = ConfigDict(json_schema_extra={"examples": [_WEBHOOK_EXAMPLE]})

    id: str = Field(description="The subscription's id (`wh_` and 32 hex digits).")
    url: str = Field(description="Where messages are POSTed.")
    event_types: list[EventType] = Field(description="The events it is told about.")
    services: list[str] | None = Field(
        description="Only changes of these services (and of their edges and cycles); null: "
        "every service."
    )
    description: str | None = Field(description="The note given when it was made.")
    status: str = Field(
        description="`active`, or `failing` once a message failed for the whole retry "
        "window: its later messages wait until a redelivery."
    )
    created_at: datetime = Field(description="When it was made.")
    created_by: str | None = Field(description="The API key that made it.")
    failing_since: datetime | None = Field(
        description="When a message gave up, making it `failing`; null while active."
    )
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
    # Its own example: the inherited one lacks the secret this shape requires.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_WEBHOOK_EXAMPLE, "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD+ZsVtHz2pZM="}
            ]
        }
    )

    secret: str = Field(
        description="The signing secret (`whsec_` and base64): shown this once, never again."
    )


class WebhookList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_WEBHOOK_EXAMPLE]}]})

    items: list[WebhookOut] = Field(description="Every subscription, oldest first.")


class DeliveryOut(BaseModel):
    message_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: EventType = Field(description="The message's event type.")
    revision: int = Field(description="The graph revision whose changes it tells.")
    status: DeliveryStatus = Field(
        description="`pending` (to be sent or retried), `delivered` (the receiver answered "
        "2xx) or `failed` (retried for WEBHOOK_RETRY_HOURS, given up until a redelivery)."
    )
    attempts: int = Field(description="Attempts so far.")
    created_at: datetime = Field(description="When the message was made.")
    last_attempt_at: datetime | None = Field(
        description="When it was last sent; null before the first attempt."
    )
    next_attempt_at: datetime | None = Field(description="For a pending message.")
    delivered_at: datetime | None = Field(description="When the receiver accepted it.")
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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_DELIVERY_EXAMPLE], "next_cursor": None}]}
    )

    items: list[DeliveryOut] = Field(description="The messages of this page, newest first.")
    next_cursor: str | None = Field(description="Pass back as `cursor` for older messages.")
