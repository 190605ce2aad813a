"""What keeps a process's live graph current without a read request ever asking the
database: one task per process, beside the requests.

* PostgreSQL (`PostgresChangeFeed`): every committing write sends a NOTIFY in its
  transaction (catalog/repository.py `notify_change`); the feed LISTENs on one
  connection of its own (not from the pool), and each notification of a revision the
  process has not applied starts a refresh. After every (re)connect it reads the whole
  graph again, since notifications sent while it was away are lost. On the same
  connection it reads both revisions every `LIVE_GRAPH_BACKSTOP_SECONDS`, so a lost
  notification delays a change by at most that, and a dead connection is noticed.
* SQLite (`SqliteChangeFeed`): no notifications; a kept connection of its own reads
  `PRAGMA data_version` every `SQLITE_POLL_SECONDS` (a few microseconds: it changes when
  any other connection, in this process or another, commits), and a change starts a
  refresh; plus the same backstop. So several processes can share one file.

While the database is unreachable the live graph keeps answering from the last applied
revision, marked unconfirmed (`LiveGraph.confirm`); the feed retries with a bounded
backoff and reloads when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from typing import Any, Protocol

import asyncpg
from sqlalchemy.engine import make_url

from slo_engine.catalog.repository import (
    CHANGES_CHANNEL,
    READ_REVISIONS_SQL,
    Revisions,
    revisions_of,
)
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings

logger = logging.getLogger(__name__)

SQLITE_POLL_SECONDS = 0.05
_RETRY_FIRST_SECONDS = 0.25
_RETRY_MAX_SECONDS = 5.0


class ChangeFeed(Protocol):
    async def start(self) -> None:
        """Load the graph (one attempt, waited for) and keep it current from now on."""

    async def stop(self) -> None: ...


def change_feed(settings: Settings, live: LiveGraph) -> ChangeFeed:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresChangeFeed(
            dsn,
            live,
            backstop_seconds=settings.live_graph_backstop_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
        )
    path = url.database if url.database not in (None, "", ":memory:") else None
    return SqliteChangeFeed(path, live, backstop_seconds=settings.live_graph_backstop_seconds)


class _Feed:
    """One task that follows the database (`_follow`, until it fails) and, after a
    failure, marks the live graph unconfirmed and tries again with a bounded backoff.
    `start` waits for the first attempt only: a database that is down at start does not
    keep the server from starting (reads answer 503 until the graph is loaded)."""

    def __init__(self, live: LiveGraph) -> None:
        self._live = live
        self._task: asyncio.Task[None] | None = None
        self._first_attempt = asyncio.Event()
        self._retry_in = _RETRY_FIRST_SECONDS
        self._logged_failure = False

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name="live-graph-change-feed"
        )
        await self._first_attempt.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._live.stop_refreshing()

    async def _backstop(self, revisions: Revisions | None = None) -> None:
        """One periodic check. A failure of the catch-up it starts (the pool exhausted,
        a statement cut) marks the graph unconfirmed until the next check succeeds; it
        does not drop the feed's own connection, whose loss is noticed by itself."""
        try:
            await self._live.refresh(revisions)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._live.confirm(False)
            logger.warning("live graph change feed: catching up failed (%s); retrying", error)
            return
        self._live.confirm(True)

    async def _follow(self) -> None:
        raise NotImplementedError

    def _following(self) -> None:
        """The graph is loaded and followed: confirmed, and the backoff starts over."""
        self._live.confirm(True)
        self._first_attempt.set()
        self._retry_in = _RETRY_FIRST_SECONDS
        if self._logged_failure:
            logger.info("live graph change feed: following the database again")
            self._logged_failure = False

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._live.confirm(False)
                if not self._logged_failure:  # once per outage, not once per retry
                    logger.warning("live graph change feed: %s; retrying", error)
                    self._logged_failure = True
            self._first_attempt.set()
            await asyncio.sleep(self._retry_in)
            self._retry_in = min(self._retry_in * 2, _RETRY_MAX_SECONDS)


class PostgresChangeFeed(_Feed):
    def __init__(
        self, dsn: str, live: LiveGraph, *, backstop_seconds: float, connect_timeout: float
    ) -> None:
        super().__init__(live)
        self._dsn = dsn
        self._backstop_seconds = backstop_seconds
        self._connect_timeout = connect_timeout

    async def _follow(self) -> None:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=self._connect_timeout,
            server_settings={"application_name": "slo-engine change feed"},
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(CHANGES_CHANNEL, self._notified)
            # Listening from here on; whatever committed before is read now.
            await self._live.reload()
            self._following()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self._backstop_seconds)
                    break
                rows = await connection.fetch(READ_REVISIONS_SQL, timeout=self._connect_timeout)
                await self._backstop(revisions_of((row[0], row[1]) for row in rows))
            raise ConnectionError("the change feed's connection was lost")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self._connect_timeout)
            if not connection.is_closed():
                connection.terminate()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        kind, _, revision = payload.partition(":")
        try:
            self._live.noticed(kind, int(revision))
        except ValueError:
            logger.warning("live graph change feed: unexpected notification %r", payload)


class SqliteChangeFeed(_Feed):
    def __init__(self, path: str | None, live: LiveGraph, *, backstop_seconds: float) -> None:
        super().__init__(live)
        self._path = path
        self._backstop_seconds = backstop_seconds

    def _version_reader(self) -> sqlite3.Connection | None:
        if self._path is None:  # an in-memory database: one process, nothing to watch
            return None
        # Autocommit, and no waiting: the check runs on the event loop, and a busy file
        # is simply checked again at the next poll.
        return sqlite3.connect(self._path, timeout=0, isolation_level=None)

    async def _follow(self) -> None:
        reader = self._version_reader()
        try:
            version = None if reader is None else _data_version(reader)
            await self._live.reload()
            self._following()
            backstop_at = time.monotonic() + self._backstop_seconds
            if reader is None:
                # An in-memory database lives in this process only: its own writes are
                # applied as they commit, and there is no one else to follow (a refresh
                # would share the one connection with a write under way).
                await asyncio.Event().wait()  # until stopped
                return
            while True:
                await asyncio.sleep(SQLITE_POLL_SECONDS)
                now = time.monotonic()
                seen = _data_version(reader, version)
                if seen != version or now >= backstop_at:
                    version = seen
                    backstop_at = now + self._backstop_seconds
                    await self._backstop()
        finally:
            if reader is not None:
                reader.close()


def _data_version(reader: sqlite3.Connection, last: int | None = None) -> int | None:
    """The file's data version; `last` when the file is busy right now (checked again
    at the next poll rather than waited for on the event loop)."""
    try:
        return int(reader.execute("PRAGMA data_version").fetchone()[0])
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return last
        raise
