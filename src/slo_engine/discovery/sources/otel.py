"""OpenTelemetry service graph (`otel_service_graph`), read from Prometheus.

The Collector's `servicegraph` connector and Tempo's metrics-generator write, per
(client, server) pair: `traces_service_graph_request_total` and `..._failed_total`
counters, latency histograms `traces_service_graph_request_server_seconds` and
`..._client_seconds` (older versions without the `_seconds` suffix), and Tempo's presence
gauge `traces_service_graph_connection_info`. The labels that name the ends better
(`client_*`/`server_*` dimensions such as `client_db_system`, see otel_naming.py) are
kept; every other extra label (`failed`, the scrape's, other dimensions) is summed away.

An edge is one that carried requests in the last interval (`increase(...[window]) > 0`)
or whose presence gauge was set in it; an idle pair is left out (and, if stored, goes
stale after STALE_EDGE_THRESHOLD_HOURS). `connection_type` maps to the edge: unset → a
synchronous call; `messaging_system` → asynchronous; `database` → a datastore
dependency; `virtual_node` (or the client `user`) → an uninstrumented or external peer.
The last three are also recorded in the edge's `protocol` so they stay visible. Series
whose labels name the same ends (a database seen at two addresses, say) are one edge:
their counts add up and the higher p95 is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slo_engine.discovery.otel_naming import GROUPING_LABELS, OtelEdge, otel_edges
from slo_engine.discovery.prometheus import PrometheusClient, Sample
from slo_engine.discovery.sources.base import Discovered, EdgeFigures, edge_ids
from slo_engine.graph.model import NodeKind
from slo_engine.ingestion.schemas import ingestion_request

BY = ", ".join(GROUPING_LABELS)
_REQUESTS = f"sum by ({BY}) (increase(traces_service_graph_request_total[{{w}}])) > 0"
_FAILED = f"sum by ({BY}) (increase(traces_service_graph_request_failed_total[{{w}}]))"
_LATENCY = (
    "histogram_quantile(0.95, sum by ({by}, le) "
    '(rate({{__name__=~"traces_service_graph_request_{side}(_seconds)?_bucket"}}[{w}])))'
)
_PRESENT = f"max by ({BY}) (max_over_time(traces_service_graph_connection_info[{{w}}])) > 0"

_MARKED = {"messaging_system", "database", "virtual_node"}

Key = tuple[str, str]


def _window(minutes: int) -> str:
    return f"{minutes}m"


def _connection_attributes(connection_type: str, edge: OtelEdge) -> dict[str, Any]:
    """How the call is made (a message to a broker or topic is asynchronous), and the
    connector's `connection_type` kept in `protocol`.

    >>> _connection_attributes("", OtelEdge("user", "web", source_kind="virtual"))
    {'communication_mode': 'sync', 'protocol': 'virtual_node'}
    """
    asynchronous = edge.target_kind == NodeKind.MESSAGING.value
    attributes: dict[str, Any] = {"communication_mode": "async" if asynchronous else "sync"}
    if connection_type in _MARKED:
        attributes["protocol"] = connection_type
    elif edge.source_kind == NodeKind.VIRTUAL.value:
        attributes["protocol"] = "virtual_node"
    return attributes


def _ends_kinds(edge: OtelEdge) -> dict[str, str]:
    kinds = {"source_kind": edge.source_kind, "target_kind": edge.target_kind}
    return {name: kind for name, kind in kinds.items() if kind is not None}


class OtelServiceGraphSource:
    name = "otel"

    def __init__(self, prometheus: PrometheusClient, interval_minutes: int) -> None:
        self._prometheus = prometheus
        self.interval_minutes = interval_minutes

    async def discover(self) -> Discovered:
        w = _window(self.interval_minutes)
        seconds = self.interval_minutes * 60
        requests = await self._prometheus.query(_REQUESTS.format(w=w))
        failed = await self._prometheus.query(_FAILED.format(w=w))
        server_p95 = await self._prometheus.query(_LATENCY.format(by=BY, side="server", w=w))
        client_p95 = await self._prometheus.query(_LATENCY.format(by=BY, side="client", w=w))
        present = await self._prometheus.query(_PRESENT.format(w=w))
        return build_otel_graph(requests, failed, server_p95, client_p95, present, seconds)


def build_otel_graph(
    requests: list[Sample],
    failed: list[Sample],
    server_p95: list[Sample],
    client_p95: list[Sample],
    present: list[Sample],
    window_seconds: int,
) -> Discovered:
    """The ingest request for these query answers (pure: the unit tests drive it)."""
    warnings: list[str] = []
    figures: dict[Key, EdgeFigures] = {}
    kinds: dict[Key, dict[str, str]] = {}
    totals: dict[Key, float] = {}

    named: dict[frozenset[tuple[str, str]], list[tuple[Key, OtelEdge]]] = {}

    def edges_of(sample: Sample) -> list[tuple[Key, OtelEdge]]:
        # Each answer repeats the series of the others: named (and warned about) once.
        labels = frozenset(sample.labels.items())
        if labels not in named:
            named[labels] = []
            for edge in otel_edges(sample.labels):
                key = edge_ids(edge.source, edge.target, warnings)
                if key is not None:
                    named[labels].append((key, edge))
        return named[labels]

    for sample in [*requests, *present]:
        connection_type = sample.labels.get("connection_type", "")
        for key, edge in edges_of(sample):
            if key not in figures:
                figures[key] = EdgeFigures(attributes=_connection_attributes(connection_type, edge))
                kinds[key] = _ends_kinds(edge)
    for sample in requests:
        for key, _ in edges_of(sample):
            totals[key] = totals.get(key, 0.0) + sample.value
    for key, total in totals.items():
        figures[key].requests_per_second = total / window_seconds
    failures: dict[Key, float] = {}
    for sample in failed:
        for key, _ in edges_of(sample):
            if key in totals:
                failures[key] = failures.get(key, 0.0) + sample.value
    for key, count in failures.items():
        figures[key].error_rate = count / totals[key] if totals[key] > 0 else None
    # Server-side latency when the pair has it, else the client's view; of several
    # series named alike, the slowest.
    for answer in (client_p95, server_p95):
        slowest: dict[Key, float] = {}
        for sample in answer:
            for key, _ in edges_of(sample):
                if key in figures:
                    slowest[key] = max(slowest.get(key, sample.value), sample.value)
        for key, seconds in slowest.items():
            figures[key].latency_p95_ms = seconds * 1000.0
    edges = [
        {"source": s, "target": t, **kinds[(s, t)], "attributes": f.as_attributes()}
        for (s, t), f in sorted(figures.items())
    ]
    request = ingestion_request(
        {"source": "otel_service_graph", "observed_at": datetime.now(UTC), "edges": edges}
    )
    return Discovered(request, warnings)
