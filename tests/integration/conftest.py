"""Integration fixtures: a `Database` on each real engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from slo_engine.infra.db import Database
from slo_engine.settings import Settings


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.from_settings(Settings(database_url=database_url))
    try:
        yield db
    finally:
        await db.dispose()
