"""The change log's `valid_to` index holds only the entries that ended.

Every read of it asks for ended entries (a range of `valid_to`, which implies it is
set: the diff's "before", the prune), while most entries are current (`valid_to` NULL)
when written: a write of 250,000 reports paid one index insertion per entry for keys
no read looks up (docs/history.md, "Performance").

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ENDED = sa.text("valid_to IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_graph_changes_valid_to", table_name="graph_changes")
    op.create_index(
        "ix_graph_changes_valid_to",
        "graph_changes",
        ["valid_to"],
        postgresql_where=_ENDED,
        sqlite_where=_ENDED,
    )


def downgrade() -> None:
    op.drop_index("ix_graph_changes_valid_to", table_name="graph_changes")
    op.create_index("ix_graph_changes_valid_to", "graph_changes", ["valid_to"])
