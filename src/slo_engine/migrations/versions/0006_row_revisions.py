"""Each service and dependency report row records the graph revision that last wrote it.

The live graph of every process (live/graph.py) catches up with a write made by
another process by reading only the rows whose revision is newer than the one it has
applied, instead of reloading the whole graph. Rows written before this migration carry
revision 0: a process loads them with the whole graph when it starts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TABLES = ("services", "service_dependencies")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0")
            )
        op.create_index(f"ix_{table}_revision", table, ["revision"])


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_revision", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("revision")
