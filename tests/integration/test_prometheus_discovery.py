"""The OTel service-graph and Istio sources against a real Prometheus server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from slo_engine.catalog.repository import CatalogRepository
from slo_engine.discovery import service
from slo_engine.discovery.http import JsonGetter
from slo_engine.discovery.prometheus import PrometheusClient
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.sources.base import Discovered
from slo_engine.discovery.sources.mesh import ServiceMeshSource
from slo_engine.discovery.sources.otel import OtelServiceGraphSource
from slo_engine.graph.model import NodeKind
from slo_engine.infra.db import Database
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings


async def _discover(url: str, kind: str) -> Discovered:
    async with httpx.AsyncClient(timeout=10) as client:
        prometheus = PrometheusClient(url, JsonGetter(client, max_bytes=10_000_000, retries=0))
        source = (
            OtelServiceGraphSource(prometheus, 15)
            if kind == "otel"
            else ServiceMeshSource(prometheus, 15)
        )
        return await source.discover()


def edges_of(found: Discovered) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["source"], e["target"]): dict(e.get("attributes", {})) for e in found.request.edges}


def approx(figures: dict[str, Any]) -> dict[str, Any]:
    return {
        k: pytest.approx(v, rel=1e-3) if isinstance(v, float) else v for k, v in figures.items()
    }


def test_otel_service_graph_from_a_real_prometheus(prometheus_url: str) -> None:
    edges = edges_of(asyncio.run(_discover(prometheus_url, "otel")))

    assert set(edges) == {
        ("frontend", "checkout"),
        ("checkout", "orders"),
        ("checkout", "postgres"),
        ("user", "frontend"),
        ("cart", "redis"),
        ("checkout", "payments"),
    }  # ("frontend", "legacy") carried nothing in the window: left out
    assert edges[("frontend", "checkout")] == approx(
        {
            "communication_mode": "sync",
            "request_rate": 2.0,
            "error_rate": 0.1,
            "latency_p95_ms": 175.0,
        }
    )
    assert edges[("checkout", "orders")] == approx(
        {"communication_mode": "async", "protocol": "messaging_system", "request_rate": 1.0}
    )
    assert edges[("checkout", "postgres")] == approx(
        {
            "communication_mode": "sync",
            "protocol": "database",
            "request_rate": 5.0,
            "latency_p95_ms": 40.0,
        }
    )
    assert edges[("user", "frontend")]["protocol"] == "virtual_node"
    assert edges[("cart", "redis")] == approx(
        {"communication_mode": "sync", "request_rate": 3.0, "latency_p95_ms": 4.0}
    )
    assert edges[("checkout", "payments")] == {"communication_mode": "sync"}


def test_otel_service_graph_says_what_the_ends_are(prometheus_url: str) -> None:
    found = asyncio.run(_discover(prometheus_url, "otel"))
    kinds = {
        (e["source"], e["target"]): (e.get("source_kind"), e.get("target_kind"))
        for e in found.request.edges
        if e.get("source_kind") or e.get("target_kind")
    }
    assert kinds == {
        ("checkout", "orders"): (None, "messaging"),
        ("checkout", "postgres"): (None, "database"),
        ("user", "frontend"): ("virtual", None),
    }


def test_istio_from_a_real_prometheus(prometheus_url: str) -> None:
    found = asyncio.run(_discover(prometheus_url, "mesh"))
    edges = edges_of(found)

    assert edges == {
        ("productpage-v1.bookinfo", "reviews-v2.bookinfo"): approx(
            {
                "communication_mode": "sync",
                "request_rate": 10.0,
                "error_rate": 0.1,
                "latency_p95_ms": 25.0,
            }
        ),
        ("ratings", "mongodb"): approx(
            {"communication_mode": "sync", "request_rate": 2.0, "error_rate": 0.0}
        ),
    }
    assert any("outside the mesh" in w for w in found.warnings)
    # mongodb has no workload in the mesh: an external node (docs/identity.md).
    assert [e.get("target_kind") for e in found.request.edges if e["target"] == "mongodb"] == [
        "external"
    ]


def test_a_scheduled_run_stores_the_edges_and_records_success(
    prometheus_url: str,
    database_url: str,
) -> None:
    async def run() -> tuple[int, Any]:
        settings = Settings(database_url=database_url, prometheus_url=prometheus_url)
        database = Database.from_settings(settings)
        async with httpx.AsyncClient(timeout=10) as client:
            prometheus = PrometheusClient(
                prometheus_url, JsonGetter(client, max_bytes=10_000_000, retries=0)
            )
            source = OtelServiceGraphSource(prometheus, 15)
            try:
                live = LiveGraph()
                outcome = await service.run_source(database, live, source, datetime.now(UTC))
                async with database.session_scope() as session:
                    statuses = await DiscoveryRepository(session).statuses()
                    stored = await live.current(CatalogRepository(session))
                kinds = {name: stored.services[name].kind for name in ("postgres", "orders")}
            finally:
                await database.dispose()
        assert outcome.result is not None
        # The kinds the connector reported are stored (both were discovered by edges).
        assert kinds == {"postgres": NodeKind.DATABASE, "orders": NodeKind.MESSAGING}
        return outcome.result.edges_upserted, statuses["otel"]

    edges, status = asyncio.run(run())
    assert edges == 6
    assert status.consecutive_failures == 0 and status.last_success_at is not None
    assert status.last_edges == 6
