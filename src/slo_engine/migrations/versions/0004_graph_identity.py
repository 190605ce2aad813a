"""Graph identity: a random epoch naming this database's graph (answer-cache keys).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    identity = op.create_table(
        "graph_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_graph_identity"),
    )
    op.bulk_insert(identity, [{"id": 1, "epoch": str(uuid.uuid4())}])


def downgrade() -> None:
    op.drop_table("graph_identity")
