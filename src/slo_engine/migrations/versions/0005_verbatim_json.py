"""Free-form JSON kept verbatim on PostgreSQL: metadata and retry_config become `json`.

`jsonb` normalises what it stores: numbers become `numeric`, so the float 1e16 read
back as the integer 10000000000000000 and 1e300 as an integer that is no longer the float
sent, and keys are reordered. `json` keeps the text as written, so what a client sent
reads back as it was, as on SQLite (docs/reliability.md). Nothing queries inside these
documents, so jsonb's indexing was never used. SQLite stores JSON as text either way.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = (("services", "metadata"), ("service_dependencies", "retry_config"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE json USING {column}::json")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")
