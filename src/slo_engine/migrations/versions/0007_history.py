"""The graph's history: the change log (`graph_changes`) and the time of each graph
revision (`graph_revisions`).

The graph already stored becomes the history's first state: one `service.created` and
one `edge.reported` entry per stored row, at the current revision and the time of this
migration, by the actor `migration`. "As of" a time before that is answered 410 (the
history begins here).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ACTOR = "migration"
_BATCH = 5_000


def _time(value: Any) -> str | None:
    """A stored timestamp as the change log's states write it (ISO 8601, UTC)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return str(parsed.astimezone(UTC).isoformat())


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    changes = op.create_table(
        "graph_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_type", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("target_id", sa.String(255)),
        sa.Column("discovery_source", sa.String(32)),
        sa.Column("actor", sa.String(255)),
        sa.Column("state", sa.JSON()),
        sa.Column("previous", sa.JSON()),
        sa.Column("valid_to", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_graph_changes"),
    )
    op.create_index("ix_graph_changes_revision", "graph_changes", ["revision"])
    op.create_index("ix_graph_changes_service_id", "graph_changes", ["service_id"])
    op.create_index("ix_graph_changes_target_id", "graph_changes", ["target_id"])
    op.create_index(
        "ix_graph_changes_current",
        "graph_changes",
        ["kind", "service_id", "target_id", "discovery_source"],
        postgresql_where=sa.text("valid_to IS NULL"),
        sqlite_where=sa.text("valid_to IS NULL"),
    )
    op.create_index("ix_graph_changes_valid_to", "graph_changes", ["valid_to"])
    revisions = op.create_table(
        "graph_revisions",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(255)),
        sa.PrimaryKeyConstraint("revision", name="pk_graph_revisions"),
    )
    op.create_index("ix_graph_revisions_committed_at", "graph_revisions", ["committed_at"])
    _seed(changes, revisions)


def _seed(changes: sa.Table, revisions: sa.Table) -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # how UtcDateTime stores it on SQLite
    current = bind.execute(sa.text("SELECT revision FROM graph_state WHERE id = 1")).scalar()
    current = int(current or 0)
    op.bulk_insert(revisions, [{"revision": current, "committed_at": now, "actor": _ACTOR}])
    entry = {"revision": current, "changed_at": now, "actor": _ACTOR, "previous": None}
    names: dict[Any, str] = {}
    batch: list[dict[str, Any]] = []
    for row in bind.execute(
        sa.text(
            "SELECT id, service_id, display_name, team, criticality, metadata, discovered, "
            "created_at, updated_at FROM services ORDER BY service_id"
        )
    ).mappings():
        names[row["id"]] = row["service_id"]
        state = {
            "display_name": row["display_name"],
            "team": row["team"],
            "criticality": row["criticality"],
            "metadata": _json(row["metadata"]) or {},
            "discovered": bool(row["discovered"]),
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
        }
        batch.append(
            {
                **entry,
                "change_type": "service.created",
                "kind": "service",
                "service_id": row["service_id"],
                "target_id": None,
                "discovery_source": None,
                "state": state,
                "valid_to": None,
            }
        )
        if len(batch) >= _BATCH:
            op.bulk_insert(changes, batch)
            batch = []
    for row in bind.execute(
        sa.text(
            "SELECT source_service_id, target_service_id, discovery_source, "
            "communication_mode, criticality, protocol, timeout_ms, retry_config, "
            "confidence_score, request_rate, error_rate, latency_p95_ms, is_stale, "
            "last_observed_at FROM service_dependencies"
        )
    ).mappings():
        state = {
            name: row[name]
            for name in (
                "communication_mode",
                "criticality",
                "protocol",
                "timeout_ms",
                "confidence_score",
                "request_rate",
                "error_rate",
                "latency_p95_ms",
            )
        }
        state["retry_config"] = _json(row["retry_config"])
        state["is_stale"] = bool(row["is_stale"])
        state["last_observed_at"] = _time(row["last_observed_at"])
        batch.append(
            {
                **entry,
                "change_type": "edge.reported",
                "kind": "edge",
                "service_id": names[row["source_service_id"]],
                "target_id": names[row["target_service_id"]],
                "discovery_source": row["discovery_source"],
                "state": state,
                "valid_to": None,
            }
        )
        if len(batch) >= _BATCH:
            op.bulk_insert(changes, batch)
            batch = []
    if batch:
        op.bulk_insert(changes, batch)


def downgrade() -> None:
    op.drop_index("ix_graph_revisions_committed_at", table_name="graph_revisions")
    op.drop_table("graph_revisions")
    for name in ("valid_to", "current", "target_id", "service_id", "revision"):
        op.drop_index(f"ix_graph_changes_{name}", table_name="graph_changes")
    op.drop_table("graph_changes")
