"""HTTP shapes of the ingest endpoint (the ingest format of `examples/*.json`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, NotRequired

import orjson
from pydantic import BaseModel, Field, StringConstraints, model_validator
from typing_extensions import TypedDict

from slo_engine.graph.model import (
    SERVICE_ID_PATTERN,
    CommunicationMode,
    DependencyCriticality,
    DiscoverySource,
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

# Edges and nodes are TypedDicts, not models: validating 250,000 edges into dicts is
# about three times faster than into model instances, and they are read once. Strict:
# no coercion of numbers, booleans or text (infra/storable.py).
_STRICT = STRICT_BODY


class NodeIn(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    service_id: ServiceId
    display_name: NotRequired[ShortText | None]
    team: NotRequired[ShortText | None]
    criticality: NotRequired[ServiceCriticality | None]
    metadata: NotRequired[StorableJson | None]


class EdgeAttributes(TypedDict, total=False):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    communication_mode: CommunicationMode | None
    criticality: DependencyCriticality | None
    protocol: Annotated[str, StringConstraints(max_length=64), TEXT_RULE] | None
    timeout_ms: Annotated[int, Field(ge=0, le=86_400_000), WHOLE_NUMBER] | None
    retry_config: StorableJson | None
    confidence_score: (
        Annotated[
            float, Field(ge=0.0, le=1.0, description="Defaults to the source's base confidence.")
        ]
        | None
    )
    request_rate: Annotated[float, Field(ge=0.0, description="Requests per second.")] | None
    error_rate: Annotated[float, Field(ge=0.0, le=1.0, description="Failed share.")] | None
    latency_p95_ms: Annotated[float, Field(ge=0.0)] | None


class EdgeIn(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    source: ServiceId
    target: ServiceId
    attributes: NotRequired[EdgeAttributes]


class ReplaceScope(BaseModel):
    model_config = _STRICT

    services: list[ServiceId] = Field(
        min_length=1,
        max_length=100_000,
        description="The request is the complete picture of these services' outgoing edges "
        "(as reported by its source).",
    )


class IngestionRequest(BaseModel):
    model_config = _STRICT

    source: DiscoverySource
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
    nodes: list[NodeIn] = Field(default_factory=list)
    edges: list[EdgeIn] = Field(default_factory=list)

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
    alert_id: uuid.UUID
    cycle_path: list[str]


class IngestionResponse(BaseModel):
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
    circular_dependencies_detected: list[DetectedCycleOut]
    warnings: list[str]


class RetractedEdgeOut(BaseModel):
    source: str
    target: str
    discovery_source: DiscoverySource


class RetractionResponse(BaseModel):
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
    warnings: list[str] = Field(default_factory=list)

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
