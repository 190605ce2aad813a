"""The one small interface every discovery source implements, and what they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from slo_engine.discovery.naming import to_service_id
from slo_engine.ingestion.schemas import IngestionRequest


class Source(Protocol):
    """A discovery source: asked for the graph it sees now, as an ingest request.

    `discover` raises `SourceError` when it cannot give a complete answer; it never
    writes anything (the discovery service ingests what it returns).
    """

    name: str  # the job and status name: otel, mesh, jaeger, backstage, kubernetes
    interval_minutes: int

    async def discover(self) -> Discovered: ...


@dataclass
class Discovered:
    """What one run found: the request to ingest, and what it had to leave out."""

    request: IngestionRequest
    warnings: list[str] = field(default_factory=list)
    # When set, the nodes' metadata is this source's key only (`{"kubernetes": {...}}`):
    # it replaces that key in the stored metadata and the other keys stay
    # (discovery/service.py), instead of the ingest rule of replacing metadata whole.
    metadata_key: str | None = None


@dataclass
class EdgeFigures:
    """Traffic figures of one edge, filled in by separate queries."""

    requests_per_second: float | None = None
    error_rate: float | None = None
    latency_p95_ms: float | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    def as_attributes(self) -> dict[str, Any]:
        found: dict[str, Any] = dict(self.attributes)
        if self.requests_per_second is not None:
            found["request_rate"] = round(self.requests_per_second, 6)
        if self.error_rate is not None:
            found["error_rate"] = min(1.0, max(0.0, round(self.error_rate, 6)))
        if self.latency_p95_ms is not None:
            found["latency_p95_ms"] = round(self.latency_p95_ms, 3)
        return found


def edge_ids(client: str, server: str, warnings: list[str]) -> tuple[str, str] | None:
    """Both ends as service ids, or None (with a warning) when a name cannot be one."""
    source, target = to_service_id(client), to_service_id(server)
    if source is None or target is None:
        warnings.append(f"skipped edge {client!r} -> {server!r}: not usable as service ids")
        return None
    return source, target
