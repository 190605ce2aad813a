"""OpenTelemetry names (docs/identity.md) through a real Prometheus: series labelled as the
servicegraph connector and Tempo label them, with old and new attribute names, become
the nodes, ids and kinds the rules say, in a discovery run and in the stored graph."""

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
from slo_engine.discovery.sources.base import Discovered
from slo_engine.discovery.sources.otel import OtelServiceGraphSource
from slo_engine.graph.model import NodeKind
from slo_engine.infra.db import Database
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings

# (source, target): (source_kind, target_kind), as the series in OTEL_NAMING_SERIES say.
EXPECTED = {
    ("orders-api", "postgresql:orders"): (None, "database"),
    ("billing", "postgresql:billing-db"): (None, "database"),
    ("reports", "reports:postgresql"): (None, "database"),
    ("audit", "audit:postgresql"): (None, "database"),
    ("hr-api", "microsoft.sql_server:hr"): (None, "database"),
    ("payroll", "microsoft.sql_server:hr"): (None, "database"),
    ("cart", "redis:cache.internal"): (None, "database"),
    ("shipping", "kafka:parcels"): (None, "messaging"),
    ("checkout", "kafka:invoices"): (None, "messaging"),
    ("invoicer", "kafka:invoices"): (None, "messaging"),
    ("web.shop", "cart.shop"): (None, None),
    ("payments", "api.stripe.com"): (None, "external"),
    ("payments", "ledger.finance"): (None, "external"),
}


def _client(url: str, http: httpx.AsyncClient) -> PrometheusClient:
    return PrometheusClient(url, JsonGetter(http, max_bytes=10_000_000, retries=0))


async def _discover(url: str) -> Discovered:
    async with httpx.AsyncClient(timeout=10) as http:
        return await OtelServiceGraphSource(_client(url, http), 15).discover()


def _by_edge(found: Discovered) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["source"], e["target"]): e for e in found.request.edges}


def test_old_and_new_attribute_names_give_the_same_kind_of_ids(
    otel_naming_prometheus_url: str,
) -> None:
    found = asyncio.run(_discover(otel_naming_prometheus_url))
    edges = _by_edge(found)

    assert {key: (e.get("source_kind"), e.get("target_kind")) for key, e in edges.items()} == (
        EXPECTED
    )
    assert found.warnings == []


def test_series_named_alike_are_one_edge_and_messages_are_asynchronous(
    otel_naming_prometheus_url: str,
) -> None:
    edges = _by_edge(asyncio.run(_discover(otel_naming_prometheus_url)))

    # The database seen at two addresses: 2.0 + 0.5 requests per second.
    billing = edges[("billing", "postgresql:billing-db")]["attributes"]
    assert billing["request_rate"] == pytest.approx(2.5, rel=1e-3)
    assert billing["protocol"] == "database"
    # Producer and consumer both depend on the topic, with the pair's figures.
    for producer_or_consumer in ("checkout", "invoicer"):
        attributes = edges[(producer_or_consumer, "kafka:invoices")]["attributes"]
        assert attributes["communication_mode"] == "async"
        assert attributes["protocol"] == "messaging_system"
        assert attributes["request_rate"] == pytest.approx(4.0, rel=1e-3)
    # An unpaired producer: still asynchronous, and the connector's word kept.
    parcels = edges[("shipping", "kafka:parcels")]["attributes"]
    assert (parcels["communication_mode"], parcels["protocol"]) == ("async", "virtual_node")
    # No node is named by a raw IP address when a hostname was in the labels.
    assert not any(target.startswith(("10.", "203.")) for _, target in edges)


def test_a_discovery_run_stores_the_named_nodes_with_their_kinds(
    otel_naming_prometheus_url: str, database_url: str
) -> None:
    async def run() -> dict[str, NodeKind]:
        settings = Settings(database_url=database_url, prometheus_url=otel_naming_prometheus_url)
        database = Database.from_settings(settings)
        async with httpx.AsyncClient(timeout=10) as http:
            source = OtelServiceGraphSource(_client(otel_naming_prometheus_url, http), 15)
            try:
                live = LiveGraph()
                outcome = await service.run_source(database, live, source, datetime.now(UTC))
                assert outcome.result is not None
                assert outcome.result.edges_upserted == len(EXPECTED)
                async with database.session_scope() as session:
                    stored = await live.current(CatalogRepository(session))
            finally:
                await database.dispose()
        return {name: node.kind for name, node in stored.services.items()}

    kinds = asyncio.run(run())

    databases = {name for name, kind in kinds.items() if kind == NodeKind.DATABASE}
    assert databases == {
        "postgresql:orders",
        "postgresql:billing-db",
        "reports:postgresql",
        "audit:postgresql",
        "microsoft.sql_server:hr",
        "redis:cache.internal",
    }
    assert {name for name, kind in kinds.items() if kind == NodeKind.MESSAGING} == {
        "kafka:parcels",
        "kafka:invoices",
    }
    assert {name for name, kind in kinds.items() if kind == NodeKind.EXTERNAL} == {
        "api.stripe.com",
        "ledger.finance",
    }
    # The traced services, namespaced where a `service.namespace` said so.
    assert {name for name, kind in kinds.items() if kind == NodeKind.SERVICE} == {
        "orders-api",
        "billing",
        "reports",
        "audit",
        "hr-api",
        "payroll",
        "cart",
        "shipping",
        "checkout",
        "invoicer",
        "web.shop",
        "cart.shop",
        "payments",
    }
