"""When the database is away: which errors say so, and one log line per change of state.

An outage is not a bug: a request that meets one gets a 503 problem with Retry-After
(errors.DatabaseUnavailableError, raised by infra/db.py), and the log says once that the
database went away and once that it came back, with how long it was gone, instead of a
traceback per request.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
from sqlalchemy import exc as sa_exc

logger = logging.getLogger(__name__)

# PostgreSQL errors that mean "not now" rather than "not like this": the server is
# starting or stopping, ended the session, is out of connection slots, or cancelled a
# statement that ran past DB_STATEMENT_TIMEOUT_SECONDS.
_POSTGRES_UNAVAILABLE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InternalClientError,
)
# The session ended under the statement: a fresh connection may well succeed. A
# terminated session can also leave the driver's protocol mid-operation, so the next
# statement on that connection fails in the client ("cannot switch to state ...;
# another operation is in progress", seen in the session-termination fault drill on
# the change log's COPY): the connection is as good as lost.
_POSTGRES_CONNECTION_LOST = (
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InternalClientError,
)
# SQLite's "not now": another writer held the lock past busy_timeout, or the file or
# its disk cannot be used.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
    "attempt to write a readonly database",
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and those it was raised from or while handling (bounded)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen and len(seen) < 16:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


@dataclass(frozen=True, slots=True)
class Outage:
    """What an error says about the database, when it says it is unavailable."""

    cause: str  # for the one log line of an outage
    # The session's connection ended under it (terminated, dropped): one retry on a
    # fresh connection may succeed, where a refused connect would not.
    connection_lost: bool
    # The database itself is away, as opposed to one statement that ran past
    # DB_STATEMENT_TIMEOUT_SECONDS or waited past SQLite's busy timeout: those are 503s
    # too, but the database answers, so they are no outage to log.
    database_down: bool


def outage_of(error: BaseException) -> Outage | None:
    """The outage `error` reports, or None when it reports none (a constraint, a bug:
    those keep their own handling). One walk along the error's chain."""
    cause: str | None = None
    lost = False
    down = True
    for link in _chain(error):
        link_cause = _cause(link)
        if link_cause is None:
            continue
        cause = cause or link_cause
        lost = (
            lost
            or (isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated)
            or isinstance(link, _POSTGRES_CONNECTION_LOST)
        )
        if isinstance(link, asyncpg.exceptions.QueryCanceledError) or (
            isinstance(link, sqlite3.OperationalError) and "locked" in str(link).lower()
        ):
            down = False
    return None if cause is None else Outage(cause, lost, down)


def _cause(link: BaseException) -> str | None:
    """What this one error says about the database, if it says it is unavailable."""
    if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
        return f"the connection was lost ({_first_line(link.orig)})"
    if isinstance(link, sa_exc.TimeoutError):
        return "no database connection was free in time (the pool is exhausted)"
    if isinstance(link, _POSTGRES_UNAVAILABLE):
        return f"{type(link).__name__}: {_first_line(link)}"
    if isinstance(link, sqlite3.OperationalError) and any(
        phrase in str(link).lower() for phrase in _SQLITE_UNAVAILABLE
    ):
        return f"SQLite: {_first_line(link)}"
    if _network_failure(link):  # refused, reset, unreachable, timed out
        return f"{type(link).__name__}: {_first_line(link)}"
    return None


# What a socket says when the other end is not there (Linux and BSD numbers alike via
# errno): other OSErrors (a missing file, a permission) are bugs, not outages.
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)


def _network_failure(error: BaseException) -> bool:
    return isinstance(error, ConnectionError | TimeoutError | socket.gaierror) or (
        isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS
    )


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


class DatabaseHealth:
    """Whether the database answered the last time it was asked; logs each change."""

    def __init__(self) -> None:
        self._down_since: float | None = None

    @property
    def available(self) -> bool:
        return self._down_since is None

    def failed(self, cause: str) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.error(
                "database unavailable: %s; requests that need it answer 503 with "
                "Retry-After until it answers again",
                cause,
            )

    def answered(self) -> None:
        if self._down_since is not None:
            down_for = time.monotonic() - self._down_since
            self._down_since = None
            logger.warning("database answers again after %.1f s", down_for)
