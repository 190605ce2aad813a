"""Tables of the webhooks: the subscriptions, and one row per message to deliver (the
delivery log). Rows never leave webhooks/repository.py."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from slo_engine.infra.columns import UtcDateTime, VerbatimJson, metadata

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("event_types", VerbatimJson, nullable=False),  # a list of EventType values
    Column("services", VerbatimJson),  # a list of service ids; null: every service
    Column("description", String(255)),
    # Signing needs the secret itself, so it is stored as it was issued (docs/history.md).
    Column("secret", String(128), nullable=False),
    Column("status", String(16), nullable=False),  # active | failing
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255)),
    Column("failing_since", UtcDateTime),
    # The last graph revision whose messages are in webhook_deliveries: the outbox's
    # read position in the change log.
    Column("cursor_revision", BigInteger, nullable=False),
    # The replica delivering this subscription, until when (webhooks/delivery.py).
    Column("lease_owner", String(255)),
    Column("lease_until", UtcDateTime),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("webhook_id", String(40), ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(40), nullable=False, unique=True),  # `webhook-id`
    Column("revision", BigInteger, nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # the exact body, the same on every attempt
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_attempt_at", UtcDateTime),
    Column("last_attempt_at", UtcDateTime),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Column("response_status", Integer),
    Column("last_error", Text),
    # A revision's message of one type is made once per subscription, whichever replica
    # reads the change log.
    UniqueConstraint("webhook_id", "revision", "event_type", name="uq_webhook_deliveries_event"),
    # A subscription's next message (the oldest pending one); its delivery log, newest
    # first.
    Index("ix_webhook_deliveries_queue", "webhook_id", "status", "seq"),
    Index("ix_webhook_deliveries_log", "webhook_id", "seq"),
)
