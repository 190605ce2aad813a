"""The ingestion use case on real databases: all-or-nothing, cycle detection that never
blocks ingestion, and several processes ("replicas") sharing one database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

import pytest
from sqlalchemy import func, select

from slo_engine.alerts.tables import circular_dependency_alerts
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.catalog.tables import service_dependencies, services
from slo_engine.graph.model import Direction
from slo_engine.infra.db import Database
from slo_engine.ingestion import cycle_check
from slo_engine.ingestion import service as ingestion_service
from slo_engine.ingestion.schemas import IngestionRequest, ingestion_request
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from slo_engine.topology.service import query_subgraph


def _request(*edges: tuple[str, str], source: str = "manual") -> IngestionRequest:
    return ingestion_request(
        {"source": source, "edges": [{"source": s, "target": t} for s, t in edges]}
    )


async def _counts(database: Database) -> tuple[int, int, int, int]:
    async with database.session_scope() as session:
        n_services = (
            await session.execute(select(func.count()).select_from(services))
        ).scalar_one()
        n_edges = (
            await session.execute(select(func.count()).select_from(service_dependencies))
        ).scalar_one()
        n_alerts = (
            await session.execute(select(func.count()).select_from(circular_dependency_alerts))
        ).scalar_one()
        revision = await CatalogRepository(session).current_revision()
    return n_services, n_edges, n_alerts, revision


async def _ingest(
    database: Database, cache: LiveGraph, request: IngestionRequest
) -> list[list[str]]:
    async with database.session_scope() as session:
        result = await ingestion_service.ingest(session, cache, request, "test")
    return [c.cycle_path for c in result.circular_dependencies_detected]


async def _downstream(database: Database, cache: LiveGraph, root: str) -> bytes:
    async with database.session_scope() as session:
        return await query_subgraph(
            session,
            cache,
            root,
            direction=Direction.DOWNSTREAM,
            depth=10,
            include_stale=False,
            max_nodes=100,
        )


async def test_a_failure_mid_ingestion_stores_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = LiveGraph()
    await _ingest(database, cache, _request(("a", "b")))
    before = await _counts(database)

    async def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(CatalogRepository, "upsert_reports", explode)
    with pytest.raises(RuntimeError):
        await _ingest(database, cache, _request(("x", "y"), ("y", "x")))
    assert await _counts(database) == before
    # The in-memory snapshot did not take the failed write either.
    monkeypatch.undo()
    assert b'"x"' not in await _downstream(database, cache, "a")


async def test_failed_cycle_detection_keeps_the_graph_and_warns(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("alerts table locked")

    monkeypatch.setattr(cycle_check, "reconcile_alerts", explode)
    async with database.session_scope() as session:
        result = await ingestion_service.ingest(
            session, LiveGraph(), _request(("a", "b"), ("b", "a")), "test"
        )
    assert result.edges_upserted == 2
    assert any("cycle detection failed" in w for w in result.warnings)
    n_services, n_edges, n_alerts, _ = await _counts(database)
    assert (n_services, n_edges, n_alerts) == (2, 2, 0)


async def test_replicas_see_each_others_writes(database_url: str) -> None:
    replica_a = Database.from_settings(Settings(database_url=database_url))
    replica_b = Database.from_settings(Settings(database_url=database_url))
    cache_a, cache_b = LiveGraph(), LiveGraph()
    try:
        await _ingest(replica_a, cache_a, _request(("a", "b")))
        assert b'"b"' in await _downstream(replica_b, cache_b, "a")
        await _ingest(replica_b, cache_b, _request(("b", "c")))
        assert b'"c"' in await _downstream(replica_a, cache_a, "a")
        await _ingest(replica_a, cache_a, _request(("c", "d")))
        assert b'"d"' in await _downstream(replica_b, cache_b, "a")
        assert b'"d"' in await _downstream(replica_a, cache_a, "a")
    finally:
        await replica_a.dispose()
        await replica_b.dispose()


async def test_concurrent_writers_never_miss_a_cycle(database_url: str) -> None:
    """Two replicas each add half of a cycle at the same time: exactly one reports it."""
    replicas = [Database.from_settings(Settings(database_url=database_url)) for _ in range(2)]
    try:
        for round_number in range(5):
            a, b = f"r{round_number}-a", f"r{round_number}-b"
            found = await asyncio.gather(
                _ingest(replicas[0], LiveGraph(), _request((a, b))),
                _ingest(replicas[1], LiveGraph(), _request((b, a))),
            )
            assert sorted(len(cycles) for cycles in found) == [0, 1], found
        assert (await _counts(replicas[0]))[2] == 5
    finally:
        for replica in replicas:
            await replica.dispose()


_CRASHING_WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from slo_engine.infra.db import Database
    from slo_engine.ingestion.service import ingest
    from slo_engine.ingestion.schemas import ingestion_request
    from slo_engine.settings import Settings
    from slo_engine.live.graph import LiveGraph

    async def main():
        database = Database.from_settings(Settings(database_url=sys.argv[1]))
        request = ingestion_request({
            "source": "manual",
            "edges": [{"source": f"c{i}", "target": f"c{i + 1}"} for i in range(5000)],
        })
        async with database.session_scope() as session:
            await ingest(session, LiveGraph(), request, "test")
            print("written, not committed", flush=True)
            time.sleep(60)  # killed here, inside the transaction

    asyncio.run(main())
    """
)


async def test_a_process_killed_mid_transaction_leaves_the_graph_as_it_was(
    database: Database, database_url: str
) -> None:
    await _ingest(database, LiveGraph(), _request(("keep", "me")))
    before = await _counts(database)
    await database.dispose()  # no pooled SQLite connection may hide the crash
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CRASHING_WRITER,
        database_url,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ},
    )
    try:
        assert writer.stdout is not None
        line = await asyncio.wait_for(writer.stdout.readline(), 60)
        assert line.decode().strip() == "written, not committed"
        writer.send_signal(signal.SIGKILL)
        await asyncio.wait_for(writer.wait(), 10)
    finally:
        if writer.returncode is None:
            writer.kill()
            await writer.wait()
    assert await _counts(database) == before
    # And the database still takes writes (no lock left behind).
    await _ingest(database, LiveGraph(), _request(("keep", "going")))
    assert (await _counts(database))[1] == 2
