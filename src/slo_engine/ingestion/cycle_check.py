"""Cycle detection after a write: the fresh graph as the write leaves it, scanned for
cyclic components in a worker thread, and the alerts reconciled with them.

A write that adds a fresh edge may close a cycle; one that takes a fresh edge out
(a retraction) may break one, and the alert resolves with the reason. A write that does
neither cannot change the cycles, and nothing is scanned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.service import CycleOutcome, reconcile_alerts
from slo_engine.catalog.change_log import ChangeLog
from slo_engine.graph.cycles import cyclic_components
from slo_engine.graph.overlay import OverlayAdjacency
from slo_engine.graph.snapshot import GraphSnapshot, ReportKey
from slo_engine.infra.db_outage import outage_of

logger = logging.getLogger(__name__)

CYCLE_CHECK_FAILED = (
    "cycle detection failed for this write; the graph was stored and cycles will be "
    "checked again on the next change"
)


@dataclass(slots=True)
class CycleCheck:
    """A scan under way of the fresh graph a write leaves, and the adjacency it reads."""

    adjacency: Mapping[str, Sequence[str]]
    scan: asyncio.Future[list[list[str]]]

    def cancel(self) -> None:
        self.scan.cancel()


def start_cycle_check(
    base: GraphSnapshot, added: dict[str, list[str]], retracted: Iterable[ReportKey] = ()
) -> CycleCheck | None:
    """Start scanning the fresh graph of `base` with the `added` fresh edges and without
    the fresh pairs the `retracted` reports take out, in a worker thread (CPU work that
    does not depend on the writes, so it runs while the database works); None when the
    write changes neither.

    Without removals the new edges are an overlay on the base lists (no copy); with
    them, the base lists are copied without the gone pairs: O(V + E).
    """
    gone = base.fresh_pairs_lost(retracted)
    if not added and not gone:
        return None
    fresh = base.downstream_fresh
    if gone:
        fresh = {
            source: [t for t in targets if (source, t) not in gone]
            for source, targets in fresh.items()
        }
    adjacency = OverlayAdjacency(fresh, added)
    scan = asyncio.ensure_future(asyncio.to_thread(cyclic_components, adjacency, adjacency))
    return CycleCheck(adjacency, scan)


@contextlib.contextmanager
def cancelled_on_failure(check: CycleCheck | None) -> Iterator[None]:
    """The write's statements: if one fails, the scan under way is cancelled with it."""
    try:
        yield
    except BaseException:
        if check is not None:
            check.cancel()
        raise


async def record_cycles(
    session: AsyncSession,
    check: CycleCheck,
    now: datetime,
    change_log: ChangeLog,
    resolve_reason: str | None,
) -> CycleOutcome | None:
    """Reconcile the alerts with the scan's components, in a savepoint that a failure
    rolls back alone: cycle detection never fails a write. Returns the cycles opened
    and resolved, or None if detection failed (the caller warns)."""
    try:
        components = await check.scan
        async with session.begin_nested():
            return await reconcile_alerts(
                session, components, check.adjacency, now, change_log, resolve_reason
            )
    except Exception as error:
        if outage_of(error) is not None:
            # The database went away, not cycle detection: nothing of this write can be
            # kept, and the unit of work decides what the client gets (a retry, a 503).
            raise
        logger.exception("cycle detection failed; the written graph is kept")
        return None
