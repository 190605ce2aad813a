"""Table of circular-dependency alerts. Rows never leave alerts/repository.py."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text, Uuid

from slo_engine.infra.columns import JsonDocument, UtcDateTime, metadata

circular_dependency_alerts = Table(
    "circular_dependency_alerts",
    metadata,
    Column("id", Uuid, primary_key=True),
    # sha256 of the sorted members: the same component is always the same alert.
    Column("canonical_key", String(64), nullable=False, unique=True),
    Column("members", JsonDocument, nullable=False),
    Column("cycle_path", JsonDocument, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("first_detected_at", UtcDateTime, nullable=False),
    Column("last_detected_at", UtcDateTime, nullable=False),
    Column("acknowledged_by", String(255)),
    Column("acknowledged_at", UtcDateTime),
    Column("resolved_by", String(255)),
    Column("resolved_at", UtcDateTime),
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
