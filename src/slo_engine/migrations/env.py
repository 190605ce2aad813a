"""Alembic environment: runs the same migrations on SQLite and PostgreSQL (async drivers)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from slo_engine.infra.columns import metadata
from slo_engine.infra.db import build_engine
from slo_engine.settings import Settings

config = context.config
# Importing the table modules registers their tables on the shared metadata.
import slo_engine.access.tables  # noqa: E402
import slo_engine.alerts.tables  # noqa: E402
import slo_engine.catalog.alias_tables  # noqa: E402
import slo_engine.catalog.tables  # noqa: E402
import slo_engine.discovery.tables  # noqa: E402
import slo_engine.jobs.tables  # noqa: E402
import slo_engine.webhooks.tables  # noqa: E402,F401


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    # The migrations are what makes a new SQLite database.
    engine = build_engine(Settings(database_url=url), create=True)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
