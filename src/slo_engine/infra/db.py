"""Database engine, sessions and the one place that commits.

`Database` is built in `create_app` (or by the CLI) from settings; nothing here runs at
import time. A unit of work is `Database.transaction(work)` (or the `session_scope()`
block under it): it commits when the work ends normally, rolls back otherwise, and only
after a successful commit runs the callbacks registered with `after_commit` (the
read-side cache uses them to apply the rows a write stored).

When the database is away (infra/db_outage.py) the unit of work raises
`DatabaseUnavailableError`, a 503 with Retry-After, and nothing of it was stored. A
connection that dropped under the work before its commit was sent is retried once on a
fresh one (`transaction`, `statement`): a server that terminated its sessions costs
the client nothing. A connection lost while the commit was under way is never retried:
the outcome is unknown, and the 503 says so.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import quote

from fastapi import Depends
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from slo_engine.errors import DatabaseMissingError, DatabaseUnavailableError
from slo_engine.infra.components import AppComponent
from slo_engine.infra.db_outage import DatabaseHealth, outage_of
from slo_engine.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

_AFTER_COMMIT_KEY = "slo_engine.after_commit"
# What a 503 for an unavailable database asks clients to wait before trying again.
RETRY_AFTER_SECONDS = 5


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(callback)


# The most page cache each SQLite connection keeps (KiB).
SQLITE_CACHE_KIB = 64 * 1024

# The execution option a writing unit of work sets on SQLite (see `_on_begin`).
_SQLITE_WRITE_OPTION = "slo_engine_writes"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin, so
        # reads are consistent and SAVEPOINT works (the documented pysqlite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # SQLite's default page cache (2 MiB) is far smaller than the indexes one large
        # write touches: a write of 250,000 reports spilled and re-read index pages, and
        # took about a third longer with it (docs/performance.md). Pages are allocated as
        # used, so a connection that never writes much never holds this much.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A unit of work that writes takes SQLite's write lock when it begins (IMMEDIATE,
        # waiting up to busy_timeout for another writer). A deferred transaction that read
        # first fails at once with "database is locked" when another connection wrote
        # meanwhile (its snapshot is stale, and no wait can fix that): a client's 503.
        immediate = connection.get_execution_options().get(_SQLITE_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # already a URI filename: its own mode applies
    return Path(database)


def build_engine(settings: Settings, *, create: bool = False) -> AsyncEngine:
    """The engine of DATABASE_URL. `create`: a missing SQLite file may be created (the
    migrations only)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"timeout": 30}
        path = sqlite_file(url)
        if path is not None and not create:
            if not path.exists():
                raise DatabaseMissingError(str(path.resolve()))
            # Opened read-write, never created: a mistyped DATABASE_URL, or a command run
            # from another directory, must not leave an empty database behind that then
            # answers "no such table". Only `slo-cli db upgrade` creates one.
            # (SQLAlchemy's URI form: the `uri` flag and SQLite's own `mode` parameter.)
            url = url.set(
                database=f"file:{quote(str(path.resolve()))}",
                query={**url.query, "mode": "rw", "uri": "true"},
            )
        engine = create_async_engine(url, connect_args=connect_args)
        _configure_sqlite(engine)
        return engine
    timeout_ms = int(settings.db_statement_timeout_seconds * 1000)
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        # A pool checkout waits at most this long for a free connection, and a new
        # connection is given up after it: an unreachable server costs a request a
        # bounded wait and a 503, not asyncpg's default minute.
        pool_timeout=settings.db_connect_timeout_seconds,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "server_settings": {"statement_timeout": str(timeout_ms)},
        },
    )


class Database:
    """An engine, its session factory, and whether the database answered last time."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self.health = DatabaseHealth()
        # Same pool, no transaction: a single statement costs one round trip. Not on
        # SQLite: there it is in process anyway, and resetting pysqlite's isolation level
        # on return to the pool would undo the BEGIN recipe below.
        self._single_statement_engine = (
            engine
            if engine.dialect.name == "sqlite"
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(build_engine(settings))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session_scope(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any exception; an outage
        becomes `DatabaseUnavailableError`. Not retried: see `transaction`.

        `read_only`: the work only reads, so it ends with a rollback, not a commit: there
        is nothing to lose, and a connection lost at the end costs nothing.
        """
        committing = False
        try:
            async with self.sessions() as session:
                try:
                    if not read_only and self.dialect == "sqlite":
                        await session.connection(execution_options={_SQLITE_WRITE_OPTION: True})
                    yield session
                    if read_only:
                        await _rolled_back(session)
                    else:
                        committing = True
                        await session.commit()
                except BaseException:
                    await _rolled_back(session)
                    raise
        except Exception as error:
            self._raise_translated(error, committing=committing)
        self.health.answered()
        for callback in session.info.pop(_AFTER_COMMIT_KEY, []):
            callback()

    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` in one transaction (`session_scope`), run again once on a fresh
        connection when its connection dropped before the commit was sent."""
        return await _retried_once(self, self.session_scope, work)

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` that only reads, in one transaction that is rolled back at the end,
        run again once on a fresh connection when its connection dropped."""
        return await _retried_once(self, lambda: self.session_scope(read_only=True), work)

    async def consistent_read(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`read`, every statement of it seeing one and the same committed state: on
        PostgreSQL a read-only REPEATABLE READ transaction (READ COMMITTED gives each
        statement its own view); SQLite's transactions in WAL mode already do."""

        async def on_one_snapshot(session: AsyncSession) -> T:
            if self.dialect == "postgresql":
                await session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
            return await work(session)

        return await self.read(on_one_snapshot)

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement that needs no transaction of its own (a
        lookup, an idempotent update); committed when the block ends without error.
        An outage becomes `DatabaseUnavailableError`."""
        committing = False
        try:
            async with self._single_statement_engine.connect() as connection:
                yield connection
                committing = True
                await connection.commit()
        except Exception as error:
            self._raise_translated(error, committing=committing)
        self.health.answered()

    async def statement(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """`work` on a `single_statement` connection, run again once on a fresh one when
        the connection dropped under it."""
        return await _retried_once(self, self.single_statement, work)

    def _raise_translated(self, error: Exception, *, committing: bool) -> NoReturn:
        """Raise `error`, or the `DatabaseUnavailableError` it means."""
        unavailable = self._unavailable(error, committing=committing)
        if unavailable is None:
            raise error
        raise unavailable from error

    def _unavailable(
        self, error: Exception, *, committing: bool
    ) -> DatabaseUnavailableError | None:
        """The `DatabaseUnavailableError` that `error` means (the outage is recorded),
        or None when it is not an outage."""
        if isinstance(error, DatabaseUnavailableError):
            return None  # already translated by an inner unit of work: raised as it is
        outage = outage_of(error)
        if outage is None:
            return None
        retry_safe = not committing and outage.connection_lost
        if not outage.connection_lost and outage.database_down:
            # A dropped connection is not an outage (yet): a session ended by the server
            # or a proxy drops one while the database answers the next. It is recorded
            # when a fresh connection fails too (`_retried_once`, or the next unit of
            # work); a commit cut that way answers 503 to its client either way.
            self.health.failed(outage.cause)
        detail = "The database is unavailable, so nothing was changed; try again shortly."
        if committing:
            detail = (
                "The connection to the database was lost while the change was being "
                "committed: it may or may not have been stored (outcome_unknown). Check "
                "before sending it again; an ingestion sent again changes nothing more."
            )
        return DatabaseUnavailableError(
            detail,
            retry_after_seconds=RETRY_AFTER_SECONDS,
            cause=outage.cause,
            outcome_unknown=committing,
            retry_safe=retry_safe,
            database_down=outage.database_down,
        )

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _retried_once(
    database: Database,
    opened: Callable[[], AbstractAsyncContextManager[R]],
    work: Callable[[R], Awaitable[T]],
) -> T:
    """`work` on what `opened()` gives (a session, a connection), once more on a fresh
    one when the first one's connection dropped before any commit was sent. Failing
    twice in a row is an outage, recorded as one."""
    try:
        async with opened() as resource:
            return await work(resource)
    except DatabaseUnavailableError as error:
        if not error.retry_safe:
            raise
        logger.info("database connection lost before the commit; retrying once")
    try:
        async with opened() as resource:
            return await work(resource)
    except DatabaseUnavailableError as error:
        if error.database_down:
            database.health.failed(error.cause)
        raise


async def _rolled_back(session: AsyncSession) -> None:
    """Roll back; on a connection that is already gone the rollback may fail too, and
    then the error that matters is the one that broke the work, not this one."""
    try:
        await session.rollback()
    except Exception as error:
        logger.debug("rollback after a failure failed too: %s", error)


# The process's database, as a route dependency: `database: DatabaseDep`.
DATABASE: AppComponent[Database] = AppComponent("database")
DatabaseDep = Annotated[Database, Depends(DATABASE)]
