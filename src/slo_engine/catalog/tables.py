"""Tables of the catalog: services, their dependencies (one row per discovery source),
the graph revision counter, and the graph's history (the change log and the time of
each revision). Rows never leave catalog/repository.py and catalog/change_log.py."""

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
    text,
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
    # graph.model.NodeKind; NULL is a service (migration 0011).
    Column("kind", String(16), index=True),
    # A node entry gave the kind: observations no longer change it.
    Column("kind_declared", Boolean, nullable=False, server_default=text("false")),
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
    # The names the source gave the ends where an alias renamed them (NULL: the id).
    Column("source_reported_as", String(255)),
    Column("target_reported_as", String(255)),
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

# The change log: one row per change of the stored graph, written in the transaction
# that makes it (catalog/change_log.py; the entries are graph/change_log.py's). Append
# only, except `valid_to`. The rows of edges and services hold the thing's whole state
# after the change and are valid from `revision` until `valid_to` (exclusive; NULL while
# current): the graph at revision r is the states valid at r, one indexed read, never a
# replay. Other rows (retractions, deletions, cycles) are events: `valid_to` is their
# own revision, so they are never current.
graph_changes = Table(
    "graph_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("revision", BigInteger, nullable=False, index=True),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("change_type", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("service_id", String(255), nullable=False),
    Column("target_id", String(255), index=True),
    Column("discovery_source", String(32)),
    Column("actor", String(255)),
    Column("state", VerbatimJson),
    Column("previous", VerbatimJson),
    Column("valid_to", BigInteger),
    # Each thing's entries by its key, the current one (`valid_to` NULL) last: a write
    # replacing a state finds it with one seek of the whole key, and the feed's
    # `service=` filter reads the leading column (with `target_id`'s index for the other
    # end). One index for both: a write of 250,000 reports inserts into each index once
    # per entry (docs/history.md, "Performance").
    Index(
        "ix_graph_changes_key",
        "service_id",
        "target_id",
        "discovery_source",
        "kind",
        "valid_to",
    ),
    # The states that ended in a range of revisions (a diff's "before"), and what pruning
    # deletes: both are read by a range of `valid_to`, so only ended entries are indexed
    # (most are current when written, and a write pays nothing for them here).
    Index(
        "ix_graph_changes_valid_to",
        "valid_to",
        postgresql_where=text("valid_to IS NOT NULL"),
        sqlite_where=text("valid_to IS NOT NULL"),
    ),
)

# When each graph revision was committed, and by whom: how a time ("as of") becomes a
# revision. The oldest row kept is where the history answerable begins.
graph_revisions = Table(
    "graph_revisions",
    metadata,
    Column("revision", BigInteger, primary_key=True, autoincrement=False),
    Column("committed_at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(255)),
)
