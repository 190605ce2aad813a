"""The history's retention with a controllable clock, on both engines: the prune forgets
what ended before the graph at the cutoff, keeps that graph exactly answerable and
everything current, and what is older is 410 afterwards (as of and diff). Also the diff's
list bound, and the `history-prune` job as jobs/wiring.py schedules it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from slo_engine.catalog.change_log import graph_at, history_begins
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.catalog.tables import graph_changes, graph_revisions
from slo_engine.discovery.wiring import build_discovery
from slo_engine.errors import HistoryGoneError
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.history.diff import GraphDiff
from slo_engine.history.retention import prune_history
from slo_engine.history.service import graph_diff
from slo_engine.infra.db import Database
from slo_engine.ingestion.retraction import delete_service, retract_edge
from slo_engine.ingestion.schemas import ingestion_request
from slo_engine.ingestion.service import ingest
from slo_engine.jobs.runner import JobRunner
from slo_engine.jobs.wiring import build_jobs
from slo_engine.live.as_of import PastGraphs
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings

RETENTION = timedelta(days=90)


async def _ingest(
    database: Database,
    cache: LiveGraph,
    edges: list[dict[str, Any]],
    nodes: list[dict[str, Any]] | None = None,
) -> int:
    request = ingestion_request({"source": "manual", "nodes": nodes or [], "edges": edges})
    async with database.session_scope() as session:
        return (await ingest(session, cache, request, "test")).revision


def _edge(source: str, target: str, **attributes: Any) -> dict[str, Any]:
    return {"source": source, "target": target, "attributes": attributes}


async def _retract(database: Database, cache: LiveGraph, source: str, target: str) -> int:
    async with database.session_scope() as session:
        return (await retract_edge(session, cache, source, target, None, "test")).revision


async def _delete(database: Database, cache: LiveGraph, service_id: str) -> int:
    async with database.session_scope() as session:
        return (await delete_service(session, cache, service_id, True, "test")).revision


Graph = tuple[list[Service], list[DependencyReport]]


async def _graph_at(database: Database, revision: int) -> Graph:
    """The graph the change log rebuilds at `revision`, in a stable order."""
    services, reports = await database.read(lambda session: graph_at(session, revision))
    return (
        sorted(services, key=lambda s: s.service_id),
        sorted(reports, key=lambda r: (r.source, r.target, r.discovery_source)),
    )


async def _entries(database: Database) -> list[tuple[Any, ...]]:
    """Every change-log entry: (id, revision, valid_to, type, keys)."""

    async def read(session: Any) -> list[tuple[Any, ...]]:
        result = await session.execute(
            select(
                graph_changes.c.id,
                graph_changes.c.revision,
                graph_changes.c.valid_to,
                graph_changes.c.change_type,
                graph_changes.c.service_id,
                graph_changes.c.target_id,
                graph_changes.c.discovery_source,
            ).order_by(graph_changes.c.id)
        )
        return [tuple(row) for row in result]

    return await database.read(read)


async def _revisions_kept(database: Database) -> list[int]:
    async def read(session: Any) -> list[int]:
        result = await session.execute(
            select(graph_revisions.c.revision).order_by(graph_revisions.c.revision)
        )
        return [int(r) for r in result.scalars()]

    return await database.read(read)


async def _diff(
    database: Database, start: int | datetime, end: int | datetime | None, now: datetime
) -> GraphDiff:
    def text(bound: int | datetime) -> str:
        return bound.isoformat() if isinstance(bound, datetime) else str(bound)

    return await graph_diff(
        database, text(start), None if end is None else text(end), now=now, retention=RETENTION
    )


@dataclass(frozen=True)
class History:
    """Revisions r[0..7]; `cutoff` is a time after r[4] and before r[5]; `early` one
    after r[0] (before the cutoff)."""

    r: list[int]
    early: datetime
    cutoff: datetime


async def _write_history(database: Database) -> History:
    """Five writes before the cutoff time, three after:

    0. a (team t1) -> b (hard), b -> c, c -> d, x -> y
    1. a's team t2; a -> b soft
    2. b -> c retracted
    3. d deleted (with c -> d)
    4. a -> e and e -> a: a cycle opens            <- the graph at the cutoff
    5. a -> b degraded (its state valid at the cutoff, from 1, ends here)
    6. e -> a retracted: the cycle resolves
    7. f -> g
    """
    cache = LiveGraph()
    r = [
        await _ingest(
            database,
            cache,
            [
                _edge("a", "b", criticality="hard"),
                _edge("b", "c"),
                _edge("c", "d"),
                _edge("x", "y"),
            ],
            [{"service_id": "a", "team": "t1"}],
        )
    ]
    early = datetime.now(UTC)
    await asyncio.sleep(0.01)
    r.append(
        await _ingest(
            database,
            cache,
            [_edge("a", "b", criticality="soft")],
            [{"service_id": "a", "team": "t2"}],
        )
    )
    r.append(await _retract(database, cache, "b", "c"))
    r.append(await _delete(database, cache, "d"))
    r.append(await _ingest(database, cache, [_edge("a", "e"), _edge("e", "a")]))
    # Revision times are the wall clock's: the cutoff falls strictly between r4 and r5.
    await asyncio.sleep(0.01)
    cutoff = datetime.now(UTC)
    await asyncio.sleep(0.01)
    r.append(await _ingest(database, cache, [_edge("a", "b", criticality="degraded")]))
    r.append(await _retract(database, cache, "e", "a"))
    r.append(await _ingest(database, cache, [_edge("f", "g")]))
    assert r == list(range(r[0], r[0] + 8))
    return History(r, early, cutoff)


def _summary(diff: GraphDiff) -> dict[str, Any]:
    """A diff's content, comparable between two reads."""
    return {
        "bounds": (diff.start, diff.end),
        "services": diff.services,
        "edges": diff.edges,
        "cycles": diff.cycles,
    }


async def test_pruning_keeps_the_graph_at_the_cutoff_and_everything_current(
    database: Database,
) -> None:
    history = await _write_history(database)
    r = history.r
    now = history.cutoff + RETENTION  # the controllable clock: the cutoff is history.cutoff

    # Nothing is older than the retention at the real time: nothing goes.
    untouched = await _entries(database)
    nothing = await prune_history(database, RETENTION, datetime.now(UTC))
    assert (nothing.cutoff_revision, nothing.entries_removed) == (None, 0)
    assert await _entries(database) == untouched

    # Before: the graph at the cutoff, the current one, and what should go.
    at_cutoff = await _graph_at(database, r[4])
    assert sorted(s.service_id for s in at_cutoff[0]) == ["a", "b", "c", "e", "x", "y"]
    assert [(e.source, e.target, e.criticality) for e in at_cutoff[1]] == [
        ("a", "b", "soft"),
        ("a", "e", None),
        ("e", "a", None),
        ("x", "y", None),
    ]
    async with database.session_scope() as session:
        stored = await CatalogRepository(session).load_graph()
    current = await _graph_at(database, r[7])
    assert [s.service_id for s in current[0]] == sorted(s.service_id for s in stored[0])
    assert [(e.source, e.target) for e in current[1]] == sorted(
        (e.source, e.target) for e in stored[1]
    )
    ended = [e for e in untouched if e[2] is not None and e[2] <= r[4]]
    # States replaced or ended by then, and the events of those revisions.
    assert sorted((e[1] - r[0], *e[3:]) for e in ended) == [
        (0, "edge.reported", "a", "b", "manual"),  # replaced at 1
        (0, "edge.reported", "b", "c", "manual"),  # retracted at 2
        (0, "edge.reported", "c", "d", "manual"),  # retracted at 3
        (0, "service.created", "a", None, None),  # updated at 1
        (0, "service.created", "d", None, None),  # deleted at 3
        (2, "edge.retracted", "b", "c", "manual"),
        (3, "edge.retracted", "c", "d", "manual"),
        (3, "service.deleted", "d", None, None),
        (4, "cycle.opened", "a", None, None),
    ]
    kept_revisions = [rev for rev in await _revisions_kept(database) if rev >= r[4]]
    later = _summary(await _diff(database, r[4], r[7], datetime.now(UTC)))
    early_revision = (await _diff(database, history.early, None, datetime.now(UTC))).start
    assert early_revision.revision == r[0]  # answerable before the prune

    outcome = await prune_history(database, RETENTION, now)
    assert outcome.cutoff_revision == r[4]
    assert outcome.entries_removed == len(ended)
    assert outcome.revisions_removed > 0

    # What ended at or before the cutoff revision is gone; nothing else.
    after = await _entries(database)
    assert after == [e for e in untouched if e not in ended]
    assert [e for e in after if e[2] is None] == [e for e in untouched if e[2] is None]
    assert await _revisions_kept(database) == kept_revisions
    begins = await database.read(history_begins)
    assert begins is not None and begins[0] == r[4]

    # The graph at the cutoff, and the current one, are rebuilt exactly as before.
    assert await _graph_at(database, r[4]) == at_cutoff
    assert await _graph_at(database, r[7]) == current
    # And so is the difference since the cutoff.
    assert _summary(await _diff(database, r[4], r[7], datetime.now(UTC))) == later
    assert _summary(await _diff(database, history.cutoff, None, now)) == later

    # Before the cutoff: gone, by revision or by time, with the real clock or the
    # controlled one, for diff and for as_of.
    for start in (r[0], r[3], history.early):
        for clock in (datetime.now(UTC), now):
            with pytest.raises(HistoryGoneError):
                await _diff(database, start, r[7], clock)
    past = PastGraphs(database, kept=2, retention_days=RETENTION.days)
    with pytest.raises(HistoryGoneError):
        await past.revision_at(history.early)
    assert await past.revision_at(history.cutoff) == r[4]
    snapshot = await past.snapshot(r[4], None)
    assert sorted(snapshot.services) == [s.service_id for s in at_cutoff[0]]

    # A second run finds nothing more to forget.
    again = await prune_history(database, RETENTION, now)
    assert (again.cutoff_revision, again.entries_removed, again.revisions_removed) == (r[4], 0, 0)
    assert await _entries(database) == after


async def test_the_diff_cuts_its_lists_and_keeps_whole_counts(database: Database) -> None:
    history = await _write_history(database)
    r = history.r
    diff = await graph_diff(
        database, str(r[0]), str(r[7]), now=datetime.now(UTC), retention=RETENTION, limit=1
    )
    # b -> c, c -> d and e's cycle edge a -> e ... : more than one of each kind.
    assert diff.edges.removed_count == 2 and len(diff.edges.removed) == 1
    assert diff.edges.removed[0][0] == ("b", "c", "manual")
    assert diff.edges.added_count == 2 and [k for k, _ in diff.edges.added] == [
        ("a", "e", "manual")
    ]
    assert diff.truncated
    whole = await graph_diff(
        database, str(r[0]), str(r[7]), now=datetime.now(UTC), retention=RETENTION
    )
    assert not whole.truncated
    assert [k for k, _ in whole.edges.added] == [("a", "e", "manual"), ("f", "g", "manual")]
    assert [k for k, _ in whole.edges.removed] == [("b", "c", "manual"), ("c", "d", "manual")]
    assert whole.edges.changed[0][1]["criticality"].new == "degraded"


async def test_the_prune_job_runs_on_its_interval(database_url: str) -> None:
    settings = Settings(database_url=database_url, history_prune_interval_minutes=7)
    database = Database.from_settings(settings)
    try:
        history = await _write_history(database)
        jobs = {
            job.name: job
            for job in build_jobs(settings, database, LiveGraph(), build_discovery(settings))
        }
        assert jobs["history-prune"].interval_seconds == 7 * 60
        runner = JobRunner(database, list(jobs.values()), replica="test")
        now = history.cutoff + timedelta(days=settings.history_retention_days)
        summary = await runner.run_in_slot("history-prune", now)
        assert summary is not None and f"entries before revision {history.r[4]};" in summary
        begins = await database.read(history_begins)
        assert begins is not None and begins[0] == history.r[4]
    finally:
        await database.dispose()
