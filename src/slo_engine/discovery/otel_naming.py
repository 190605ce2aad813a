"""How one series of the OpenTelemetry service graph names the two ends of its edge.
Pure functions: labels in, names and kinds out (docs/identity.md "OpenTelemetry names").

The Collector's `servicegraph` connector and Tempo's metrics-generator put the two ends
in `client` and `server`. What `server` holds depends on the connection and on the
version: a traced service's `service.name`; for a database, the connector's
`database_name_attributes` value (`db.name`, later also `db.namespace`) or Tempo's
`peer.service`, `server.address`, `network.peer.address[:port]`, then `db.name`; for an
uninstrumented peer (`virtual_node`), the first of `virtual_node_peer_attributes`
present, whose defaults end in `db.system`, so every unnamed PostgreSQL is `postgresql`.
Span attributes listed in the generator's `dimensions` come as extra labels, prefixed
`client_`/`server_` (the connector always, Tempo with `enable_client_server_prefix`) or
bare (Tempo without it), with dots as underscores (`client_db_system`) unless Prometheus
keeps UTF-8 names (`client_db.system`): both spellings are read here.

Those labels make names better: a database is ``<db system>:<db name>``
(`postgresql:orders`), a broker's topic ``<messaging system>:<destination>``
(`kafka:orders`), a traced service with a `service.namespace` other than `default` is
``name.namespace`` (as the Kubernetes and Istio sources name workloads), and an IP
address gives way to a hostname. When a database or broker is named by its system
alone, it is named per caller (``checkout:postgresql``) rather than made one node that
every service in the company appears to share.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from slo_engine.discovery.naming import namespaced_id
from slo_engine.graph.model import NodeKind

# Span attributes read from the labels, each with its older name after it.
DB_SYSTEM = ("db.system.name", "db.system")  # renamed in semconv 1.30
DB_NAME = ("db.namespace", "db.name")  # renamed in semconv 1.26
MESSAGING_SYSTEM = ("messaging.system",)
DESTINATION = ("messaging.destination.name", "messaging.destination")  # renamed in 1.17
PEER_NAME = ("service.peer.name", "peer.service")  # renamed in semconv 1.39
PEER_NAMESPACE = ("service.peer.namespace",)
HOSTNAME = ("server.address", "net.peer.name")  # renamed in semconv 1.21
SERVICE_NAMESPACE = "service.namespace"

_PEER_ATTRIBUTES = (
    *DB_SYSTEM,
    *DB_NAME,
    *MESSAGING_SYSTEM,
    *DESTINATION,
    *PEER_NAME,
    *PEER_NAMESPACE,
    *HOSTNAME,
)
_SIDES = ("server_", "client_", "")

# The labels the queries keep (every other label is summed away). Only the underscore
# spellings: a dotted label name in `by (...)` is a syntax error before Prometheus 3.
GROUPING_LABELS: tuple[str, ...] = (
    "client",
    "server",
    "connection_type",
    "virtual_node",
    "client_service_namespace",
    "server_service_namespace",
    *(side + attribute.replace(".", "_") for attribute in _PEER_ATTRIBUTES for side in _SIDES),
)

# `db.system` values that `db.system.name` (semconv 1.30) spells differently: both
# spellings of one database give one id, in the newer spelling.
_DB_SYSTEM_RENAMED = {
    "adabas": "softwareag.adabas",
    "cache": "intersystems.cache",
    "intersystems_cache": "intersystems.cache",
    "cosmosdb": "azure.cosmosdb",
    "db2": "ibm.db2",
    "dynamodb": "aws.dynamodb",
    "firebird": "firebirdsql",
    "h2": "h2database",
    "hanadb": "sap.hana",
    "informix": "ibm.informix",
    "ingres": "actian.ingres",
    "maxdb": "sap.maxdb",
    "mssql": "microsoft.sql_server",
    "netezza": "ibm.netezza",
    "oracle": "oracle.db",
    "redshift": "aws.redshift",
    "spanner": "gcp.spanner",
}
# Well-known system values, to recognise a peer named by its system alone (a
# `virtual_node` peer named by the `db.system` default peer attribute, or Tempo naming a
# database by `db.system.name`) when no label says so.
_DB_SYSTEMS = frozenset(
    {
        *_DB_SYSTEM_RENAMED,
        *_DB_SYSTEM_RENAMED.values(),
        "cassandra",
        "clickhouse",
        "cockroachdb",
        "couchbase",
        "couchdb",
        "elasticsearch",
        "hbase",
        "influxdb",
        "mariadb",
        "memcached",
        "mongodb",
        "mysql",
        "neo4j",
        "opensearch",
        "postgresql",
        "redis",
        "sqlite",
        "trino",
    }
)
_MESSAGING_SYSTEMS = frozenset(
    {
        "activemq",
        "aws_sqs",
        "aws.sns",
        "eventgrid",
        "eventhubs",
        "gcp_pubsub",
        "jms",
        "kafka",
        "pulsar",
        "rabbitmq",
        "rocketmq",
        "servicebus",
    }
)
# What the connector names a peer none of its peer attributes named.
_UNNAMED = "unknown"


@dataclass(frozen=True)
class OtelEdge:
    """One edge a series stands for: names (made into service ids by the caller) and
    what the series says each end is (`graph.model.NodeKind` values, None: not said)."""

    source: str
    target: str
    source_kind: str | None = None
    target_kind: str | None = None


class SpanAttributes:
    """The span attributes a series' labels carry, however the generator spelled them.

    >>> attributes = SpanAttributes({"client_db_system": "postgresql", "db.name": "x"})
    >>> attributes.first(DB_SYSTEM), attributes.first(DB_NAME), attributes.first(HOSTNAME)
    ('postgresql', 'x', None)
    """

    def __init__(self, labels: Mapping[str, str]) -> None:
        # Dots and underscores are one spelling: Prometheus turns `client_db.system`
        # into `client_db_system` unless it keeps UTF-8 names.
        self._labels = {key.replace(".", "_"): value for key, value in labels.items() if value}

    def on_side(self, side: str, attribute: str) -> str | None:
        """The attribute from the `client` or `server` span only."""
        return self._labels.get(f"{side}_{attribute.replace('.', '_')}")

    def first(self, attributes: tuple[str, ...]) -> str | None:
        """The first of these attributes (newer names first) found on any side: the
        server span's, the client span's, then Tempo's unprefixed dimension."""
        for attribute in attributes:
            for side in _SIDES:
                value = self._labels.get(side + attribute.replace(".", "_"))
                if value:
                    return value
        return None


def is_ip_address(name: str) -> bool:
    """An IP address, with or without a port (`network.peer.address[:port]`).

    >>> [is_ip_address(n) for n in ("10.1.2.3", "10.1.2.3:5432", "[::1]:6379", "db-1")]
    [True, True, True, False]
    """
    host = name
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def canonical_db_system(system: str) -> str:
    """`db.system` and `db.system.name` values as one spelling, the newer.

    >>> canonical_db_system("mssql"), canonical_db_system("PostgreSQL")
    ('microsoft.sql_server', 'postgresql')
    """
    lowered = system.strip().lower()
    return _DB_SYSTEM_RENAMED.get(lowered, lowered)


def service_name(name: str, namespace: str | None) -> str:
    """A traced service: its `service.name`, with `.namespace` outside `default`.

    >>> service_name("checkout", "shop"), service_name("checkout", None)
    ('checkout.shop', 'checkout')
    """
    return namespaced_id(name, namespace or "") or name


def _is_no_name(server: str, system: str) -> bool:
    """Whether `server` names nothing in particular: empty, the connector's `unknown`,
    or the system itself in either spelling (the `db.system` peer attribute).

    >>> _is_no_name("mssql", "microsoft.sql_server"), _is_no_name("orders", "postgresql")
    (True, False)
    """
    name = canonical_db_system(server)
    return name in ("", _UNNAMED) or (bool(system) and name == canonical_db_system(system))


def _peer_identity(server: str, system: str, attributes: SpanAttributes) -> str | None:
    """The best name of a peer: `server` unless it is no name or an IP address, else a
    hostname from the labels (the logical `peer.service` first), else the IP address."""
    if not _is_no_name(server, system) and not is_ip_address(server):
        return server
    named = attributes.first(PEER_NAME) or attributes.first(HOSTNAME)
    if named and not is_ip_address(named):
        return named
    if not _is_no_name(server, system):
        return server  # an IP address, and no hostname anywhere
    return named


def database_name(client: str, server: str, attributes: SpanAttributes) -> str:
    """A database: ``<system>:<db name>``, else ``<system>:<peer>`` (the `server` label,
    a hostname, an address), else ``<client>:<system>`` (one per caller); without a
    system, the peer's best name.

    >>> database_name("api", "orders", SpanAttributes({"client_db_system": "postgresql"}))
    'postgresql:orders'
    >>> labels = {"client_db_system_name": "postgresql", "client_db_namespace": "orders"}
    >>> database_name("api", "10.0.0.7:5432", SpanAttributes(labels))
    'postgresql:orders'
    >>> database_name("api", "postgresql", SpanAttributes({}))
    'api:postgresql'
    >>> database_name("api", "10.0.0.7", SpanAttributes({"client_net_peer_name": "pg-1"}))
    'pg-1'
    """
    labelled_system = attributes.first(DB_SYSTEM)
    if labelled_system:
        system = canonical_db_system(labelled_system)
    elif canonical_db_system(server) in _DB_SYSTEMS:
        system = canonical_db_system(server)
    else:
        return _peer_identity(server, "", attributes) or server
    name = attributes.first(DB_NAME) or _peer_identity(server, system, attributes)
    return f"{system}:{name}" if name else f"{client}:{system}"


def topic_name(client: str, server: str, attributes: SpanAttributes) -> str:
    """A broker or topic: ``<system>:<destination>``, else ``<system>:<peer>``, else
    ``<client>:<system>``; without a system, the peer's best name.

    >>> labels = {"client_messaging_system": "kafka", "client_messaging_destination": "orders"}
    >>> topic_name("api", "kafka", SpanAttributes(labels))
    'kafka:orders'
    >>> topic_name("api", "kafka", SpanAttributes({}))
    'api:kafka'
    """
    labelled_system = attributes.first(MESSAGING_SYSTEM)
    system = (labelled_system or server).strip().lower()
    if not labelled_system and system not in _MESSAGING_SYSTEMS:
        return _peer_identity(server, "", attributes) or server
    destination = attributes.first(DESTINATION) or _peer_identity(server, system, attributes)
    return f"{system}:{destination}" if destination else f"{client}:{system}"


def _is_database_peer(server: str, attributes: SpanAttributes) -> bool:
    return bool(attributes.first(DB_SYSTEM)) or canonical_db_system(server) in _DB_SYSTEMS


def _is_messaging_peer(server: str, attributes: SpanAttributes) -> bool:
    return bool(attributes.first(MESSAGING_SYSTEM)) or server.lower() in _MESSAGING_SYSTEMS


def otel_edges(labels: Mapping[str, str]) -> list[OtelEdge]:
    """The edges one service-graph series stands for: one, or for a message pair whose
    labels name the topic two (the producer's and the consumer's, both to the topic).

    >>> otel_edges({"client": "shop", "server": "cart", "client_service_namespace": "web"})
    [OtelEdge(source='shop.web', target='cart', source_kind=None, target_kind=None)]
    >>> otel_edges({"client": "api", "server": "postgresql", "connection_type": "virtual_node"})
    [OtelEdge(source='api', target='api:postgresql', source_kind=None, target_kind='database')]
    """
    attributes = SpanAttributes(labels)
    connection = labels.get("connection_type", "")
    client_name, server = labels.get("client", ""), labels.get("server", "")
    if client_name == "user" or labels.get("virtual_node") == "client":
        # The untraced caller of a traced service.
        target = service_name(server, attributes.on_side("server", SERVICE_NAMESPACE))
        return [OtelEdge(client_name, target, source_kind=NodeKind.VIRTUAL.value)]
    client = service_name(client_name, attributes.on_side("client", SERVICE_NAMESPACE))
    if connection == "messaging_system" and attributes.first(DESTINATION):
        return _message_pair(client, server, attributes)
    target, target_kind = _server_end(client, server, connection, attributes)
    return [OtelEdge(client, target, target_kind=target_kind)]


def _server_end(
    client: str, server: str, connection: str, attributes: SpanAttributes
) -> tuple[str, str | None]:
    """The name and kind of a traced client's peer."""
    if connection == "database" or (
        connection == "virtual_node" and _is_database_peer(server, attributes)
    ):
        return database_name(client, server, attributes), NodeKind.DATABASE.value
    if connection == "messaging_system":
        # A producer and its consumer with no topic in the labels: the consumer stands
        # for the broker, as before these rules.
        consumer = service_name(server, attributes.on_side("server", SERVICE_NAMESPACE))
        return consumer, NodeKind.MESSAGING.value
    if connection == "virtual_node" and _is_messaging_peer(server, attributes):
        return topic_name(client, server, attributes), NodeKind.MESSAGING.value
    if connection == "virtual_node":
        peer = _peer_identity(server, "", attributes) or server
        if peer == attributes.first(PEER_NAME):
            peer = service_name(peer, attributes.first(PEER_NAMESPACE))
        return peer, NodeKind.EXTERNAL.value
    return service_name(server, attributes.on_side("server", SERVICE_NAMESPACE)), None


def _message_pair(client: str, server: str, attributes: SpanAttributes) -> list[OtelEdge]:
    """A producer span paired with its consumer's, the topic named by the labels: both
    services depend on the topic, so the pair is two edges to it (the consumer's only
    when `server` is a service, not the broker named by its system or the topic)."""
    topic = topic_name(client, server, attributes)
    messaging = NodeKind.MESSAGING.value
    edges = [OtelEdge(client, topic, target_kind=messaging)]
    system = (attributes.first(MESSAGING_SYSTEM) or "").lower()
    if not _is_no_name(server, system) and server != attributes.first(DESTINATION):
        consumer = service_name(server, attributes.on_side("server", SERVICE_NAMESPACE))
        edges.append(OtelEdge(consumer, topic, target_kind=messaging))
    return edges
