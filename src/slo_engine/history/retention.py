"""The history is kept for HISTORY_RETENTION_DAYS: older entries are pruned. Run as the
`history-prune` job (jobs/wiring.py).

The cutoff is a time, now - retention; the graph at that time (the last revision
committed at or before it) must stay answerable, so what is pruned is what ended at or
before that revision (`catalog.change_log.prune_before`): states replaced by then, the
events of earlier revisions, and the times of earlier revisions. The states valid at
the cutoff revision, and everything current, stay. Times before the cutoff are answered
410 (live/as_of.py, history/service.py) whether or not a prune has run yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.change_log import prune_before, revision_at, revisions_before
from slo_engine.infra.db import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PruneOutcome:
    cutoff: datetime  # now - retention
    # The revision the history now begins at; None when none was committed by the cutoff.
    cutoff_revision: int | None
    entries_removed: int
    revisions_removed: int


async def prune_history(database: Database, retention: timedelta, now: datetime) -> PruneOutcome:
    """Forget the history older than `retention` before `now`, keeping the graph at the
    cutoff answerable. One transaction; no graph lock: the entries it deletes ended at
    or before the cutoff revision, and writes only ever close current states, at a later
    revision. O(entries removed) (the `valid_to` and revision indexes find them)."""
    cutoff = now - retention

    async def prune(session: AsyncSession) -> PruneOutcome:
        revision = await revision_at(session, cutoff)
        if revision is None:
            return PruneOutcome(cutoff, None, 0, 0)
        revisions = await revisions_before(session, revision)
        entries = await prune_before(session, revision)
        return PruneOutcome(cutoff, revision, entries, revisions)

    outcome = await database.transaction(prune)
    if outcome.cutoff_revision is None:
        logger.info("history prune: no revision committed by the cutoff %s", cutoff.isoformat())
    else:
        logger.info(
            "history prune: %d change-log entries and the times of %d revisions before "
            "revision %d (the graph at the cutoff %s) removed",
            outcome.entries_removed,
            outcome.revisions_removed,
            outcome.cutoff_revision,
            cutoff.isoformat(),
        )
    return outcome
