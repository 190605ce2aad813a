"""Staleness with a controllable clock: observed edges age, declared ones do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from slo_engine.alerts.repository import AlertRepository
from slo_engine.alerts.scan import scan_cycles
from slo_engine.alerts.tables import circular_dependency_alerts
from slo_engine.catalog.change_log import latest_revision, outlines_between
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.change_log import ChangeType
from slo_engine.graph.model import AlertStatus
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.infra.db import Database
from slo_engine.ingestion.schemas import ingestion_request
from slo_engine.ingestion.service import ingest
from slo_engine.ingestion.staleness import mark_stale_edges
from slo_engine.live.graph import LiveGraph
from tests.integration.test_snapshot_follows_database import _view

WEEK = timedelta(hours=168)
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


async def _ingest(
    database: Database, cache: LiveGraph, source: str, at: datetime, edges: list[tuple[str, str]]
) -> Any:
    request = ingestion_request(
        {
            "source": source,
            "observed_at": at.isoformat(),
            "edges": [{"source": s, "target": t} for s, t in edges],
        }
    )
    async with database.session_scope() as session:
        return await ingest(session, cache, request, "test")


async def _stale_flags(database: Database) -> dict[tuple[str, str, str], bool]:
    async with database.session_scope() as session:
        _, reports = await CatalogRepository(session).load_graph()
    return {(r.source, r.target, str(r.discovery_source)): r.is_stale for r in reports}


async def _rebuilt(database: Database) -> GraphSnapshot:
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        services, reports = await repository.load_graph()
        return GraphSnapshot.build(await repository.current_revision(), services, reports)


async def test_observed_edges_go_stale_declared_ones_do_not_and_cycles_follow(
    database: Database,
) -> None:
    cache = LiveGraph()
    created = await _ingest(
        database, cache, "otel_service_graph", T0, [("a", "b"), ("b", "c"), ("c", "a")]
    )
    assert len(created.circular_dependencies_detected) == 1
    await _ingest(database, cache, "manual", T0, [("x", "y"), ("a", "b")])
    await _ingest(database, cache, "jaeger", T0 + timedelta(days=5), [("d", "e")])

    # Six days on: nothing is a week old yet.
    outcome = await mark_stale_edges(database, cache, WEEK, T0 + timedelta(days=6))
    assert outcome.flagged == 0
    assert not any((await _stale_flags(database)).values())

    # Eight days on: the OTel edges are, the Jaeger one (seen on day 5) is not, and the
    # manual ones never age.
    outcome = await mark_stale_edges(database, cache, WEEK, T0 + timedelta(days=8))
    assert outcome.flagged == 3
    flags = await _stale_flags(database)
    assert flags == {
        ("a", "b", "otel_service_graph"): True,
        ("b", "c", "otel_service_graph"): True,
        ("c", "a", "otel_service_graph"): True,
        ("a", "b", "manual"): False,
        ("x", "y", "manual"): False,
        ("d", "e", "jaeger"): False,
    }
    # The snapshot followed exactly, without a reload.
    async with database.session_scope() as session:
        followed = await cache.current(CatalogRepository(session))
    assert _view(followed) == _view(await _rebuilt(database))
    # a -> b is still fresh through its manual report; b -> c and c -> a are not.
    assert followed.downstream_fresh.get("b", []) == []
    assert followed.downstream_fresh["a"] == ["b"]
    # The cycle is now closed only by stale edges: its alert is resolved.
    async with database.session_scope() as session:
        alerts = await AlertRepository(session).list_alerts(None, None, 10)
    assert [a.status for a in alerts] == [AlertStatus.RESOLVED]

    # Services seen only through stale edges are flagged, not deleted.
    async with database.session_scope() as session:
        flagged_services = await CatalogRepository(session).only_stale_edges(
            ["a", "b", "c", "d", "x", "nobody"]
        )
    assert flagged_services == {"c"}  # a and b keep the manual a -> b

    # Running again changes nothing; services stay (flagged edges are never deleted).
    again = await mark_stale_edges(database, cache, WEEK, T0 + timedelta(days=8))
    assert again.flagged == 0
    assert set(followed.services) == {"a", "b", "c", "d", "e", "x", "y"}

    # Seen again: fresh again, and the cycle is back.
    back = await _ingest(
        database, cache, "otel_service_graph", T0 + timedelta(days=9), [("b", "c"), ("c", "a")]
    )
    assert len(back.circular_dependencies_detected) == 1
    flags = await _stale_flags(database)
    assert flags[("b", "c", "otel_service_graph")] is False
    assert flags[("a", "b", "otel_service_graph")] is True


async def test_the_cycle_scan_job_reconciles_alerts_with_the_graph(database: Database) -> None:
    cache = LiveGraph()
    await _ingest(database, cache, "manual", T0, [("a", "b"), ("b", "a"), ("c", "c")])
    assert await scan_cycles(database, cache, datetime.now(UTC)) == 2
    async with database.session_scope() as session:
        alerts = await AlertRepository(session).list_alerts(None, None, 10)
    assert sorted(a.status for a in alerts) == [AlertStatus.OPEN, AlertStatus.OPEN]


async def test_cycles_the_scan_finds_are_recorded_at_a_revision_of_their_own(
    database: Database,
) -> None:
    """A reader of the change log past the current revision (webhook delivery) sees the
    scan's entries: they are not written under a revision already committed."""
    cache = LiveGraph()
    await _ingest(database, cache, "manual", T0, [("a", "b"), ("b", "a")])
    async with database.session_scope() as session:
        before = await latest_revision(session)
        # The alert forgotten (as after a failed scan): the scan opens it again.
        await session.execute(delete(circular_dependency_alerts))
    assert await scan_cycles(database, cache, datetime.now(UTC)) == 1
    async with database.session_scope() as session:
        after = await latest_revision(session)
        entries = [e async for e in outlines_between(session, before, after)]
    assert after == before + 1
    assert [(e.type, e.actor, e.cycle) for e in entries] == [
        (ChangeType.CYCLE_OPENED, "job:cycle-scan", {"cycle_path": ["a", "b", "a"]})
    ]
    assert cache.revision == after  # this process's live graph moved with it
    # Nothing new found: no revision.
    assert await scan_cycles(database, cache, datetime.now(UTC)) == 1
    async with database.session_scope() as session:
        assert await latest_revision(session) == after
