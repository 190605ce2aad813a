"""Tables of discovery: each source's health, and the run slots of scheduled jobs.
Rows never leave discovery/repository.py."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from slo_engine.infra.columns import UtcDateTime, metadata

# One row per source that ever ran: the last outcome, kept across restarts and shared
# by every replica.
discovery_source_status = Table(
    "discovery_source_status",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_attempt_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_nodes", Integer),
    Column("last_edges", Integer),
)
