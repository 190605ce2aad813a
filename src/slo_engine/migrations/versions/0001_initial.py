"""Initial schema: services, service_dependencies, graph_state, circular_dependency_alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(255)),
        sa.Column("team", sa.String(255)),
        sa.Column("criticality", sa.String(16)),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("discovered", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
        sa.UniqueConstraint("service_id", name="uq_services_service_id"),
    )
    op.create_index("ix_services_team", "services", ["team"])
    op.create_index("ix_services_criticality", "services", ["criticality"])

    op.create_table(
        "service_dependencies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_service_id", sa.Uuid(), nullable=False),
        sa.Column("target_service_id", sa.Uuid(), nullable=False),
        sa.Column("discovery_source", sa.String(32), nullable=False),
        sa.Column("communication_mode", sa.String(16)),
        sa.Column("criticality", sa.String(16)),
        sa.Column("protocol", sa.String(64)),
        sa.Column("timeout_ms", sa.Integer()),
        sa.Column("retry_config", JSON_DOCUMENT),
        sa.Column("confidence_score", sa.Float(), nullable=False),
        sa.Column("request_rate", sa.Float()),
        sa.Column("error_rate", sa.Float()),
        sa.Column("latency_p95_ms", sa.Float()),
        sa.Column("first_observed_at", TIMESTAMP, nullable=False),
        sa.Column("last_observed_at", TIMESTAMP, nullable=False),
        sa.Column("is_stale", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_service_dependencies"),
        sa.ForeignKeyConstraint(
            ["source_service_id"],
            ["services.id"],
            name="fk_service_dependencies_source_service_id_services",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_service_id"],
            ["services.id"],
            name="fk_service_dependencies_target_service_id_services",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "source_service_id",
            "target_service_id",
            "discovery_source",
            name="uq_service_dependencies_edge",
        ),
    )
    op.create_index(
        "ix_service_dependencies_target_service_id", "service_dependencies", ["target_service_id"]
    )
    op.create_index(
        "ix_service_dependencies_is_stale_last_observed_at",
        "service_dependencies",
        ["is_stale", "last_observed_at"],
    )

    graph_state = op.create_table(
        "graph_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_graph_state"),
    )
    op.bulk_insert(graph_state, [{"id": 1, "revision": 0}])

    op.create_table(
        "circular_dependency_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("canonical_key", sa.String(64), nullable=False),
        sa.Column("members", JSON_DOCUMENT, nullable=False),
        sa.Column("cycle_path", JSON_DOCUMENT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_detected_at", TIMESTAMP, nullable=False),
        sa.Column("last_detected_at", TIMESTAMP, nullable=False),
        sa.Column("acknowledged_by", sa.String(255)),
        sa.Column("acknowledged_at", TIMESTAMP),
        sa.Column("resolved_by", sa.String(255)),
        sa.Column("resolved_at", TIMESTAMP),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_circular_dependency_alerts"),
        sa.UniqueConstraint("canonical_key", name="uq_circular_dependency_alerts_canonical_key"),
    )
    op.create_index(
        "ix_circular_dependency_alerts_status", "circular_dependency_alerts", ["status"]
    )


def downgrade() -> None:
    op.drop_table("circular_dependency_alerts")
    op.drop_table("graph_state")
    op.drop_table("service_dependencies")
    op.drop_table("services")
