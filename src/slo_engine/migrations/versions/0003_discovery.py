"""Discovery: source health and job run slots.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "discovery_source_status",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("last_attempt_at", TIMESTAMP),
        sa.Column("last_success_at", TIMESTAMP),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_at", TIMESTAMP),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_nodes", sa.Integer()),
        sa.Column("last_edges", sa.Integer()),
        sa.PrimaryKeyConstraint("name", name="pk_discovery_source_status"),
    )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("slot", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.Column("outcome", sa.String(16)),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("job", "slot", name="pk_job_runs"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("discovery_source_status")
