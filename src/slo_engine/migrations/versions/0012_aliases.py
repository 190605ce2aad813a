"""Aliases: the names sources report, mapped to canonical service ids.

* `service_dependencies.source_reported_as` / `target_reported_as`: how the source
  named an end an alias renamed (NULL: the id itself), so that a merge can be undone.
* `aliases`: exact aliases and rules, from the API or the aliases file.
* `alias_shadows`: reports and services a merge set aside, for its undoing.
* `alias_file_state`: the aliases file synced last (no replica syncs an older one).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("service_dependencies", sa.Column("source_reported_as", sa.String(255)))
    op.add_column("service_dependencies", sa.Column("target_reported_as", sa.String(255)))
    op.create_table(
        "aliases",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("alias", sa.String(255)),
        sa.Column("service_id", sa.String(255)),
        sa.Column("pattern", sa.String(1024)),
        sa.Column("replacement", sa.String(255)),
        sa.Column("discovery_source", sa.String(32)),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(255)),
    )
    op.create_table(
        "alias_shadows",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("thing", sa.String(16), nullable=False),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("target_id", sa.String(255)),
        sa.Column("discovery_source", sa.String(32)),
        sa.Column("copied_as", sa.String(255)),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alias_shadows_service_id", "alias_shadows", ["service_id"])
    op.create_table(
        "alias_file_state",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("alias_file_state")
    op.drop_index("ix_alias_shadows_service_id", table_name="alias_shadows")
    op.drop_table("alias_shadows")
    op.drop_table("aliases")
    with op.batch_alter_table("service_dependencies") as batch:
        batch.drop_column("target_reported_as")
        batch.drop_column("source_reported_as")
