"""OpenTelemetry service graph (`otel_service_graph`), read from Prometheus.

The Collector's `servicegraph` connector and Tempo's metrics-generator write, per
(client, server) pair: `traces_service_graph_request_total` and `..._failed_total`
counters, latency histograms `traces_service_graph_request_server_seconds` and
`..._client_seconds` (older versions without the `_seconds` suffix), and Tempo's presence
gauge `traces_service_graph_connection_info`. Extra labels (`failed`, `client_*`,
`server_*` dimensions) are summed away.

An edge is one that carried requests in the last interval (`increase(...[window]) > 0`)
or whose presence gauge was set in it; an idle pair is left out (and, if stored, goes
stale after STALE_EDGE_THRESHOLD_HOURS). `connection_type` maps to the edge: unset → a
synchronous call; `messaging_system` → asynchronous; `database` → a datastore
dependency; `virtual_node` (or the client `user`) → an uninstrumented or external peer.
The last three are also recorded in the edge's `protocol` so they stay visible.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slo_engine.discovery.prometheus import PrometheusClient, Sample
from slo_engine.discovery.sources.base import Discovered, EdgeFigures, edge_ids
from slo_engine.ingestion.schemas import ingestion_request

BY = "client, server, connection_type"
_REQUESTS = f"sum by ({BY}) (increase(traces_service_graph_request_total[{{w}}])) > 0"
_FAILED = f"sum by ({BY}) (increase(traces_service_graph_request_failed_total[{{w}}]))"
_LATENCY = (
    "histogram_quantile(0.95, sum by ({by}, le) "
    '(rate({{__name__=~"traces_service_graph_request_{side}(_seconds)?_bucket"}}[{w}])))'
)
_PRESENT = f"max by ({BY}) (max_over_time(traces_service_graph_connection_info[{{w}}])) > 0"

_MODE_BY_CONNECTION = {"messaging_system": "async"}
_MARKED = {"messaging_system", "database", "virtual_node"}


def _ends_kinds(connection_type: str, client: str) -> dict[str, str]:
    """What the connector says the edge's ends are (graph.model.NodeKind): the server of
    a `database` or `messaging_system` connection is a database or a broker; of a
    `virtual_node` one, the uninstrumented peer (external) unless the client is the
    virtual one (`user`: traffic whose caller nobody traced).

    >>> _ends_kinds("database", "api"), _ends_kinds("virtual_node", "user")
    ({'target_kind': 'database'}, {'source_kind': 'virtual'})
    """
    if connection_type == "database":
        return {"target_kind": "database"}
    if connection_type == "messaging_system":
        return {"target_kind": "messaging"}
    if client == "user":
        return {"source_kind": "virtual"}
    if connection_type == "virtual_node":
        return {"target_kind": "external"}
    return {}


def _window(minutes: int) -> str:
    return f"{minutes}m"


def _connection_attributes(connection_type: str, client: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "communication_mode": _MODE_BY_CONNECTION.get(connection_type, "sync")
    }
    if connection_type in _MARKED:
        attributes["protocol"] = connection_type
    elif client == "user":
        attributes["protocol"] = "virtual_node"
    return attributes


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
    figures: dict[tuple[str, str], EdgeFigures] = {}
    kinds: dict[tuple[str, str], dict[str, str]] = {}
    totals: dict[tuple[str, str], float] = {}

    def key_of(sample: Sample) -> tuple[str, str] | None:
        labels = sample.labels
        return edge_ids(labels.get("client", ""), labels.get("server", ""), warnings)

    for sample in [*requests, *present]:
        key = key_of(sample)
        if key is None or key in figures:
            continue
        connection_type = sample.labels.get("connection_type", "")
        client = sample.labels.get("client", "")
        figures[key] = EdgeFigures(attributes=_connection_attributes(connection_type, client))
        kinds[key] = _ends_kinds(connection_type, client)
    for sample in requests:
        key = key_of(sample)
        if key is not None:
            totals[key] = totals.get(key, 0.0) + sample.value
    for key, total in totals.items():
        figures[key].requests_per_second = total / window_seconds
    failures: dict[tuple[str, str], float] = {}
    for sample in failed:
        key = key_of(sample)
        if key is not None and key in totals:
            failures[key] = failures.get(key, 0.0) + sample.value
    for key, count in failures.items():
        figures[key].error_rate = count / totals[key] if totals[key] > 0 else None
    # Server-side latency when the pair has it, else the client's view.
    for answer in (client_p95, server_p95):
        for sample in answer:
            key = key_of(sample)
            if key is not None and key in figures:
                figures[key].latency_p95_ms = sample.value * 1000.0
    edges = [
        {"source": s, "target": t, **kinds[(s, t)], "attributes": f.as_attributes()}
        for (s, t), f in sorted(figures.items())
    ]
    request = ingestion_request(
        {"source": "otel_service_graph", "observed_at": datetime.now(UTC), "edges": edges}
    )
    return Discovered(request, warnings)
