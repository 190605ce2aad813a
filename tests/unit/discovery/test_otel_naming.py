"""The OpenTelemetry naming rules (docs/identity.md "OpenTelemetry names") over the label
sets the servicegraph connector and Tempo write, with old and new attribute names."""

from __future__ import annotations

import re

import pytest

from slo_engine.discovery.otel_naming import (
    GROUPING_LABELS,
    OtelEdge,
    canonical_db_system,
    is_ip_address,
    otel_edges,
)
from slo_engine.discovery.prometheus import Sample
from slo_engine.discovery.sources.otel import build_otel_graph
from slo_engine.graph.model import SERVICE_ID_PATTERN

DB = {"connection_type": "database"}
PEER = {"connection_type": "virtual_node"}
MESSAGES = {"connection_type": "messaging_system"}

# (what the labels are, labels, the (source, target, source_kind, target_kind) edges)
CASES: list[tuple[str, dict[str, str], list[tuple[str, str, str | None, str | None]]]] = [
    (
        "a plain call",
        {"client": "frontend", "server": "checkout"},
        [("frontend", "checkout", None, None)],
    ),
    (
        "service.namespace on both sides",
        {
            "client": "web",
            "server": "cart",
            "client_service_namespace": "shop",
            "server_service_namespace": "shop",
        },
        [("web.shop", "cart.shop", None, None)],
    ),
    (
        "service.namespace `default` is no namespace",
        {"client": "web", "server": "cart", "client_service_namespace": "default"},
        [("web", "cart", None, None)],
    ),
    (
        "Tempo's unprefixed service_namespace: which side is unknown, so unused",
        {"client": "web", "server": "cart", "service_namespace": "shop"},
        [("web", "cart", None, None)],
    ),
    (
        "the untraced caller",
        {"client": "user", "server": "web", "server_service_namespace": "shop", **PEER},
        [("user", "web.shop", "virtual", None)],
    ),
    (
        "the connector's virtual_node=client label",
        {"client": "lb", "server": "web", "virtual_node": "client", **PEER},
        [("lb", "web", "virtual", None)],
    ),
    (
        "database, connector: db.name as server, old db.system dimension",
        {"client": "api", "server": "orders", "client_db_system": "postgresql", **DB},
        [("api", "postgresql:orders", None, "database")],
    ),
    (
        "database, new db.system.name and db.namespace, IP:port as server (Tempo)",
        {
            "client": "api",
            "server": "10.0.0.7:5432",
            "client_db_system_name": "postgresql",
            "client_db_namespace": "orders",
            **DB,
        },
        [("api", "postgresql:orders", None, "database")],
    ),
    (
        "database, db.name and db.namespace both present: the newer wins",
        {
            "client": "api",
            "server": "x",
            "client_db_system": "postgresql",
            "client_db_name": "old",
            "client_db_namespace": "new",
            **DB,
        },
        [("api", "postgresql:new", None, "database")],
    ),
    (
        "database, UTF-8 label names kept by Prometheus 3",
        {"client": "api", "server": "orders", "client_db.system.name": "mysql", **DB},
        [("api", "mysql:orders", None, "database")],
    ),
    (
        "database, server-side peer labels (server_db_system)",
        {"client": "api", "server": "pg-main", "server_db_system": "postgresql", **PEER},
        [("api", "postgresql:pg-main", None, "database")],
    ),
    (
        "database, Tempo without the client/server prefix",
        {"client": "cart", "server": "cache.internal", "db_system": "redis", **DB},
        [("cart", "redis:cache.internal", None, "database")],
    ),
    (
        "database, old and new system spellings of SQL Server",
        {"client": "hr", "server": "hr", "client_db_system": "mssql", **DB},
        [("hr", "microsoft.sql_server:hr", None, "database")],
    ),
    (
        "database named by its system only: one per caller",
        {"client": "reports", "server": "postgresql", **PEER},
        [("reports", "reports:postgresql", None, "database")],
    ),
    (
        "database named by its system (Tempo db.system.name), system labelled too",
        {"client": "api", "server": "postgresql", "client_db_system_name": "postgresql", **DB},
        [("api", "api:postgresql", None, "database")],
    ),
    (
        "database named by its old system spelling, the new one labelled",
        {"client": "api", "server": "mssql", "client_db_system_name": "microsoft.sql_server", **DB},
        [("api", "api:microsoft.sql_server", None, "database")],
    ),
    (
        "database named by its system, hostname in server.address",
        {
            "client": "api",
            "server": "postgresql",
            "client_db_system": "postgresql",
            "client_server_address": "pg.internal",
            **PEER,
        },
        [("api", "postgresql:pg.internal", None, "database")],
    ),
    (
        "database at an IP address, hostname in the old net.peer.name",
        {
            "client": "api",
            "server": "10.0.0.7:5432",
            "client_db_system": "postgresql",
            "client_net_peer_name": "pg-1.internal",
            **DB,
        },
        [("api", "postgresql:pg-1.internal", None, "database")],
    ),
    (
        "database at an IP address and nothing else: the address",
        {"client": "api", "server": "10.0.0.7:5432", "client_db_system": "postgresql", **DB},
        [("api", "postgresql:10.0.0.7:5432", None, "database")],
    ),
    (
        "database without any system: the server label, as before",
        {"client": "checkout", "server": "postgres", **DB},
        [("checkout", "postgres", None, "database")],
    ),
    (
        "namespaced caller of an unnamed database",
        {"client": "api", "server": "redis", "client_service_namespace": "shop", **PEER},
        [("api.shop", "api.shop:redis", None, "database")],
    ),
    (
        "unpaired producer, old messaging.destination",
        {
            "client": "shipping",
            "server": "kafka",
            "client_messaging_system": "kafka",
            "client_messaging_destination": "parcels",
            **PEER,
        },
        [("shipping", "kafka:parcels", None, "messaging")],
    ),
    (
        "unpaired producer, destination as the peer attribute",
        {"client": "shipping", "server": "parcels", "client_messaging_system": "kafka", **PEER},
        [("shipping", "kafka:parcels", None, "messaging")],
    ),
    (
        "unpaired producer named by the system only",
        {"client": "shipping", "server": "rabbitmq", **PEER},
        [("shipping", "shipping:rabbitmq", None, "messaging")],
    ),
    (
        "producer and consumer, new messaging.destination.name: both depend on the topic",
        {
            "client": "checkout",
            "server": "invoicer",
            "client_messaging_system": "kafka",
            "client_messaging_destination_name": "invoices",
            "server_service_namespace": "billing",
            **MESSAGES,
        },
        [
            ("checkout", "kafka:invoices", None, "messaging"),
            ("invoicer.billing", "kafka:invoices", None, "messaging"),
        ],
    ),
    (
        "producer and consumer without a topic label: as before",
        {"client": "checkout", "server": "orders", **MESSAGES},
        [("checkout", "orders", None, "messaging")],
    ),
    (
        "external peer at an IP address, hostname in server.address",
        {
            "client": "payments",
            "server": "203.0.113.9",
            "client_server_address": "api.stripe.com",
            **PEER,
        },
        [("payments", "api.stripe.com", None, "external")],
    ),
    (
        "external peer: peer.service preferred to a hostname",
        {
            "client": "payments",
            "server": "unknown",
            "client_peer_service": "stripe",
            "client_server_address": "api.stripe.com",
            **PEER,
        },
        [("payments", "stripe", None, "external")],
    ),
    (
        "external peer: service.peer.name with service.peer.namespace",
        {
            "client": "payments",
            "server": "ledger",
            "client_service_peer_name": "ledger",
            "client_service_peer_namespace": "finance",
            **PEER,
        },
        [("payments", "ledger.finance", None, "external")],
    ),
    (
        "external peer at an IP address and nothing else",
        {"client": "payments", "server": "203.0.113.9", **PEER},
        [("payments", "203.0.113.9", None, "external")],
    ),
    (
        "a traced service named like a database system is still a service",
        {"client": "cart", "server": "redis"},
        [("cart", "redis", None, None)],
    ),
]


@pytest.mark.parametrize(
    ("labels", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_label_sets_name_the_ends(
    labels: dict[str, str], expected: list[tuple[str, str, str | None, str | None]]
) -> None:
    assert otel_edges(labels) == [OtelEdge(*edge) for edge in expected]


@pytest.mark.parametrize(("labels", "expected"), [(c[1], c[2]) for c in CASES])
def test_every_name_is_a_service_id(
    labels: dict[str, str], expected: list[tuple[str, str, str | None, str | None]]
) -> None:
    for edge in otel_edges(labels):
        assert re.match(SERVICE_ID_PATTERN, edge.source)
        assert re.match(SERVICE_ID_PATTERN, edge.target)


def test_grouping_labels_are_valid_prometheus_label_names() -> None:
    assert all(re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label) for label in GROUPING_LABELS)
    # What the queries keep, each spelling of each attribute the rules read.
    for label in ("client_db_system_name", "server_db_system", "db_namespace", "virtual_node"):
        assert label in GROUPING_LABELS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("10.0.0.1", True),
        ("10.0.0.1:5432", True),
        ("2001:db8::1", True),
        ("[2001:db8::1]:5432", True),
        ("pg-1.internal", False),
        ("pg-1.internal:5432", False),
        ("unknown", False),
    ],
)
def test_ip_addresses(name: str, expected: bool) -> None:
    assert is_ip_address(name) is expected


@pytest.mark.parametrize(
    ("old", "new"),
    [("mssql", "microsoft.sql_server"), ("db2", "ibm.db2"), ("oracle", "oracle.db")],
)
def test_old_db_system_values_take_the_new_spelling(old: str, new: str) -> None:
    assert canonical_db_system(old) == canonical_db_system(new) == new


def test_series_named_alike_add_up_and_keep_the_slowest_p95() -> None:
    at_one = {"client": "api", "server": "10.0.0.7", "client_db_system": "postgresql"}
    labels = [
        {**at_one, "client_db_name": "orders", **DB},
        {**at_one, "server": "10.0.0.8", "client_db_name": "orders", **DB},
    ]
    found = build_otel_graph(
        [Sample(labels[0], 600), Sample(labels[1], 300)],
        [Sample(labels[0], 9)],
        [Sample(labels[0], 0.02), Sample(labels[1], 0.05)],
        [],
        [],
        900,
    )
    [edge] = found.request.edges
    assert (edge["source"], edge["target"], edge.get("target_kind")) == (
        "api",
        "postgresql:orders",
        "database",
    )
    assert edge["attributes"] == {
        "communication_mode": "sync",
        "protocol": "database",
        "request_rate": 1.0,
        "error_rate": 0.01,
        "latency_p95_ms": 50.0,
    }


def test_an_unusable_name_is_warned_about_once() -> None:
    labels = {"client": "api", "server": "///"}
    found = build_otel_graph(
        [Sample(labels, 10)], [Sample(labels, 1)], [Sample(labels, 0.1)], [], [], 60
    )
    assert found.request.edges == []
    assert len(found.warnings) == 1
