"""Service mesh (`service_mesh`): Istio's standard metrics, read from Prometheus.

`istio_requests_total` and `istio_request_duration_milliseconds` carry, per request,
`reporter` (`source` or `destination` proxy), `source_workload`,
`source_workload_namespace`, `destination_workload`, `destination_workload_namespace`,
`destination_service_name`, `destination_service_namespace` and `response_code`.

Service ids: the workload name, followed by `.namespace` outside the `default`
namespace (like a Kubernetes DNS name: `reviews.bookinfo`); a destination without a
known workload (outside the mesh) is named by its service. Traffic whose source is
`unknown` (from outside the mesh) has no caller to name and is left out. Each pair's
figures come from the destination proxy's reports when there are any (they include the
server's own time), else from the source proxy's. Errors are 5xx responses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slo_engine.discovery.prometheus import PrometheusClient, Sample
from slo_engine.discovery.sources.base import Discovered, EdgeFigures, edge_ids
from slo_engine.ingestion.schemas import ingestion_request

BY = (
    "reporter, source_workload, source_workload_namespace, destination_workload, "
    "destination_workload_namespace, destination_service_name, destination_service_namespace"
)
_REQUESTS = f"sum by ({BY}) (increase(istio_requests_total[{{w}}])) > 0"
_ERRORS = f'sum by ({BY}) (increase(istio_requests_total{{{{response_code=~"5.."}}}}[{{w}}]))'
_LATENCY = (
    f"histogram_quantile(0.95, sum by ({BY}, le) "
    "(rate(istio_request_duration_milliseconds_bucket[{w}])))"
)
_UNKNOWN = {"", "unknown"}


def _named(workload: str, namespace: str) -> str:
    return workload if namespace in ("", "default") else f"{workload}.{namespace}"


def _pair(labels: dict[str, str]) -> tuple[str, str] | None:
    source = labels.get("source_workload", "")
    if source in _UNKNOWN:
        return None
    destination = labels.get("destination_workload", "")
    if destination in _UNKNOWN:
        destination = labels.get("destination_service_name", "")
        namespace = labels.get("destination_service_namespace", "")
    else:
        namespace = labels.get("destination_workload_namespace", "")
    if destination in _UNKNOWN:
        return None
    return (
        _named(source, labels.get("source_workload_namespace", "")),
        _named(destination, namespace),
    )


def _outside(labels: dict[str, str]) -> bool:
    """The destination has no workload in the mesh (a ServiceEntry, an external host):
    an `external` node (graph.model.NodeKind)."""
    return labels.get("destination_workload", "") in _UNKNOWN


class ServiceMeshSource:
    name = "mesh"

    def __init__(self, prometheus: PrometheusClient, interval_minutes: int) -> None:
        self._prometheus = prometheus
        self.interval_minutes = interval_minutes

    async def discover(self) -> Discovered:
        w = f"{self.interval_minutes}m"
        requests = await self._prometheus.query(_REQUESTS.format(w=w))
        errors = await self._prometheus.query(_ERRORS.format(w=w))
        latency = await self._prometheus.query(_LATENCY.format(w=w))
        return build_mesh_graph(requests, errors, latency, self.interval_minutes * 60)


def build_mesh_graph(
    requests: list[Sample], errors: list[Sample], latency: list[Sample], window_seconds: int
) -> Discovered:
    warnings: list[str] = []
    skipped_outside = 0
    # (pair) -> reporter -> figures; destination reports win.
    by_reporter: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    outside: set[tuple[str, str]] = set()

    def add(sample: Sample, field: str) -> None:
        nonlocal skipped_outside
        names = _pair(sample.labels)
        if names is None:
            skipped_outside += field == "requests"
            return
        key = edge_ids(*names, warnings)
        if key is None:
            return
        if _outside(sample.labels):
            outside.add(key)
        reporter = sample.labels.get("reporter", "source")
        slot = by_reporter.setdefault(key, {}).setdefault(reporter, {})
        slot[field] = slot.get(field, 0.0) + sample.value

    for sample in requests:
        add(sample, "requests")
    for sample in errors:
        add(sample, "errors")
    for sample in latency:
        add(sample, "p95")
    if skipped_outside:
        warnings.append(f"left out {skipped_outside} series from or to outside the mesh")

    edges = []
    for (source, target), reports in sorted(by_reporter.items()):
        chosen = reports.get("destination") or reports.get("source")
        if not chosen or chosen.get("requests", 0.0) <= 0:
            continue
        total = chosen["requests"]
        figures = EdgeFigures(
            requests_per_second=total / window_seconds,
            error_rate=chosen.get("errors", 0.0) / total,
            latency_p95_ms=chosen.get("p95"),
            attributes={"communication_mode": "sync"},
        )
        edge: dict[str, Any] = {"source": source, "target": target}
        if (source, target) in outside:
            edge["target_kind"] = "external"
        edges.append({**edge, "attributes": figures.as_attributes()})
    request = ingestion_request(
        {"source": "service_mesh", "observed_at": datetime.now(UTC), "edges": edges}
    )
    return Discovered(request, warnings)
