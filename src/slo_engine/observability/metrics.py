"""Prometheus metrics of one process (docs/metrics.md lists each one).

Labels are bounded by construction: route templates (never raw paths), status classes,
directions, depths 1-10, discovery sources, job names, endpoint classes and backends.
No metric carries a service id, an alert id or a key.

Counters and histograms live in one registry per process and are updated where the
work happens; the gauges that describe state (graph size, open alerts, pool, source
health) are refreshed from the app when `/metrics` is scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

REGISTRY = CollectorRegistry(auto_describe=True)
_PREFIX = "slo_engine_"
Labels = tuple[str, ...]


def _counter(name: str, documentation: str, labels: Labels = ()) -> Counter:
    return Counter(_PREFIX + name, documentation, labels, registry=REGISTRY)


def _gauge(name: str, documentation: str, labels: Labels = ()) -> Gauge:
    return Gauge(_PREFIX + name, documentation, labels, registry=REGISTRY)


def _histogram(
    name: str, documentation: str, labels: Labels, buckets: tuple[float, ...]
) -> Histogram:
    return Histogram(_PREFIX + name, documentation, labels, buckets=buckets, registry=REGISTRY)


# Seconds: from a cached depth-1 answer (~0.2 ms) to a 10,000-node one (~1 s).
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_SLOW_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

HTTP_REQUESTS = _counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and status class.",
    ("route", "method", "status_class"),
)
HTTP_DURATION = _histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its response.",
    ("route", "method", "status_class"),
    buckets=_LATENCY_BUCKETS,
)
TRAVERSAL_DURATION = _histogram(
    "graph_traversal_duration_seconds",
    "Subgraph queries: walking the snapshot and encoding the answer.",
    ("direction", "depth"),
    buckets=_LATENCY_BUCKETS,
)
INGESTED_NODES = _counter(
    "ingested_nodes_total",
    "Services upserted by ingestions, by discovery source.",
    ("discovery_source",),
)
INGESTED_EDGES = _counter(
    "ingested_edges_total",
    "Dependency reports upserted by ingestions, by discovery source.",
    ("discovery_source",),
)
INGESTION_DURATION = _histogram(
    "ingestion_duration_seconds",
    "Ingestions that committed, from the validated request to the commit, by discovery source.",
    ("discovery_source",),
    buckets=_SLOW_BUCKETS,
)
INGESTION_FAILURES = _counter(
    "ingestion_failures_total",
    "Ingestions rolled back by an error (not client validation errors).",
    ("discovery_source",),
)
SNAPSHOT_LOOKUPS = _counter(
    "graph_cache_lookups_total",
    "Reads of the in-memory graph snapshot: hit (current) or miss (rebuilt from the database).",
    ("result",),
)
LIVE_GRAPH_UPDATES = _counter(
    "live_graph_updates_total",
    "Changes brought into the live graph from the database: catch_up (the rows written "
    "since the applied revision) or reload (the whole graph: at start, after a reconnect, "
    "or in place of a change too large to apply in one step).",
    ("kind",),
)
ANSWER_CACHE_LOOKUPS = _counter(
    "answer_cache_lookups_total",
    "Subgraph and insight answers looked up in the query cache (QUERY_CACHE): hit or miss.",
    ("result",),
)
JOB_RUNS = _counter(
    "job_runs_total",
    "Scheduled job firings: success, failure, or skipped (another replica had the slot).",
    ("job", "outcome"),
)
WEBHOOK_ATTEMPTS = _counter(
    "webhook_attempts_total",
    "Webhook delivery attempts: delivered, failed (to be retried), given_up (the retry "
    "window passed; the subscription is failing).",
    ("outcome",),
)
JOB_DURATION = _histogram(
    "job_duration_seconds",
    "Duration of the job runs this process made, by job and outcome.",
    ("job", "outcome"),
    buckets=_SLOW_BUCKETS,
)
RATE_LIMIT_DECISIONS = _counter(
    "rate_limit_decisions_total",
    "Rate-limit decisions, by endpoint class, backend that decided, and decision.",
    ("endpoint_class", "backend", "decision"),
)
AUTH_FAILURES = _counter(
    "auth_failures_total",
    "Failed authentications, by reason (missing, malformed, invalid, revoked, expired; "
    "limited_address: refused unread because the address is being limited) and outcome: "
    "refused (401), or limited (429: too many failures from the address or for the key).",
    ("reason", "outcome"),
)

# State, refreshed at scrape time (health/metrics_routes.py).
GRAPH_SERVICES = _gauge("graph_services", "Services in the graph.")
GRAPH_EDGES = _gauge(
    "graph_edges",
    "Dependencies (source, target pairs) in the graph: fresh, or stale (every report stale).",
    ("state",),
)
OPEN_CYCLE_ALERTS = _gauge(
    "circular_dependency_alerts_open",
    "Circular-dependency alerts open or acknowledged (not resolved).",
)
DB_AVAILABLE = _gauge(
    "db_available",
    "1 when the database answered this process's last unit of work, 0 during an outage "
    "(requests that need it answer 503 meanwhile: http_requests_total, status_class 5xx).",
)
DB_POOL = _gauge(
    "db_pool_connections",
    "Database connections of this process's pool: in_use, or size (the pool's capacity).",
    ("state",),
)
DISCOVERY_CONSECUTIVE_FAILURES = _gauge(
    "discovery_consecutive_failures",
    "Failed runs in a row of each configured discovery source (shared by all replicas).",
    ("source",),
)
DISCOVERY_LAST_SUCCESS = _gauge(
    "discovery_last_success_timestamp_seconds",
    "Unix time of each configured source's last successful run (0: never).",
    ("source",),
)


def status_class(status: int) -> str:
    """
    >>> status_class(204), status_class(429)
    ('2xx', '4xx')
    """
    return f"{status // 100}xx"


class DriftItemsCollector:
    """`slo_engine_drift_items{drift}`: drift items of the whole graph by kind, over the
    default window (docs/drift.md). Drawn at scrape time from the drift feature's
    counts, which it keeps per graph revision and judges off the event loop
    (drift/service.py `ScrapeCounts`): a scrape never judges the graph itself. Absent
    until the first judgement of the process is done."""

    def __init__(self) -> None:
        self._counts: Callable[[], Mapping[str, int] | None] | None = None

    def provide(self, counts: Callable[[], Mapping[str, int] | None]) -> None:
        """Draw the counts from `counts` (the running app's)."""
        self._counts = counts

    def release(self, counts: Callable[[], Mapping[str, int] | None]) -> None:
        """An app stops: its counts are no longer drawn (another app's stay)."""
        if self._counts is counts:
            self._counts = None

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily(_PREFIX + "drift_items", _DRIFT_DOCUMENTATION, labels=["drift"])]

    def collect(self) -> list[Metric]:
        counts = self._counts() if self._counts is not None else None
        if counts is None:
            return []
        family = GaugeMetricFamily(_PREFIX + "drift_items", _DRIFT_DOCUMENTATION, labels=["drift"])
        for kind, count in sorted(counts.items()):
            family.add_metric([kind], count)
        return [family]


_DRIFT_DOCUMENTATION = (
    "Drift items of the whole graph over the default 7-day window, by kind: "
    "declared_only, observed_only, mismatch."
)
DRIFT_ITEMS = DriftItemsCollector()
REGISTRY.register(DRIFT_ITEMS)
