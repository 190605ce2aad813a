"""Tables of the catalog: services, their dependencies (one row per discovery source),
and the graph revision counter. Rows never leave catalog/repository.py."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)

from slo_engine.infra.columns import UtcDateTime, VerbatimJson, metadata

services = Table(
    "services",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("service_id", String(255), nullable=False, unique=True),
    Column("display_name", String(255)),
    Column("team", String(255), index=True),
    Column("criticality", String(16), index=True),
    Column("metadata", VerbatimJson, nullable=False),
    Column("discovered", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The graph revision that last wrote the row: what another process's live graph
    # reads to catch up with a write (live/graph.py).
    Column("revision", BigInteger, nullable=False, server_default="0", index=True),
)

service_dependencies = Table(
    "service_dependencies",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column(
        "source_service_id",
        Uuid,
        ForeignKey("services.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "target_service_id",
        Uuid,
        ForeignKey("services.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("discovery_source", String(32), nullable=False),
    Column("communication_mode", String(16)),
    Column("criticality", String(16)),
    Column("protocol", String(64)),
    Column("timeout_ms", Integer),
    Column("retry_config", VerbatimJson),
    Column("confidence_score", Float, nullable=False),
    Column("request_rate", Float),
    Column("error_rate", Float),
    Column("latency_p95_ms", Float),
    Column("first_observed_at", UtcDateTime, nullable=False),
    Column("last_observed_at", UtcDateTime, nullable=False),
    Column("is_stale", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("revision", BigInteger, nullable=False, server_default="0", index=True),
    # Also the downstream index: its leading column is the caller.
    UniqueConstraint(
        "source_service_id",
        "target_service_id",
        "discovery_source",
        name="uq_service_dependencies_edge",
    ),
    # Upstream walks look edges up by callee.
    Index("ix_service_dependencies_target_service_id", "target_service_id"),
    Index("ix_service_dependencies_is_stale_last_observed_at", "is_stale", "last_observed_at"),
)

# Revision counters, one per row.
# Row 1, the graph: every write to the graph bumps it in its own transaction, which
# (a) serialises graph writers, so cycle detection sees every committed edge, and
# (b) tells each process's in-memory snapshot whether it is current.
# Row 2, the API keys: every key change bumps it, which tells each process's key cache
# whether it is current (access/service.py). A row of its own, so that a key change
# never waits for a long ingestion's row lock.
GRAPH_REVISION_ROW = 1
ACCESS_REVISION_ROW = 2
graph_state = Table(
    "graph_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("revision", BigInteger, nullable=False),
)

# One row, id 1: a random epoch, made with the database, that names this graph. Cached
# answers are keyed by (epoch, revision): two databases sharing one Redis, or one that
# was emptied and started again from revision 0, never read each other's answers.
graph_identity = Table(
    "graph_identity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", String(36), nullable=False),
)
