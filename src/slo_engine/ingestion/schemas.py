"""HTTP shapes of the ingest endpoint (the ingest format of `examples/*.json`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, NotRequired

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import TypedDict

from slo_engine.graph.model import (
    SERVICE_ID_PATTERN,
    CommunicationMode,
    DependencyCriticality,
    DiscoverySource,
    NodeKind,
    ServiceCriticality,
)
from slo_engine.infra.storable import (
    STRICT_BODY,
    TEXT_RULE,
    WHOLE_NUMBER,
    StorableAwareTime,
    StorableJson,
)
from slo_engine.ingestion.retraction import RetractionResult

ServiceId = Annotated[
    str,
    StringConstraints(pattern=SERVICE_ID_PATTERN, min_length=1, max_length=255),
    Field(description="Business id: 1-255 of [A-Za-z0-9._:-], starting with a letter or digit."),
]
ShortText = Annotated[str, StringConstraints(max_length=255), TEXT_RULE]
KIND_DECLARED_DESCRIPTION = (
    "What the node is: `service`, `database`, `messaging`, `external` or `virtual` "
    "(docs/identity.md). Left out or null: the stored kind is kept (`service` for a new "
    "one)."
)
KIND_OBSERVED_DESCRIPTION = (
    "What this source saw the %s to be (`database`, `messaging`, `external`, `virtual` "
    "or `service`); applied to a node whose kind no node entry declared: a declared kind "
    "wins."
)

# Edges and nodes are TypedDicts, not models: validating 250,000 edges into dicts is
# about three times faster than into model instances, and they are read once. Strict:
# no coercion of numbers, booleans or text (infra/storable.py).
_STRICT = STRICT_BODY


class NodeIn(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    service_id: ServiceId
    display_name: NotRequired[
        Annotated[
            ShortText | None,
            Field(description="A human-readable name. Left out or null: the stored one is kept."),
        ]
    ]
    team: NotRequired[
        Annotated[
            ShortText | None,
            Field(description="The owning team. Left out or null: the stored one is kept."),
        ]
    ]
    criticality: NotRequired[
        Annotated[
            ServiceCriticality | None,
            Field(
                description="How much the business needs the service (critical > high > "
                "medium > low). Left out or null: the stored one is kept."
            ),
        ]
    ]
    metadata: NotRequired[
        Annotated[
            StorableJson | None,
            Field(
                description="Free-form JSON about the service, replacing the stored "
                "metadata; e.g. `slo_target` (a number in (0, 1]), which the availability "
                "ceiling reads. Left out or null: the stored metadata is kept."
            ),
        ]
    ]
    kind: NotRequired[
        Annotated[
            NodeKind | None,
            Field(description=KIND_DECLARED_DESCRIPTION),
        ]
    ]


class EdgeAttributes(TypedDict, total=False):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    communication_mode: Annotated[
        CommunicationMode | None,
        Field(description="`sync` (the caller waits for the answer) or `async` (messages)."),
    ]
    criticality: Annotated[
        DependencyCriticality | None,
        Field(
            description="How the caller suffers when the callee fails: `hard` (it fails "
            "too), `soft` (it works on without), `degraded` (it works, worse)."
        ),
    ]
    protocol: Annotated[
        Annotated[str, StringConstraints(max_length=64), TEXT_RULE] | None,
        Field(description="The call's protocol, e.g. http, grpc, kafka; at most 64 characters."),
    ]
    timeout_ms: Annotated[
        Annotated[int, Field(ge=0, le=86_400_000), WHOLE_NUMBER] | None,
        Field(description="The caller's timeout for this call, in ms (at most a day)."),
    ]
    retry_config: Annotated[
        StorableJson | None,
        Field(description="The caller's retry policy, free-form JSON kept verbatim."),
    ]
    confidence_score: Annotated[
        Annotated[float, Field(ge=0.0, le=1.0)] | None,
        Field(
            description="How sure this source is that the call exists, 0 to 1; defaults to "
            "the source's base confidence (docs/merge.md)."
        ),
    ]
    request_rate: Annotated[
        Annotated[float, Field(ge=0.0)] | None,
        Field(description="Observed requests per second."),
    ]
    error_rate: Annotated[
        Annotated[float, Field(ge=0.0, le=1.0)] | None,
        Field(description="Observed share of failed requests, 0 to 1 (0.002 = 0.2%)."),
    ]
    latency_p95_ms: Annotated[
        Annotated[float, Field(ge=0.0)] | None,
        Field(description="Observed 95th percentile latency of the call, in ms."),
    ]


class EdgeIn(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    source: Annotated[ServiceId, Field(description="The caller's service id.")]
    target: Annotated[ServiceId, Field(description="The callee's service id.")]
    source_kind: NotRequired[
        Annotated[NodeKind | None, Field(description=KIND_OBSERVED_DESCRIPTION % "caller")]
    ]
    target_kind: NotRequired[
        Annotated[NodeKind | None, Field(description=KIND_OBSERVED_DESCRIPTION % "callee")]
    ]
    attributes: NotRequired[
        Annotated[
            EdgeAttributes,
            Field(
                description="What this source knows of the call; every attribute is "
                "optional, and one left out or null is not known to this source."
            ),
        ]
    ]


class ReplaceScope(BaseModel):
    model_config = _STRICT

    services: list[ServiceId] = Field(
        min_length=1,
        max_length=100_000,
        description="The request is the complete picture of these services' outgoing edges "
        "(as reported by its source).",
    )


# What docs/api.md shows: one source's report of a call, with every attribute.
_INGESTION_EXAMPLE: dict[str, Any] = {
    "source": "service_mesh",
    "observed_at": "2026-11-26T10:00:00Z",
    "nodes": [{"service_id": "checkoutservice", "team": "checkout", "criticality": "critical"}],
    "edges": [
        {
            "source": "checkoutservice",
            "target": "paymentservice",
            "attributes": {
                "communication_mode": "sync",
                "criticality": "hard",
                "protocol": "grpc",
                "timeout_ms": 500,
                "retry_config": {"max_retries": 3},
                "confidence_score": 0.9,
                "request_rate": 42.0,
                "error_rate": 0.002,
                "latency_p95_ms": 35.5,
            },
        }
    ],
}
# A catalog's full sync of one service's outgoing edges.
_REPLACE_EXAMPLE: dict[str, Any] = {
    "source": "backstage",
    "mode": "replace",
    "scope": {"services": ["checkoutservice"]},
    "edges": [
        {"source": "checkoutservice", "target": "paymentservice"},
        {
            "source": "checkoutservice",
            "target": "emailservice",
            "attributes": {"criticality": "soft", "communication_mode": "async"},
        },
    ],
}


class IngestionRequest(BaseModel):
    model_config = ConfigDict(
        **_STRICT, json_schema_extra={"examples": [_INGESTION_EXAMPLE, _REPLACE_EXAMPLE]}
    )

    source: DiscoverySource = Field(
        description="The discovery source reporting: its reports are kept apart from other "
        "sources' and merged on read (docs/merge.md)."
    )
    observed_at: StorableAwareTime | None = Field(
        default=None,
        description="When the source saw this graph (RFC 3339 with an offset, within the "
        "years 1-9999 in UTC); defaults to now.",
    )
    mode: Literal["merge", "replace"] = Field(
        default="merge",
        description="`merge` (the default) upserts what is given. `replace` also says it is "
        "the source's complete picture of its scope: the edges this source reported in "
        "scope before and not in this request are retracted in the same transaction.",
    )
    scope: ReplaceScope | None = Field(
        default=None,
        description="Only with `mode: replace` (with `merge` it is a 422): the services "
        "whose outgoing edges the request covers. Without it, the source's whole report.",
    )
    nodes: list[NodeIn] = Field(
        default_factory=list,
        description="Services declared, with what the source knows of them; a service an "
        "edge names but no node declares is created as `discovered`.",
    )
    edges: list[EdgeIn] = Field(
        default_factory=list,
        description="Calls seen or declared, one per (source, target): ingesting one again "
        "updates this source's report of it.",
    )

    @model_validator(mode="after")
    def _scope_needs_replace(self) -> IngestionRequest:
        if self.scope is not None and self.mode != "replace":
            raise ValueError("scope is only meaningful with mode 'replace'")
        return self


def ingestion_request(document: dict[str, Any]) -> IngestionRequest:
    """A request validated by the HTTP API's own rules (strict JSON), from a document a
    discovery source built or the CLI read from a file: what the API would refuse, no
    other way in accepts."""
    return IngestionRequest.model_validate_json(orjson.dumps(document))


class DetectedCycleOut(BaseModel):
    alert_id: uuid.UUID = Field(
        description="The circular-dependency alert opened for it (GET "
        "/circular-dependencies/{alert_id})."
    )
    cycle_path: list[str] = Field(description="One concrete cycle, first service repeated last.")


class IngestionResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nodes_upserted": 2,
                    "edges_upserted": 1,
                    "revision": 57,
                    "edges_retracted": 0,
                    "circular_dependencies_detected": [
                        {
                            "alert_id": "0f8c6c7e-5a41-4c36-9d3e-2b7f1c9a4e10",
                            "cycle_path": ["checkoutservice", "paymentservice", "checkoutservice"],
                        }
                    ],
                    "warnings": [],
                }
            ]
        }
    )

    nodes_upserted: int = Field(
        description="Distinct services in the request, declared or named by an edge."
    )
    edges_upserted: int = Field(description="Distinct edges written for this discovery source.")
    revision: int = Field(
        description="The graph revision this write committed (also `X-Graph-Revision`): "
        "pass it as `min_revision` to read it back through any replica."
    )
    edges_retracted: int = Field(
        default=0,
        description="Edge reports of this source retracted because a `replace` request "
        "no longer lists them.",
    )
    circular_dependencies_detected: list[DetectedCycleOut] = Field(
        description="Cycles this write closed (each opens an alert); empty when none."
    )
    warnings: list[str] = Field(
        description="What was stored otherwise than sent, or deserves a look (an edge "
        "given twice: the last entry kept; `observed_at` in the future: recorded as now); "
        "the write itself succeeded."
    )


class RetractedEdgeOut(BaseModel):
    source: str = Field(description="The caller's service id.")
    target: str = Field(description="The callee's service id.")
    discovery_source: DiscoverySource = Field(description="Whose report was retracted.")


class RetractionResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 58,
                    "retracted": [
                        {
                            "source": "paymentservice",
                            "target": "checkoutservice",
                            "discovery_source": "otel_service_graph",
                        }
                    ],
                    "deleted_service": None,
                    "cycles_resolved": [["checkoutservice", "paymentservice", "checkoutservice"]],
                    "warnings": [],
                }
            ]
        }
    )

    revision: int = Field(
        description="The graph revision this write committed (also `X-Graph-Revision`)."
    )
    retracted: list[RetractedEdgeOut] = Field(description="The edge reports retracted.")
    deleted_service: str | None = Field(
        default=None, description="The service deleted, for a service deletion."
    )
    cycles_resolved: list[list[str]] = Field(
        default_factory=list,
        description="The paths of the circular-dependency alerts this write resolved.",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What deserves a look although the write succeeded (e.g. the cycle "
        "check failed and runs again on the next change).",
    )

    @classmethod
    def of(cls, result: RetractionResult) -> RetractionResponse:
        return cls(
            revision=result.revision,
            retracted=[
                RetractedEdgeOut(source=s, target=t, discovery_source=DiscoverySource(d))
                for s, t, d in result.retracted
            ],
            deleted_service=result.deleted_service,
            cycles_resolved=result.cycles_resolved,
            warnings=result.warnings,
        )
