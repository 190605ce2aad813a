"""Use cases of the graph's history: the change feed, and the difference between the
graph at two revisions or times."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.change_log import (
    ChangeEntry,
    ChangeFilter,
    KeyedStates,
    count_changes,
    history_begins,
    list_changes,
    revision_at,
    revision_times,
    states_ended_between,
    states_started_between,
)
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import HistoryGoneError
from slo_engine.graph.change_log import ChangeType
from slo_engine.history.diff import (
    MAX_LIST_ENTRIES,
    Bound,
    CycleEvents,
    GraphDiff,
    compare,
    cycle_event,
)
from slo_engine.infra.cursor import decode_cursor, encode_cursor, not_issued
from slo_engine.infra.db import Database
from slo_engine.infra.storable import RFC3339_TIME
from slo_engine.live.as_of import query_problem, revision_at_time
from slo_engine.live.reads import MAX_REVISION


async def change_page(
    session: AsyncSession,
    wanted: ChangeFilter,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ChangeEntry], str | None]:
    """A page of the change log in revision order, and the cursor of the next page.

    `since`/`until` are times: changes of the revisions committed after `since`, up to
    the last one committed at or before `until`.
    """
    if cursor is not None:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int) or isinstance(after, bool):
            raise not_issued()
        wanted = replace(wanted, after_id=after)
    if since is not None:
        before = await revision_at(session, since)
        if before is not None:
            floor = wanted.since_revision
            wanted = replace(wanted, since_revision=before if floor is None else max(before, floor))
    if until is not None:
        last = await revision_at(session, until)
        if last is None:
            return [], None  # nothing kept was committed by then
        upper = min(last, wanted.until_revision) if wanted.until_revision is not None else last
        wanted = replace(wanted, until_revision=upper)
    page = await list_changes(session, wanted, limit + 1)
    next_cursor = encode_cursor([page[limit - 1].id]) if len(page) > limit else None
    return page[:limit], next_cursor


# --- the difference between two revisions --------------------------------------------

# A revision: a non-negative 64-bit integer, in digits only.
_REVISION = re.compile(r"[0-9]{1,19}")


def parse_bound(parameter: str, value: str) -> int | datetime:
    """A diff's end as given: a revision (an integer) or an RFC 3339 time with an offset.

    >>> parse_bound("from", "42"), parse_bound("to", "2026-12-01T09:00:00z").isoformat()
    (42, '2026-12-01T09:00:00+00:00')
    """
    text = value.upper()  # RFC 3339 allows "t" and "z"
    if _REVISION.fullmatch(text):
        revision = int(text)
        if revision > MAX_REVISION:
            raise query_problem(parameter, f"revision {text} is out of range")
        return revision
    if not RFC3339_TIME.fullmatch(text):
        raise query_problem(
            parameter,
            "expected a graph revision (an integer) or an RFC 3339 time with an offset, "
            "e.g. 2026-12-01T09:00:00Z",
        )
    try:
        # Python keeps microseconds: finer digits are cut.
        return datetime.fromisoformat(text)
    except ValueError:
        raise query_problem(parameter, f"{value} is not a valid time") from None


@dataclass(frozen=True, slots=True)
class _DiffInputs:
    start: Bound
    end: Bound
    before: KeyedStates
    after: KeyedStates
    cycles: CycleEvents


async def _resolve(
    session: AsyncSession,
    parameter: str,
    value: int | datetime,
    current: int,
    now: datetime,
    retention: timedelta,
) -> int:
    """The revision `value` names, or the 400 / 410 that says why it cannot be answered.

    A time is the last revision committed at or before it; one older than the retention
    window (now - retention) or before the history kept is gone (410), one ahead of the
    clock a 400. A revision past the current one is a 400; one before the state at the
    retention cutoff, or before the oldest the history kept, is gone: the same rule as a
    time, whether or not the prune job has run yet.
    """
    if isinstance(value, datetime):
        return min(await revision_at_time(session, parameter, value, now, retention), current)
    if value > current:
        raise query_problem(parameter, f"revision {value} is past the current revision ({current})")
    begins = await history_begins(session)
    # With no revision time kept at all (a graph never written since its history
    # began), only the current revision is known.
    oldest = current if begins is None else begins[0]
    at_cutoff = await revision_at(session, now - retention)
    if at_cutoff is not None:
        oldest = max(oldest, at_cutoff)
    if value < oldest:
        raise HistoryGoneError(
            f"{parameter} revision {value} is older than the history kept (the oldest "
            f"revision it can answer is {oldest})."
        )
    return value


async def _diff_inputs(
    session: AsyncSession,
    start: int | datetime,
    end: int | datetime | None,
    now: datetime,
    retention: timedelta,
    limit: int,
) -> _DiffInputs:
    """Everything a diff needs, read in one transaction: O(entries of the revisions in
    the range + entries that ended in it) rows, no graph rebuilt (catalog/change_log.py)."""
    if isinstance(start, datetime) and isinstance(end, datetime) and start > end:
        raise query_problem("from", "from is later than to")
    current = await CatalogRepository(session).current_revision()
    first = await _resolve(session, "from", start, current, now, retention)
    last = current if end is None else await _resolve(session, "to", end, current, now, retention)
    if first > last:
        raise query_problem("from", f"from (revision {first}) is after to (revision {last})")
    times = await revision_times(session, (first, last))
    bounds = Bound(first, times.get(first)), Bound(last, times.get(last))
    if first == last:
        empty = KeyedStates({}, {})
        return _DiffInputs(*bounds, empty, empty, CycleEvents([], [], 0, 0))
    before = await states_ended_between(session, first, last)
    after = await states_started_between(session, first, last)
    kinds = (ChangeType.CYCLE_OPENED, ChangeType.CYCLE_RESOLVED)
    counts = await count_changes(session, first, last, kinds)
    events = []
    for kind in kinds:
        wanted = ChangeFilter(since_revision=first, until_revision=last, types=(kind,))
        entries = await list_changes(session, wanted, limit) if counts[kind] else []
        events.append([cycle_event(e.revision, e.changed_at, e.state) for e in entries])
    cycles = CycleEvents(
        events[0], events[1], counts[ChangeType.CYCLE_OPENED], counts[ChangeType.CYCLE_RESOLVED]
    )
    return _DiffInputs(*bounds, before, after, cycles)


def _compared(inputs: _DiffInputs, limit: int) -> GraphDiff:
    return GraphDiff(
        inputs.start,
        inputs.end,
        compare(inputs.before.services, inputs.after.services, limit),
        compare(inputs.before.edges, inputs.after.edges, limit),
        inputs.cycles,
    )


async def graph_diff(
    database: Database,
    start: str,
    end: str | None,
    *,
    now: datetime,
    retention: timedelta,
    limit: int = MAX_LIST_ENTRIES,
) -> GraphDiff:
    """The difference between the graph at `start` and at `end` (the current revision
    when None), each a revision or an RFC 3339 time (`parse_bound`).

    Read from the change log in one transaction on one snapshot of the database (a
    concurrent prune cannot take rows away between its statements), compared in a worker
    thread outside it: O(k log k) for the k things that changed, never O(graph size)
    unless the whole graph changed.
    """
    first = parse_bound("from", start)
    last = None if end is None else parse_bound("to", end)
    inputs = await database.consistent_read(
        lambda session: _diff_inputs(session, first, last, now, retention, limit)
    )
    return await asyncio.to_thread(_compared, inputs, limit)
