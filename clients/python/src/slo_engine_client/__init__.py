"""A typed client of the slo-engine HTTP API, blocking and asyncio.

    from slo_engine_client import SloEngineClient
    c = SloEngineClient("http://127.0.0.1:8000", api_key="slo_...")
    print(c.dependencies("checkout").nodes)

See README.md (clients/python) for the methods, the errors and the retries.
"""

from slo_engine_client import models
from slo_engine_client._client import AsyncSloEngineClient, SloEngineClient, __version__
from slo_engine_client._retry import RetryEvent, RetryPolicy
from slo_engine_client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InvalidResponse,
    NotFound,
    ProblemError,
    RateLimited,
    ServerError,
    SloEngineClientError,
    TransportError,
    Unauthorized,
    Unavailable,
    UnprocessableEntity,
)

__all__ = [
    "AsyncSloEngineClient",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Gone",
    "InvalidResponse",
    "NotFound",
    "ProblemError",
    "RateLimited",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "SloEngineClient",
    "SloEngineClientError",
    "TransportError",
    "Unauthorized",
    "Unavailable",
    "UnprocessableEntity",
    "__version__",
    "models",
]
