"""X-Correlation-ID: echoed when the client sent a sane one, generated otherwise, put on
every response (errors included) and on every log line of the request. Set per request
by the HTTP edge (infra/http_edge.py); read here by whoever logs or answers."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import MutableMapping
from typing import Any

CORRELATION_HEADER = "X-Correlation-ID"

current_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)


def correlation_id_of(scope: MutableMapping[str, Any]) -> str:
    state = scope.get("state") or {}
    value = state.get("correlation_id")
    return value if isinstance(value, str) else str(uuid.uuid4())
