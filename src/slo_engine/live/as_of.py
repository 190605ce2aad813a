"""The graph as it was at a past time: "as of" reads.

A time becomes the last revision committed at or before it (`graph_revisions`); the
graph at that revision is the change-log states valid then (catalog/change_log.py
`graph_at`: one indexed read of O(graph size), never a replay of the history), built
into a `GraphSnapshot` in a worker thread, so every read answers a past revision
through the same code, semantics and shapes as the current one. The last
HISTORY_SNAPSHOTS_KEPT past snapshots are kept (an explorer session, an incident review,
a diff ask for the same few times again and again); concurrent reads of one revision
share one build. A time at the live graph's own revision is answered from the live
snapshot.

A time older than HISTORY_RETENTION_DAYS, or before the history began, is a 410
(`HistoryGoneError`); one in the future a 400.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from slo_engine.catalog.change_log import graph_at, history_begins, revision_at
from slo_engine.errors import BadRequestError, HistoryGoneError
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.infra.db import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)

# Clocks of client and server drift: a time this far ahead of the server's is "now".
FUTURE_TOLERANCE = timedelta(seconds=5)


def query_problem(parameter: str, detail: str) -> BadRequestError:
    """The 400 of a query parameter that cannot be answered, naming it."""
    return BadRequestError(
        f"{parameter}: {detail}", errors=[{"pointer": f"/query/{parameter}", "detail": detail}]
    )


async def revision_at_time(
    session: AsyncSession, parameter: str, at: datetime, now: datetime, retention: timedelta
) -> int:
    """The revision the graph was at, at `at` (the time query parameter `parameter`
    gave): the last one committed at or before it. A 400 for a time in the future; a
    410 for one older than `retention` before `now`, or before the history kept."""
    if at > now + FUTURE_TOLERANCE:
        raise query_problem(parameter, f"{at.isoformat()} is in the future")
    if at < now - retention:
        raise HistoryGoneError(
            f"{parameter} {at.isoformat()} is older than the history kept "
            f"(HISTORY_RETENTION_DAYS: {retention.days} days)."
        )
    found = await revision_at(session, at)
    if found is None:
        begins = await history_begins(session)
        since = "" if begins is None else f" (it begins at {begins[1].isoformat()})"
        raise HistoryGoneError(f"{parameter} {at.isoformat()} is before the history kept{since}.")
    return found


class PastGraphs:
    """Snapshots of past revisions, built on demand from the change log and kept (LRU)."""

    def __init__(self, database: Database, kept: int, retention_days: int) -> None:
        self._database = database
        self._kept: OrderedDict[int, GraphSnapshot] = OrderedDict()
        self._building: dict[int, asyncio.Future[GraphSnapshot]] = {}
        self._max_kept = kept
        self._retention = timedelta(days=retention_days)

    async def revision_at(self, at: datetime) -> int:
        """The revision of an `as_of` time (`revision_at_time`)."""
        now = datetime.now(UTC)
        return await self._database.read(
            lambda session: revision_at_time(session, "as_of", at, now, self._retention)
        )

    async def snapshot(self, revision: int, live: GraphSnapshot | None) -> GraphSnapshot:
        """The graph at `revision`: the live snapshot if it is there, else a kept or
        newly built past snapshot."""
        if live is not None and live.revision == revision:
            return live
        kept = self._kept.get(revision)
        if kept is not None:
            self._kept.move_to_end(revision)
            return kept
        building = self._building.get(revision)
        if building is None:
            building = asyncio.ensure_future(self._build(revision))
            self._building[revision] = building
            building.add_done_callback(lambda _: self._building.pop(revision, None))
        # Shielded: one reader giving up must not cancel the build the others wait for.
        return await asyncio.shield(building)

    async def _build(self, revision: int) -> GraphSnapshot:
        started = time.perf_counter()
        services, reports = await self._database.read(lambda s: graph_at(s, revision))
        snapshot = await asyncio.to_thread(GraphSnapshot.build, revision, services, reports)
        self._kept[revision] = snapshot
        while len(self._kept) > self._max_kept:
            self._kept.popitem(last=False)
        logger.info(
            "past graph at revision %d built: %d services, %d edge pairs in %.2f s",
            revision,
            len(snapshot.services),
            len(snapshot.pairs),
            time.perf_counter() - started,
        )
        return snapshot
