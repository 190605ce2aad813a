"""The Alembic migrations run unchanged on both engines, down and up again."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from slo_engine.infra.db import Database
from slo_engine.infra.migrate import upgrade_database
from slo_engine.settings import Settings


def _tables(database_url: str) -> set[str]:
    async def read() -> set[str]:
        database = Database.from_settings(Settings(database_url=database_url))
        try:
            async with database.engine.connect() as connection:
                names = await connection.run_sync(lambda c: inspect(c).get_table_names())
        finally:
            await database.dispose()
        return set(names)

    return asyncio.run(read())


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    expected = {"services", "service_dependencies", "graph_state", "circular_dependency_alerts"}
    assert expected <= _tables(database_url)
    upgrade_database(database_url, "head")  # idempotent
    from alembic import command

    from slo_engine.infra.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "base")
    assert not (expected & _tables(database_url))
    upgrade_database(database_url)
    assert expected <= _tables(database_url)
