"""Domain model of the dependency graph: plain dataclasses and enums, no I/O.

These are the shapes the whole service reasons about. Table rows never leave the
repositories and HTTP schemas never enter the core; both convert to and from these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

SERVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$"


class DiscoverySource(enum.StrEnum):
    """Where a reported dependency came from."""

    MANUAL = "manual"
    OTEL_SERVICE_GRAPH = "otel_service_graph"
    SERVICE_MESH = "service_mesh"
    KUBERNETES = "kubernetes"
    BACKSTAGE = "backstage"
    JAEGER = "jaeger"


class CommunicationMode(enum.StrEnum):
    SYNC = "sync"
    ASYNC = "async"


class DependencyCriticality(enum.StrEnum):
    """How the caller suffers when the callee fails."""

    HARD = "hard"
    SOFT = "soft"
    DEGRADED = "degraded"


class ServiceCriticality(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class NodeKind(enum.StrEnum):
    """What a node of the graph is (docs/identity.md "Node kinds"): a service of ours, a
    database, a message broker or topic, something outside (a SaaS API, an
    uninstrumented peer), or a virtual node (the client side of traffic nobody traced:
    users, load balancers)."""

    SERVICE = "service"
    DATABASE = "database"
    MESSAGING = "messaging"
    EXTERNAL = "external"
    VIRTUAL = "virtual"


class Direction(enum.StrEnum):
    """Which way a subgraph query walks: along calls, against them, or both (a union)."""

    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    BOTH = "both"


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Service:
    """A service as stored. `discovered` is true while it is known only from edges."""

    service_id: str
    display_name: str | None = None
    team: str | None = None
    criticality: ServiceCriticality | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    discovered: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    kind: NodeKind = NodeKind.SERVICE
    # Whether a node entry declared the kind: then what sources observe no longer moves it.
    kind_declared: bool = False


@dataclass(frozen=True, slots=True)
class ServiceDeclaration:
    """A node entry of an ingestion: None means "not given, keep what is stored"."""

    service_id: str
    display_name: str | None = None
    team: str | None = None
    criticality: ServiceCriticality | None = None
    metadata: dict[str, Any] | None = None
    kind: NodeKind | None = None


# An edge's attributes, by name, in one order everywhere they are listed (the merge,
# the answers' encoder, the HTTP schemas: tests/unit/test_edge_shapes.py holds them to
# it): what people declare about a dependency, then what traffic measures.
DECLARED_ATTRIBUTES = (
    "communication_mode",
    "criticality",
    "protocol",
    "timeout_ms",
    "retry_config",
)
OBSERVED_ATTRIBUTES = ("request_rate", "error_rate", "latency_p95_ms")
EDGE_ATTRIBUTES = DECLARED_ATTRIBUTES + OBSERVED_ATTRIBUTES
# How the source named an edge's ends where aliases renamed them (docs/identity.md).
REPORTED_NAMES = ("source_reported_as", "target_reported_as")


class DependencyReport(NamedTuple):
    """One discovery source's record of one edge (source service -> target service).

    The store keeps one of these per (source, target, discovery_source); queries merge
    the reports of one (source, target) pair into a `MergedDependency`. A NamedTuple,
    not a dataclass: ingestion builds hundreds of thousands of them, and a tuple is
    several times cheaper to construct and hold.
    """

    source: str
    target: str
    discovery_source: DiscoverySource
    last_observed_at: datetime
    communication_mode: CommunicationMode | None = None
    criticality: DependencyCriticality | None = None
    protocol: str | None = None
    timeout_ms: int | None = None
    retry_config: dict[str, Any] | None = None
    confidence_score: float = 1.0
    request_rate: float | None = None
    error_rate: float | None = None
    latency_p95_ms: float | None = None
    is_stale: bool = False
    # The names the source gave the ends, where an alias mapped them to other service
    # ids (None: the source used the id itself); docs/identity.md#aliases.
    source_reported_as: str | None = None
    target_reported_as: str | None = None


class ReportedNames(NamedTuple):
    """How one source named an edge's ends, when an alias renamed either."""

    discovery_source: DiscoverySource
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class MergedDependency:
    """The single answer for one (source, target) pair, merged over its reports."""

    source: str
    target: str
    discovery_sources: tuple[DiscoverySource, ...]
    confidence_score: float
    last_observed_at: datetime
    is_stale: bool
    communication_mode: CommunicationMode | None
    criticality: DependencyCriticality | None
    protocol: str | None
    timeout_ms: int | None
    retry_config: dict[str, Any] | None
    request_rate: float | None
    error_rate: float | None
    latency_p95_ms: float | None
    # The sources that named an end otherwise (aliases), in `discovery_sources` order.
    reported_as: tuple[ReportedNames, ...] = ()
