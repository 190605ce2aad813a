"""The process's live graph: the snapshot, the graph and access revisions it has
applied, and whether they are confirmed current.

A read request never waits on the database: it takes the snapshot as it is (`snapshot`)
and the access revision the key cache is valid for (`access_revision`). What keeps them
current runs beside the requests (live/change_feed.py): PostgreSQL notifications and
a periodic backstop read, or SQLite's `PRAGMA data_version`, each of which calls
`refresh`. A refresh reads both revisions (one statement) and, when the graph moved,
only the rows written since the applied revision (`changes_since`, by the rows'
`revision` column), on one database snapshot, and applies them. The whole graph is read
only when the process starts and after the change feed reconnects (`reload`), and then
in the background while the previous snapshot goes on answering.

Writes made by this process apply the exact rows they stored right after their commit
(`apply_committed`), so a client that wrote here reads its write on its next request;
a client that wrote elsewhere passes the revision its write returned (`wait_for`).

CPU-heavy answers are computed off the event loop (`off_loop`, live/off_loop.py). While
such a read runs, the snapshot it reads is not changed under it: changes are applied
when the last of them is done (a reader that needs that revision waits for it; a
reloaded snapshot is a new object and never needs to wait).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from slo_engine.catalog.repository import CatalogRepository, Revisions, read_revisions
from slo_engine.errors import BadRequestError, DatabaseUnavailableError, RevisionNotAppliedError
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.graph.snapshot import GraphSnapshot, ReportKey
from slo_engine.infra.db import RETRY_AFTER_SECONDS, Database
from slo_engine.infra.interpreter import (
    exempt_from_full_collections,
    give_back_free_memory,
    give_back_free_memory_soon,
)
from slo_engine.live.loading import (
    Change,
    apply_change,
    changes_since,
    load_pulling,
    whole_graph,
)
from slo_engine.live.off_loop import OffLoopReads
from slo_engine.live.refresh_requests import RefreshRequests
from slo_engine.observability.metrics import LIVE_GRAPH_UPDATES, SNAPSHOT_LOOKUPS

# Every read request takes the snapshot: its counter child is looked up once, not per
# request (`labels()` showed in the profile under load).
_SNAPSHOT_HIT = SNAPSHOT_LOOKUPS.labels("hit")

logger = logging.getLogger(__name__)

T = TypeVar("T")
# A catch-up of more rows than this reloads the graph instead: applying 5,000 rows holds
# the event loop ~20-70 ms (measured: docs/performance.md), so 50,000 would hold it for
# most of a second on every replica after one large ingestion elsewhere.
LARGE_CHANGE_ROWS = 50_000
# After applying a change this large, free heap is given back to the system: its rows
# were made among a write's or a catch-up's short-lived objects.
TRIM_AFTER_ROWS = 5_000


@dataclass(frozen=True, slots=True)
class Freshness:
    """What a read answer says about the revision it was computed at."""

    revision: int
    confirmed: bool  # the change feed is connected and the last check succeeded


class LiveGraph:
    def __init__(self, database: Database | None = None) -> None:
        self._database = database
        self._snapshot: GraphSnapshot | None = None
        self._lock = asyncio.Lock()  # one loader or catch-up at a time
        self.epoch = "unknown"  # the graph's identity (catalog/tables.py graph_identity)
        self.access_revision = -1
        self._confirmed = False
        self._refreshes = RefreshRequests(self.refresh, self._refresh_failed)
        self._moved = asyncio.Event()  # set, and replaced, whenever the revision moves
        self._off_loop = OffLoopReads(self._apply, self._deferred_change_failed)

    # --- the read side: no I/O ------------------------------------------------------

    @property
    def snapshot(self) -> GraphSnapshot:
        """The snapshot at the last applied revision; a 503 before the first load."""
        snapshot = self._snapshot
        if snapshot is None:
            raise DatabaseUnavailableError(
                "The graph has not been loaded from the database yet; try again shortly.",
                retry_after_seconds=RETRY_AFTER_SECONDS,
                cause="graph not loaded",
            )
        _SNAPSHOT_HIT.inc()
        return snapshot

    @property
    def revision(self) -> int:
        return -1 if self._snapshot is None else self._snapshot.revision

    def freshness(self) -> Freshness:
        return Freshness(self.revision, self._confirmed and self._snapshot is not None)

    def peek(self) -> GraphSnapshot | None:
        """The snapshot held now, if any (for metrics)."""
        return self._snapshot

    async def wait_for(self, revision: int, wait_seconds: float) -> None:
        """Return once the applied graph revision is at least `revision`, refreshing at
        once rather than waiting for the change feed; a 503 after `wait_seconds`
        (read-your-writes for a client that wrote through another process)."""
        if self.revision >= revision:
            return
        if self._database is not None:
            # Behind: one read of the database's revisions tells a revision that will
            # come (wait for it) from one never committed (the client's error), and is
            # the refresh's own first read.
            committed = await self._database.statement(read_revisions)
            if committed.graph < revision:
                raise BadRequestError(
                    f"Graph revision {revision} has not been committed; the latest is "
                    f"{committed.graph}. Pass the revision a write answered.",
                    errors=[{"pointer": "/query/min_revision", "detail": "not committed"}],
                )
            self.request_refresh(committed)
        try:
            async with asyncio.timeout(wait_seconds):
                while self.revision < revision:
                    await self._moved.wait()
        except TimeoutError:
            raise RevisionNotAppliedError(
                f"This replica has applied graph revision {self.revision}, not yet "
                f"{revision}; try again shortly.",
                retry_after_seconds=1,
            ) from None

    # --- keeping it current (called by the change feed) -----------------------------

    def confirm(self, confirmed: bool) -> None:
        """Whether the change feed can vouch for the applied revisions right now."""
        if confirmed != self._confirmed:
            logger.log(
                logging.INFO if confirmed else logging.WARNING,
                "live graph freshness %s at revision %d",
                "confirmed" if confirmed else "unconfirmed (answering from the last applied)",
                self.revision,
            )
        self._confirmed = confirmed

    def noticed(self, kind: str, revision: int) -> None:
        """A notification: `kind` reached `revision` in the database."""
        behind = self.revision if kind == "graph" else self.access_revision
        if revision > behind:
            self.request_refresh()

    def invalidate(self) -> None:
        """What a write committed is not known row by row: catch up from the database
        (or, without one, load it all on next use)."""
        if self._database is None:
            self._snapshot = None
        else:
            self.request_refresh()

    def note_access_revision(self, revision: int) -> None:
        """A key change this process committed: its own requests see it at once."""
        self.access_revision = max(self.access_revision, revision)

    async def stop_refreshing(self) -> None:
        """Cancel a refresh under way (at shutdown, before the engine is disposed)."""
        await self._refreshes.stop()

    def request_refresh(self, revisions: Revisions | None = None) -> None:
        """Refresh soon, once however many ask while one is under way."""
        if self._database is None:
            return  # a one-off process's graph (the CLI) is loaded on use instead
        self._refreshes.request(revisions)

    def _refresh_failed(self, error: Exception) -> None:
        if not isinstance(error, DatabaseUnavailableError):
            logger.exception("refreshing the live graph failed")
        self.confirm(False)  # the feed retries; requests go on meanwhile

    async def refresh(self, revisions: Revisions | None = None) -> None:
        """Catch up with the database: the access revision, and the graph rows written
        since the applied revision. `revisions`: already read (the backstop)."""
        assert self._database is not None, "a live graph without a database cannot refresh"
        if revisions is None:
            revisions = await self._database.statement(read_revisions)
        self.note_access_revision(revisions.access)
        if self._snapshot is None:
            await self.reload()
            return
        # (A revision behind ours is a read that began before this process applied its
        # own write: nothing to do. A database restored to an earlier state is caught by
        # the change feed's reconnect, which reloads everything.)
        if revisions.graph <= self.revision:
            return
        # No lock while reading: a writer of this process that holds the database's graph
        # row lock may be waiting for this process's lock (`for_write`), and the pool
        # for connections. Two catch-ups that overlap are both safe to apply: `_apply`
        # takes a change only onto a snapshot at or past its base, and skips one it has.
        base = self.revision
        started = time.perf_counter()
        now, change = await self._database.consistent_read(
            lambda session: changes_since(session, base)
        )
        read = time.perf_counter()
        self.note_access_revision(now.access)
        if change.size > LARGE_CHANGE_ROWS:
            # Applied in place, this would be one step of seconds on the event loop (the
            # snapshot must never be seen half changed); a reload builds the new
            # snapshot in a worker thread while the old one answers.
            logger.info(
                "live graph: %d rows changed since revision %d; reloading instead of "
                "applying them on the event loop",
                change.size,
                base,
            )
            await self.reload()
            return
        LIVE_GRAPH_UPDATES.labels("catch_up").inc()
        await self._off_loop.apply_when_settled(change)
        logger.info(
            "live graph caught up from revision %d to %d: %d services, %d reports "
            "read in %.1f ms, applied in %.1f ms",
            base,
            change.revision,
            len(change.services),
            len(change.reports),
            (read - started) * 1000,
            (time.perf_counter() - read) * 1000,
        )

    async def reload(self) -> None:
        """Read the whole graph on one database snapshot and swap it in (the process's
        start, or the change feed's reconnect: notifications may have been lost). The
        previous snapshot answers meanwhile."""
        assert self._database is not None, "a live graph without a database cannot reload"
        async with self._lock:
            started = time.perf_counter()
            revisions, epoch, snapshot = await self._database.consistent_read(whole_graph)
            # A write of this process may have committed, and been applied to the old
            # snapshot, while the graph was read: never swap in a snapshot behind it.
            while (old := self._snapshot) is not None and old.revision > snapshot.revision:
                _, change = await self._database.consistent_read(
                    functools.partial(changes_since, base=snapshot.revision)
                )
                apply_change(snapshot, change)
            self.epoch = epoch
            self.note_access_revision(revisions.access)
            self._replace(snapshot)
            give_back_free_memory()  # the rows read are garbage now
            exempt_from_full_collections()  # the graph stays: no collector walks over it
            logger.info(
                "live graph loaded at revision %d: %d services, %d edge pairs in %.2f s",
                snapshot.revision,
                len(snapshot.services),
                len(snapshot.pairs),
                time.perf_counter() - started,
            )

    # --- the write side (under the graph write lock) --------------------------------

    async def current(self, repository: CatalogRepository) -> GraphSnapshot:
        """The snapshot at the database's revision as `repository`'s session sees it,
        loaded if it is behind (one-off processes: the CLI)."""
        revision = await repository.current_revision()
        snapshot = self._snapshot
        if snapshot is not None and snapshot.revision == revision:
            _SNAPSHOT_HIT.inc()
            return snapshot
        async with self._lock:
            SNAPSHOT_LOOKUPS.labels("miss").inc()
            snapshot = await load_pulling(repository)
            self._replace(snapshot)
            return snapshot

    async def for_write(self, repository: CatalogRepository, revision: int) -> GraphSnapshot:
        """The snapshot at `revision`, for a writer that holds the graph write lock.

        The writer's transaction has bumped the revision to `revision + 1` (or only
        locked it) and written nothing else yet, and no other writer can commit, so the
        rows its session reads are exactly revision `revision`: a snapshot behind it
        catches up with the rows written since.
        """
        await self._off_loop.wait_for_deferred(revision)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.revision == revision:
            return snapshot
        if snapshot is not None and snapshot.revision < revision:
            # Not under this process's lock: a reload holding it for seconds would keep
            # this writer, and with it the database's graph row lock, waiting.
            retracted, deleted = await repository.removals_since(snapshot.revision)
            services, reports = await repository.changes_since(snapshot.revision)
            LIVE_GRAPH_UPDATES.labels("catch_up").inc()
            change = Change(snapshot.revision, revision, services, reports, retracted, deleted)
            await self._off_loop.apply_when_settled(change)
            if self._snapshot is snapshot and snapshot.revision == revision:
                return snapshot
        async with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.revision == revision:
                return snapshot
            services, reports = await repository.load_graph()
            snapshot = await asyncio.to_thread(GraphSnapshot.build, revision, services, reports)
            self._replace(snapshot)
            return snapshot

    def apply_committed(
        self,
        revision: int,
        services: Sequence[Service],
        reports: Sequence[DependencyReport],
        retracted: Sequence[ReportKey] = (),
        deleted: Sequence[str] = (),
    ) -> None:
        """Apply what a committed write did at `revision`: the reports it retracted and
        services it deleted, and the rows it stored (later, if off-loop reads are
        running: they must not see the snapshot change under them)."""
        self._off_loop.apply_or_defer(
            Change(revision - 1, revision, services, reports, retracted, deleted)
        )

    # --- off-loop reads -------------------------------------------------------------

    async def off_loop(self, work: Callable[[], T]) -> T:
        """`work()` (a read of a snapshot this graph handed out, and its encoding) in a
        worker thread, holding one of the `HEAVY_READS` slots (live/off_loop.py); the
        snapshot is not changed until it is done."""
        return await self._off_loop.run(work)

    def _deferred_change_failed(self) -> None:
        # A snapshot a change was only half applied to must not be read: it is reloaded
        # from the database.
        logger.exception("applying a committed change failed; the graph is reloaded")
        self._snapshot = None
        if self._database is not None:
            self.request_refresh()

    def _apply(self, change: Change) -> None:
        snapshot = self._snapshot
        if snapshot is None or snapshot.revision >= change.revision:
            return  # nothing to apply to, or already there (a catch-up got here first)
        if snapshot.revision < change.base:
            # Rows of the revisions in between are missing: catch up from the database.
            if self._database is not None:
                self.request_refresh()
            else:
                self._snapshot = None
            return
        apply_change(snapshot, change)
        self._revision_moved()
        if len(change.reports) >= TRIM_AFTER_ROWS:
            give_back_free_memory_soon()

    def _replace(self, snapshot: GraphSnapshot) -> None:
        self._snapshot = snapshot
        LIVE_GRAPH_UPDATES.labels("reload").inc()
        self._revision_moved()

    def _revision_moved(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()  # wakes every `wait_for`, which checks the revision again
