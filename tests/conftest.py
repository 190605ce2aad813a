"""Real databases for the integration and end-to-end suites.

`database_url` is parametrised over the engines: SQLite always, PostgreSQL when
SLO_ENGINE_TEST_POSTGRES_URL names a server to use (CI sets it; then a server that does
not answer is a failure, never a skip). Each test session gets its own fresh PostgreSQL
database, created here and dropped at the end; each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from slo_engine.infra.migrate import upgrade_database

# A real Prometheus server for the discovery tests (fixture `prometheus_url`), and the
# system Chromium for the page tests.
pytest_plugins = [
    "tests.integration.prometheus_fixture",
    "tests.browser",  # the system Chromium for page tests (fixtures `browser`, `artifacts_dir`)
]

POSTGRES_ENV = "SLO_ENGINE_TEST_POSTGRES_URL"
REDIS_ENV = "SLO_ENGINE_TEST_REDIS_URL"


def server_off(variable: str, what: str) -> None:
    """Skip a suite whose server is not configured, except in CI, where that fails."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} tests must run in CI: set {variable} (.ci/run does)")
    pytest.skip(f"{what} tests are off: set {variable} (CI does)")


ENGINES = ["sqlite", "postgresql"]
TABLES = (
    "alias_file_state",
    "alias_shadows",
    "aliases",
    "api_keys",
    "circular_dependency_alerts",
    "discovery_source_status",
    "graph_changes",
    "graph_revisions",
    "job_runs",
    "service_dependencies",
    "services",
    "webhook_deliveries",
    "webhooks",
)


def _admin_dsn(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


async def _pg_execute(dsn: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        server_off(POSTGRES_ENV, "PostgreSQL")
    name = f"slo_test_{uuid.uuid4().hex[:12]}"
    admin_dsn = _admin_dsn(admin_url)
    asyncio.run(_pg_execute(admin_dsn, f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        asyncio.run(_pg_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


def _empty_postgres(url: str) -> None:
    dsn = _admin_dsn(url)
    asyncio.run(
        _pg_execute(
            dsn,
            f"TRUNCATE {', '.join(TABLES)} CASCADE",
            "UPDATE graph_state SET revision = 0 WHERE id = 1",
            # As a fresh migration leaves it: the history begins at revision 0, now.
            "INSERT INTO graph_revisions (revision, committed_at, actor) "
            "VALUES (0, now(), 'migration')",
            # A new graph: cached answers of the previous test's graph must not match.
            "UPDATE graph_identity SET epoch = gen_random_uuid()::text WHERE id = 1",
        )
    )


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database of each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "slo_engine.db"
        shutil.copyfile(template, path)
        with closing(sqlite3.connect(path)) as connection, connection:
            # Each copy is a new graph: answers cached for another copy must not match.
            connection.execute(
                "UPDATE graph_identity SET epoch = ? WHERE id = 1", (str(uuid.uuid4()),)
            )
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A real Redis server (SLO_ENGINE_TEST_REDIS_URL); one that does not answer fails."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        server_off(REDIS_ENV, "Redis")
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return url
