"""Node kinds: what each node of the graph is (service, database, messaging, external,
virtual), in `services.kind`, and whether a node entry declared it
(`services.kind_declared`: then what sources observe no longer changes it).

NULL means "service": a new column on a table of any size is then a catalog change
only (no rewrite on PostgreSQL, a constant default on SQLite), and a declaration that
leaves the kind out keeps the stored one with the same COALESCE as the other declared
fields (catalog/bulk.py). Indexed for the `kind=` filters.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("services", sa.Column("kind", sa.String(16), nullable=True))
    op.add_column(
        "services",
        sa.Column("kind_declared", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_services_kind", "services", ["kind"])


def downgrade() -> None:
    op.drop_index("ix_services_kind", table_name="services")
    with op.batch_alter_table("services") as batch:
        batch.drop_column("kind_declared")
        batch.drop_column("kind")
