"""HTTP shapes of the ingest endpoint (the ingest format of `../shared/data/`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, NotRequired

import orjson
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict

from slo_engine.graph.model import (
    SERVICE_ID_PATTERN,
    CommunicationMode,
    DependencyCriticality,
    DiscoverySource,
    ServiceCriticality,
)

ServiceId = Annotated[
    str,
    StringConstraints(pattern=SERVICE_ID_PATTERN, min_length=1, max_length=255),
    Field(description="Business id: 1-255 of [A-Za-z0-9._:-], starting with a letter or digit."),
]
ShortText = Annotated[str, StringConstraints(max_length=255)]


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form JSON must be storable as it is: integers beyond 64 bits and nesting
    deeper than the encoder's limit are refused here (a 422), not at the database."""
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise ValueError(f"cannot be stored as JSON: {error}") from error
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_storable)]


# Edges and nodes are TypedDicts, not models: validating 250,000 edges into dicts is
# about three times faster than into model instances, and they are read once.
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = _STRICT


class NodeIn(TypedDict):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    service_id: ServiceId
    display_name: NotRequired[ShortText | None]
    team: NotRequired[ShortText | None]
    criticality: NotRequired[ServiceCriticality | None]
    metadata: NotRequired[JsonObject | None]


class EdgeAttributes(TypedDict, total=False):
    __pydantic_config__ = _STRICT  # type: ignore[misc]

    communication_mode: CommunicationMode | None
    criticality: DependencyCriticality | None
    protocol: Annotated[str, StringConstraints(max_length=64)] | None
    timeout_ms: Annotated[int, Field(ge=0, le=86_400_000)] | None
    retry_config: JsonObject | None
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


class IngestionRequest(_Strict):
    source: DiscoverySource
    observed_at: AwareDatetime | None = Field(
        default=None, description="When the source saw this graph; defaults to now."
    )
    nodes: list[NodeIn] = Field(default_factory=list)
    edges: list[EdgeIn] = Field(default_factory=list)


class DetectedCycleOut(BaseModel):
    alert_id: uuid.UUID
    cycle_path: list[str]


class IngestionResponse(BaseModel):
    nodes_upserted: int = Field(
        description="Distinct services in the request, declared or named by an edge."
    )
    edges_upserted: int = Field(description="Distinct edges written for this discovery source.")
    circular_dependencies_detected: list[DetectedCycleOut]
    warnings: list[str]
