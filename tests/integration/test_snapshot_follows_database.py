"""The in-memory snapshot that writes keep current must equal the graph the database
holds: after any sequence of ingestions, applying the written rows in process gives
exactly what a rebuild from the database gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.model import DiscoverySource, NodeKind
from slo_engine.graph.snapshot import GraphSnapshot, reports_of
from slo_engine.infra.db import Database
from slo_engine.ingestion.schemas import IngestionRequest, ingestion_request
from slo_engine.ingestion.service import ingest
from slo_engine.live import graph as live_module
from slo_engine.live.graph import LiveGraph
from slo_engine.observability.metrics import REGISTRY

NAMES = [f"svc-{i}" for i in range(12)]
KINDS = [kind.value for kind in NodeKind]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _random_request(rng: random.Random) -> IngestionRequest:
    nodes: list[dict[str, Any]] = []
    for name in rng.sample(NAMES, rng.randint(0, 4)):
        node: dict[str, Any] = {"service_id": name}
        if rng.random() < 0.5:
            node["team"] = rng.choice(["a", "b", ""])
        if rng.random() < 0.3:
            node["display_name"] = rng.choice(["X", "Y"])
        if rng.random() < 0.3:
            node["metadata"] = {"n": rng.randint(0, 3)}
        if rng.random() < 0.3:
            node["criticality"] = rng.choice(["low", "high"])
        if rng.random() < 0.25:
            node["kind"] = rng.choice(KINDS)
        nodes.append(node)
    edges = []
    for _ in range(rng.randint(0, 8)):
        attributes: dict[str, Any] = {}
        if rng.random() < 0.5:
            attributes["timeout_ms"] = rng.randint(1, 1000)
        if rng.random() < 0.3:
            attributes["request_rate"] = rng.random() * 10
        if rng.random() < 0.2:
            attributes["retry_config"] = {"max_retries": rng.randint(0, 5)}
        edge: dict[str, Any] = {
            "source": rng.choice(NAMES),
            "target": rng.choice(NAMES),
            "attributes": attributes,
        }
        # What sources say the ends are (node kinds): declared kinds must win, in
        # the database and in process alike.
        if rng.random() < 0.3:
            edge["target_kind"] = rng.choice(KINDS)
        if rng.random() < 0.15:
            edge["source_kind"] = rng.choice(KINDS)
        edges.append(edge)
    return ingestion_request(
        {
            "source": rng.choice(list(DiscoverySource)).value,
            "observed_at": (T0 + timedelta(minutes=rng.randint(0, 600))).isoformat(),
            "nodes": nodes,
            "edges": edges,
        }
    )


def _view(snapshot: GraphSnapshot) -> tuple[Any, ...]:
    services = sorted(snapshot.services.values(), key=lambda s: s.service_id)
    reports = sorted(
        (r for stored in snapshot.pairs.values() for r in reports_of(stored)),
        key=lambda r: (r.source, r.target, r.discovery_source),
    )
    adjacency = {node: sorted(targets) for node, targets in snapshot.downstream_fresh.items()}
    return services, reports, adjacency


def reloads() -> float:
    """Whole-graph loads so far, by every live graph of this process (the metric)."""
    return (
        REGISTRY.get_sample_value("slo_engine_live_graph_updates_total", {"kind": "reload"}) or 0.0
    )


async def test_applied_writes_equal_a_rebuild(database: Database) -> None:
    rng = random.Random(20261126)
    cache = LiveGraph()
    loads_before = reloads()
    for _ in range(40):
        async with database.session_scope() as session:
            await ingest(session, cache, _random_request(rng), "test")
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        followed = await cache.current(repository)
        services, reports = await repository.load_graph()
        revision = await repository.current_revision()
    assert reloads() - loads_before == 1  # only the first write loaded the (empty) graph
    rebuilt = GraphSnapshot.build(revision, services, reports)
    assert followed.revision == rebuilt.revision == 40
    assert _view(followed) == _view(rebuilt)


async def test_catch_ups_equal_a_rebuild(database: Database) -> None:
    """A process that did not write follows another's writes by catch-ups alone (the
    rows written since its revision), and ends with exactly what a rebuild gives."""
    rng = random.Random(20261202)
    writer, follower = LiveGraph(), LiveGraph(database)
    await follower.reload()
    loads_before = 0.0
    for write in range(30):
        async with database.session_scope() as session:
            await ingest(session, writer, _random_request(rng), "test")
        if write == 0:
            loads_before = reloads()  # after the writer's own first load
        if rng.random() < 0.5:
            await follower.refresh()
    await follower.refresh()
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        services, reports = await repository.load_graph()
        revision = await repository.current_revision()
    assert reloads() == loads_before  # no load after the first: every write a catch-up
    assert follower.revision == revision == 30
    assert _view(follower.snapshot) == _view(GraphSnapshot.build(revision, services, reports))


async def test_a_reload_never_goes_behind_a_write_applied_meanwhile(database: Database) -> None:
    """A write of this process that commits, and is applied, while the whole graph is
    being read must not be lost when the graph read before it is swapped in."""
    rng = random.Random(7)
    live = LiveGraph(database)
    await live.reload()
    read_graph = database.consistent_read
    raced = False

    async def write_during_the_read(work: Any) -> Any:
        nonlocal raced
        result = await read_graph(work)
        if not raced:
            raced = True
            async with database.session_scope() as session:
                await ingest(session, live, _random_request(rng), "test")
            assert live.revision == 1  # applied to the snapshot being replaced
        return result

    database.consistent_read = write_during_the_read  # type: ignore[method-assign]
    try:
        await live.reload()
    finally:
        database.consistent_read = read_graph  # type: ignore[method-assign]
    assert raced
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        services, reports = await repository.load_graph()
    assert live.revision == 1
    assert _view(live.snapshot) == _view(GraphSnapshot.build(1, services, reports))


async def test_a_large_change_is_reloaded_not_applied_on_the_loop(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past LARGE_CHANGE_ROWS a catch-up reloads the graph (built in a worker thread)
    instead of applying the rows in one step on the event loop; the result is the same."""
    monkeypatch.setattr(live_module, "LARGE_CHANGE_ROWS", 5)
    rng = random.Random(11)
    writer, follower = LiveGraph(), LiveGraph(database)
    await follower.reload()
    request = _random_request(rng)
    while len(request.edges) < 6:
        request = _random_request(rng)
    async with database.session_scope() as session:
        await ingest(session, writer, request, "test")
    loads_before = reloads()
    await follower.refresh()
    assert reloads() - loads_before == 1  # the reload instead of a catch-up
    async with database.session_scope() as session:
        repository = CatalogRepository(session)
        services, reports = await repository.load_graph()
    assert _view(follower.snapshot) == _view(GraphSnapshot.build(1, services, reports))
