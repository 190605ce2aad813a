"""Which failures the database's health records as an outage: a dropped connection is
not one until a fresh connection fails too."""

import errno

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import create_async_engine

from slo_engine.errors import DatabaseUnavailableError
from slo_engine.infra.db import Database


def dropped() -> sa_exc.DBAPIError:
    """What SQLAlchemy raises when the server ended the session under a statement."""
    return sa_exc.DBAPIError(
        "COMMIT", {}, ConnectionResetError(errno.ECONNRESET, "reset"), connection_invalidated=True
    )


def refused() -> ConnectionRefusedError:
    return ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


@pytest.fixture
def database() -> Database:
    return Database(create_async_engine("sqlite+aiosqlite://"))


@pytest.mark.parametrize("committing", [False, True])
def test_a_dropped_connection_is_not_yet_an_outage(database: Database, committing: bool) -> None:
    with pytest.raises(DatabaseUnavailableError) as raised:
        database._raise_translated(dropped(), committing=committing)
    assert database.health.available
    # Before the commit the unit of work may run again; during it the outcome is unknown.
    assert raised.value.retry_safe is not committing
    assert raised.value.outcome_unknown is committing


def test_a_refused_connection_is_an_outage(database: Database) -> None:
    with pytest.raises(DatabaseUnavailableError):
        database._raise_translated(refused(), committing=False)
    assert not database.health.available


async def test_a_retry_that_fails_too_records_the_outage(database: Database) -> None:
    calls = 0

    async def dropped_twice(_session: object) -> None:
        nonlocal calls
        calls += 1
        raise dropped()

    with pytest.raises(DatabaseUnavailableError):
        await database.read(dropped_twice)
    assert calls == 2
    assert not database.health.available
    await database.dispose()


async def test_a_retry_that_succeeds_records_nothing(database: Database) -> None:
    calls = 0

    async def dropped_once(_session: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise dropped()
        return "answered"

    assert await database.read(dropped_once) == "answered"
    assert database.health.available
    await database.dispose()


def test_a_driver_left_mid_operation_by_a_terminated_session_is_a_lost_connection(
    database: Database,
) -> None:
    """What the session-termination drill met on a raw-driver COPY: a 503 that may run
    again on a fresh connection, not a 500."""
    broken = asyncpg.exceptions.InternalClientError(
        "cannot switch to state 11; another operation (2) is in progress"
    )
    with pytest.raises(DatabaseUnavailableError) as raised:
        database._raise_translated(broken, committing=False)
    assert raised.value.retry_safe
