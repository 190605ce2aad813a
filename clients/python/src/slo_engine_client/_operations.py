"""The operations of the API this client wraps, as the server's OpenAPI document names
them (operation id, method, path, parameters, answer), and the requests built from
them. Every request the typed methods send goes through `OPERATIONS`, so the test
that holds this table against a server's `/openapi.json` covers every one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from slo_engine_client import models as m

API = "/api/v1"


@dataclass(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str
    path: str  # as in the document: /api/v1/services/{service_id}
    query: frozenset[str] = frozenset()  # the query parameters the client may send
    required_query: frozenset[str] = frozenset()
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None  # the JSON answer's model


def _op(
    operation_id: str,
    method: str,
    path: str,
    query: str = "",
    *,
    required: str = "",
    body: type[BaseModel] | None = None,
    answer: type[BaseModel] | None = None,
) -> Operation:
    return Operation(
        operation_id,
        method,
        API + path,
        frozenset(query.split()),
        frozenset(required.split()),
        body,
        answer,
    )


_READ = "min_revision as_of"
OPERATIONS: dict[str, Operation] = {
    op.operation_id: op
    for op in (
        _op("getLiveness", "GET", "/health", answer=m.Liveness),
        _op(
            "getService",
            "GET",
            "/services/{service_id}",
            f"include include_stale {_READ}",
            answer=m.ServiceDetailOut,
        ),
        _op(
            "getDependencies",
            "GET",
            "/services/{service_id}/dependencies",
            f"direction depth include_stale max_nodes format include {_READ}",
            answer=m.SubgraphOut,
        ),
        _op(
            "getImpact",
            "GET",
            "/services/{service_id}/impact",
            f"depth include_stale max_affected {_READ}",
            answer=m.ImpactOut,
        ),
        _op(
            "getAvailability",
            "GET",
            "/services/{service_id}/availability",
            f"include_stale max_terms {_READ}",
            answer=m.AvailabilityOut,
        ),
        _op(
            "getGraph",
            "GET",
            "/graph",
            f"format include_stale cursor limit {_READ}",
            answer=m.GraphPageOut,
        ),
        _op(
            "listServices",
            "GET",
            "/services",
            "team criticality discovered search cursor limit as_of",
            answer=m.ServicePage,
        ),
        _op(
            "listCycleAlerts",
            "GET",
            "/circular-dependencies",
            "status cursor limit",
            answer=m.AlertPage,
        ),
        _op("getCycleAlert", "GET", "/circular-dependencies/{alert_id}", answer=m.AlertOut),
        _op(
            "updateCycleAlert",
            "PATCH",
            "/circular-dependencies/{alert_id}",
            body=m.AlertUpdate,
            answer=m.AlertOut,
        ),
        _op(
            "listChanges",
            "GET",
            "/changes",
            "since_revision since until service type cursor limit",
            answer=m.ChangePage,
        ),
        _op(
            "getGraphDiff",
            "GET",
            "/graph/diff",
            "from to format",
            required="from",
            answer=m.GraphDiffOut,
        ),
        _op(
            "ingestGraph",
            "POST",
            "/services/dependencies",
            body=m.IngestionRequest,
            answer=m.IngestionResponse,
        ),
        _op(
            "retractDependency",
            "DELETE",
            "/services/{source_id}/dependencies/{target_id}",
            "discovery_source",
            answer=m.RetractionResponse,
        ),
        _op(
            "deleteService",
            "DELETE",
            "/services/{service_id}",
            "cascade",
            answer=m.RetractionResponse,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Call:
    """One request of an operation: its path parameters, query and JSON body."""

    operation: Operation
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None  # JSON-ready
    accept: str | None = None

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def path(self) -> str:
        """The path, each parameter one segment whatever it holds (a slash in an id
        reaches the server as %2F, and is refused there, never another endpoint)."""
        return self.operation.path.format(
            **{name: quote(value, safe="") for name, value in self.path_params.items()}
        )

    def params(self) -> dict[str, str | list[str]]:
        """The query parameters given (None left out), as the API writes them; a list
        is the parameter repeated."""
        return {
            name: [_param(item) for item in value]
            if isinstance(value, list | tuple | set | frozenset)
            else _param(value)
            for name, value in self.query.items()
            if value is not None
        }


def call(
    operation_id: str,
    path_params: Mapping[str, str] | None = None,
    query: Mapping[str, Any] | None = None,
    *,
    body: Any = None,
    accept: str | None = None,
) -> Call:
    """The request of operation `operation_id`; a query parameter the operation does not
    have is a bug of this package, refused before anything is sent."""
    operation = OPERATIONS[operation_id]
    unknown = set(query or {}) - operation.query
    if unknown:
        raise ValueError(f"{operation_id} has no query parameter {sorted(unknown)}")
    return Call(operation, dict(path_params or {}), dict(query or {}), body, accept)


def include_param(include: str | Iterable[str] | None) -> str | None:
    """`include=` as the API reads it: names joined by commas (None: not sent).

    >>> include_param(["impact", "availability"]), include_param("impact")
    ('impact,availability', 'impact')
    """
    if include is None or isinstance(include, str):
        return include
    return ",".join(include)


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return time_param(value)
    return str(value)


def time_param(value: datetime | str) -> str:
    """A time as the API reads it: RFC 3339 with an offset (a naive datetime is
    refused here rather than guessed to be UTC)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no timezone; the API needs one (e.g. UTC)")
    return value.isoformat()


def body_json(value: BaseModel | Mapping[str, Any]) -> Any:
    """A request body as JSON: a model without the fields that were never set (the
    server applies its own defaults), or a mapping as it is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(value)
