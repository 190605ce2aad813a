"""HTTP shapes of the ingest endpoint (the ingest format of `examples/*.json`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, NotRequired

import orjson
from pydantic import BaseModel, Field, StringConstraints
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


class IngestionRequest(BaseModel):
    model_config = _STRICT

    source: DiscoverySource
    observed_at: StorableAwareTime | None = Field(
        default=None,
        description="When the source saw this graph (RFC 3339 with an offset, within the "
        "years 1-9999 in UTC); defaults to now.",
    )
    nodes: list[NodeIn] = Field(default_factory=list)
    edges: list[EdgeIn] = Field(default_factory=list)


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
    circular_dependencies_detected: list[DetectedCycleOut]
    warnings: list[str]
