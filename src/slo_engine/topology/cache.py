"""The process's in-memory graph snapshot, kept at the database's graph revision.

Every graph write bumps `graph_state.revision` in its transaction. A reader asks for the
current revision (one primary-key read) and gets the snapshot at that revision:

* the common case: nothing changed, the snapshot is returned as is;
* this process wrote: the write registered the exact rows it stored, and they are
  applied after its commit (`apply_committed`), so the snapshot is already current;
* another process wrote (another replica, the CLI): the snapshot is rebuilt from the
  database, once, however many requests are waiting for it.

CPU-heavy answers (a blast radius reaching half the graph takes most of a second) are
computed off the event loop (`off_loop`), in a worker thread, so other requests go on
meanwhile; at most `HEAVY_READS` at once per process, the rest wait their turn without
holding the loop. While such a read runs, the snapshot it reads is not changed under it:
a committed write is applied when the last of them is done (a reader that needs that
revision waits for it; a rebuilt snapshot is a new object and never needs to wait).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.observability.metrics import SNAPSHOT_LOOKUPS

logger = logging.getLogger(__name__)

_CONSISTENT_READ_ATTEMPTS = 5
# Heavy reads computed at once per process: each holds a worker thread, and with the GIL
# more of them would only take turns with the event loop (docs/reliability.md).
HEAVY_READS = 2
T = TypeVar("T")
_Write = tuple[int, Sequence[Service], Sequence[DependencyReport]]


class GraphCache:
    def __init__(self) -> None:
        self._snapshot: GraphSnapshot | None = None
        self._lock = asyncio.Lock()
        self.reloads = 0
        self._heavy_slots = asyncio.Semaphore(HEAVY_READS)
        self._off_loop_readers = 0
        self._deferred: list[_Write] = []  # committed writes waiting for the readers
        self._settled = asyncio.Event()  # set while no write waits
        self._settled.set()

    async def current(
        self, repository: CatalogRepository, known_revision: int | None = None
    ) -> GraphSnapshot:
        """The snapshot at the latest committed revision.

        `known_revision`: the graph revision this request already read (the access
        check reads it with the access revision); then a current snapshot costs no
        database work at all.
        """
        revision = (
            known_revision if known_revision is not None else await repository.current_revision()
        )
        snapshot = self._snapshot
        if snapshot is not None and snapshot.revision == revision:
            SNAPSHOT_LOOKUPS.labels("hit").inc()
            return snapshot
        await self._wait_for_deferred(revision)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.revision >= revision:
            SNAPSHOT_LOOKUPS.labels("hit").inc()
            return snapshot
        async with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.revision >= revision:
                SNAPSHOT_LOOKUPS.labels("hit").inc()
                return snapshot
            SNAPSHOT_LOOKUPS.labels("miss").inc()
            return await self._reload(repository)

    async def for_write(self, repository: CatalogRepository, revision: int) -> GraphSnapshot:
        """The snapshot at `revision`, for a writer that holds the graph write lock.

        The writer's transaction has bumped the revision to `revision + 1` and written
        nothing else yet, so what it reads now is exactly revision `revision`.
        """
        await self._wait_for_deferred(revision)
        async with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.revision == revision:
                return snapshot
            services, reports = await repository.load_graph()
            snapshot = await asyncio.to_thread(GraphSnapshot.build, revision, services, reports)
            self._snapshot = snapshot
            self.reloads += 1
            return snapshot

    def peek(self) -> GraphSnapshot | None:
        """The snapshot held now, whatever its revision (for metrics)."""
        return self._snapshot

    def invalidate(self) -> None:
        """Forget the snapshot: the next reader rebuilds it from the database."""
        self._snapshot = None

    def apply_committed(
        self, revision: int, services: Sequence[Service], reports: Sequence[DependencyReport]
    ) -> None:
        """Apply the rows a committed write stored at `revision` (later, if off-loop
        reads are running: they must not see the snapshot change under them).

        When the snapshot is not at the revision just before (another writer came in
        between), it is dropped and rebuilt on next use instead.
        """
        if self._off_loop_readers:
            self._deferred.append((revision, services, reports))
            self._settled.clear()
            return
        self._apply(revision, services, reports)

    async def off_loop(self, work: Callable[[], T]) -> T:
        """`work()` (a read of a snapshot this cache handed out, and its encoding) in a
        worker thread, holding one of the `HEAVY_READS` slots; the snapshot is not
        changed until it is done.

        The slot and the reader count are given back when the thread finishes, not when
        the awaiting request does: a request cancelled meanwhile (a client gone, a
        shutdown) leaves its thread reading, and the snapshot must wait for it still.
        """
        await self._heavy_slots.acquire()
        try:
            # Writes first: a read starts only once no committed write waits, or a
            # steady stream of heavy reads would hold the snapshot back for good.
            while not self._settled.is_set():
                await self._settled.wait()
        except BaseException:
            self._heavy_slots.release()
            raise
        loop = asyncio.get_running_loop()
        self._off_loop_readers += 1

        def read() -> T:
            try:
                return work()
            finally:
                loop.call_soon_threadsafe(self._read_done)

        try:
            pending = loop.run_in_executor(None, read)
        except BaseException:  # the executor refused it: the thread never runs
            self._read_done()
            raise
        return await pending

    def _read_done(self) -> None:
        """On the loop, when an off-loop read's thread has finished."""
        self._off_loop_readers -= 1
        self._heavy_slots.release()
        if self._off_loop_readers:
            return
        deferred, self._deferred = self._deferred, []
        try:
            for write in deferred:
                self._apply(*write)
        except Exception:
            # A snapshot a write was only half applied to must not be read: the next
            # reader rebuilds it from the database.
            logger.exception("applying a committed write failed; the snapshot is dropped")
            self._snapshot = None
        finally:
            self._settled.set()  # nobody waits forever

    async def _wait_for_deferred(self, revision: int) -> None:
        """A reader or writer that needs `revision` while the write that brings the
        snapshot there waits for off-loop readers waits too (at most as long as the
        longest heavy read), instead of rebuilding the whole graph."""
        while self._deferred and self._deferred[-1][0] >= revision:
            await self._settled.wait()

    def _apply(
        self, revision: int, services: Sequence[Service], reports: Sequence[DependencyReport]
    ) -> None:
        snapshot = self._snapshot
        if snapshot is None:
            return
        if snapshot.revision == revision - 1:
            snapshot.apply(revision, services, reports)
        elif snapshot.revision < revision:
            self._snapshot = None

    async def _reload(self, repository: CatalogRepository) -> GraphSnapshot:
        # Read the revision before and after the rows: equal means no write committed in
        # between (PostgreSQL's READ COMMITTED gives each statement its own view).
        for _ in range(_CONSISTENT_READ_ATTEMPTS):
            before = await repository.current_revision()
            services, reports = await repository.load_graph()
            after = await repository.current_revision()
            if before == after:
                break
        else:
            logger.warning("graph kept changing while it was loaded; using the last read")
        snapshot = await asyncio.to_thread(GraphSnapshot.build, before, services, reports)
        self._snapshot = snapshot
        self.reloads += 1
        return snapshot
