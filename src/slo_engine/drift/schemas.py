"""HTTP shapes of the drift answers. drift/service.py encodes the answers straight to
JSON (like the insights); these models document them in the OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from slo_engine.graph.drift import Drift
from slo_engine.graph.model import DiscoverySource, NodeKind
from slo_engine.topology.catalog_schemas import NEXT_CURSOR_DESCRIPTION

# Online Boutique declared in Backstage; tracing misses frontend → adservice and sees
# checkoutservice → quoteservice, which nobody declared (docs/drift.md).
_OBSERVED_ONLY_EXAMPLE: dict[str, Any] = {
    "source": "checkoutservice",
    "target": "quoteservice",
    "source_kind": "service",
    "target_kind": "service",
    "drift": "observed_only",
    "confidence": 0.8994,
    "field": None,
    "declared": None,
    "observed": None,
    "evidence": {
        "declared_by": [],
        "observed_by": ["otel_service_graph"],
        "last_seen": {"otel_service_graph": "2026-11-26T10:00:00Z"},
        "request_rate": 4.2,
        "error_rate": 0.001,
        "latency_p95_ms": 18.5,
        "caller_coverage": None,
    },
}
_DECLARED_ONLY_EXAMPLE: dict[str, Any] = {
    "source": "frontend",
    "target": "adservice",
    "source_kind": "service",
    "target_kind": "service",
    "drift": "declared_only",
    "confidence": 0.9,
    "field": None,
    "declared": None,
    "observed": None,
    "evidence": {
        "declared_by": ["backstage"],
        "observed_by": [],
        "last_seen": {"backstage": "2026-11-26T09:00:00Z"},
        "request_rate": None,
        "error_rate": None,
        "latency_p95_ms": None,
        "caller_coverage": {
            "observed_by": ["otel_service_graph"],
            "last_seen": "2026-11-26T10:00:00Z",
            "edges": 7,
        },
    },
}
_MISMATCH_EXAMPLE: dict[str, Any] = {
    "source": "checkoutservice",
    "target": "emailservice",
    "source_kind": "service",
    "target_kind": "service",
    "drift": "mismatch",
    "confidence": 0.9,
    "field": "communication_mode",
    "declared": "async",
    "observed": "sync",
    "evidence": {
        "declared_by": ["manual"],
        "observed_by": ["otel_service_graph"],
        "last_seen": {
            "manual": "2026-11-20T09:00:00Z",
            "otel_service_graph": "2026-11-26T10:00:00Z",
        },
        "request_rate": 1.5,
        "error_rate": 0.0,
        "latency_p95_ms": 40.0,
        "caller_coverage": None,
    },
}
DRIFT_PAGE_EXAMPLE: dict[str, Any] = {
    "window_hours": 168,
    "computed_at": "2026-11-26T10:00:30Z",
    "revision": 42,
    "totals": {"declared_only": 1, "observed_only": 1, "mismatch": 1},
    "items": [_MISMATCH_EXAMPLE, _OBSERVED_ONLY_EXAMPLE, _DECLARED_ONLY_EXAMPLE],
    "next_cursor": None,
}


class CoverageOut(BaseModel):
    observed_by: list[DiscoverySource] = Field(
        description="The observing sources that saw the caller's own calls within the "
        "window (or, the mesh, calls into it), in observation priority."
    )
    last_seen: datetime = Field(description="When traffic last showed the caller (UTC).")
    edges: int = Field(
        description="The caller's covering edges within the window: its calls out, and "
        "the calls into it the mesh saw."
    )


class EvidenceOut(BaseModel):
    declared_by: list[DiscoverySource] = Field(
        description="The declaring sources (`manual`, `backstage`) that report the edge."
    )
    observed_by: list[DiscoverySource] = Field(
        description="The observing sources (`service_mesh`, `otel_service_graph`, "
        "`jaeger`) that saw the edge within the window, not stale."
    )
    last_seen: dict[str, datetime] = Field(
        description="Per source reporting the edge (any age, stale ones too): when it last "
        "reported it (UTC)."
    )
    request_rate: float | None = Field(
        description="Requests per second seen within the window; null when not measured."
    )
    error_rate: float | None = Field(
        description="Share of failed requests seen within the window, 0 to 1; null when not "
        "measured."
    )
    latency_p95_ms: float | None = Field(
        description="95th percentile latency seen within the window, ms; null when not measured."
    )
    caller_coverage: CoverageOut | None = Field(
        description="`declared_only` only: what traffic sees of the caller, which is why "
        "the edge's absence counts."
    )


class DriftItemOut(BaseModel):
    source: str = Field(description="The caller's service id.")
    target: str = Field(description="The callee's service id.")
    source_kind: NodeKind = Field(description="What the caller is (docs/identity.md).")
    target_kind: NodeKind = Field(
        description="What the callee is: `external` ones only with `include_external`."
    )
    drift: Drift = Field(
        description="`declared_only`: declared, not seen in traffic although the caller is; "
        "`observed_only`: seen in traffic, declared by nobody; `mismatch`: both, and a "
        "field traffic tells differs (docs/drift.md)."
    )
    confidence: float = Field(
        description="How sure the drift is, 0 to 1: from the confidence and age of the "
        "observations it rests on; for `declared_only`, of the caller's covering "
        "observations, per source, at most 0.95 (docs/drift.md, Confidence)."
    )
    field: str | None = Field(
        description="`mismatch` only: the field that differs (`communication_mode` or "
        "`criticality`); null otherwise."
    )
    declared: str | None = Field(description="`mismatch` only: the declared value.")
    observed: str | None = Field(description="`mismatch` only: the observed value.")
    evidence: EvidenceOut = Field(description="What the drift rests on.")


class DriftTotalsOut(BaseModel):
    declared_only: int = Field(description="Items of this kind in scope, before `drift=`.")
    observed_only: int = Field(description="Items of this kind in scope, before `drift=`.")
    mismatch: int = Field(description="Items of this kind in scope, before `drift=`.")


class DriftOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DRIFT_PAGE_EXAMPLE]})

    window_hours: int = Field(description="The window observations count within, hours.")
    computed_at: datetime = Field(
        description="The time the window ends at (UTC): when the drift was computed. The "
        "whole graph's is kept for up to a minute, whatever revisions come meanwhile."
    )
    revision: int = Field(
        description="The graph revision the drift was judged at (also `X-Graph-Revision`); "
        "pass `min_revision` for a later one."
    )
    totals: DriftTotalsOut = Field(
        description="Items of each kind in scope (the whole graph, the service, or the "
        "answer's edges), whatever `drift=` and the page."
    )
    items: list[DriftItemOut] = Field(
        description="This page's items, by (source, target, kind, field)."
    )
    next_cursor: str | None = Field(description=NEXT_CURSOR_DESCRIPTION)
