"""RFC 9457 problem details: the one table from error classes to HTTP statuses, and the
handlers that render every error (ours, validation, routing, unexpected) the same way."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from slo_engine import errors
from slo_engine.infra.conditional import NotModified, not_modified_response
from slo_engine.infra.correlation import CORRELATION_HEADER
from slo_engine.infra.middleware import HttpMiddleware, notes_of

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://slo-engine.dev/problems/"

# The one place that says which error is which status. Most specific class first.
STATUS_BY_ERROR: tuple[tuple[type[errors.SloEngineError], int, str], ...] = (
    (errors.NotFoundError, 404, "not-found"),
    (errors.BadRequestError, 400, "bad-request"),
    (errors.InvalidInputError, 422, "validation-error"),
    (errors.ConflictError, 409, "conflict"),
    (errors.HistoryGoneError, 410, "history-gone"),
    (errors.PayloadTooLargeError, 413, "payload-too-large"),
    (errors.UnsupportedMediaTypeError, 415, "unsupported-media-type"),
    (errors.NotAcceptableError, 406, "not-acceptable"),
    (errors.DatabaseUnavailableError, 503, "database-unavailable"),
    (errors.RevisionNotAppliedError, 503, "revision-not-applied"),
    (errors.UnavailableError, 503, "unavailable"),
    (errors.AuthenticationError, 401, "unauthorized"),
    (errors.PermissionDeniedError, 403, "forbidden"),
    (errors.RateLimitedError, 429, "rate-limited"),
    (errors.SourceError, 502, "source-failed"),
)

_AUTH_REALM = 'Bearer realm="slo-engine"'


def _headers_of(exc: errors.SloEngineError) -> dict[str, str] | None:
    """Response fields an error calls for (RFC 6750 challenge, RFC 9110 Retry-After)."""
    if isinstance(exc, errors.AuthenticationError):
        challenge = _AUTH_REALM + (', error="invalid_token"' if exc.invalid_key else "")
        return {"WWW-Authenticate": challenge}
    if isinstance(exc, errors.RateLimitedError):
        return {**exc.headers, "Retry-After": str(exc.retry_after_seconds)}
    if isinstance(exc, errors.UnavailableError):
        return {"Retry-After": str(exc.retry_after_seconds)}
    if isinstance(exc, errors.UnsupportedMediaTypeError) and exc.method in ("POST", "PATCH"):
        return {f"Accept-{exc.method.title()}": exc.accepted}
    return None


_TITLE_BY_STATUS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    410: "Gone: beyond the history kept",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation error",
    429: "Too many requests",
    431: "Request header fields too large",
    502: "Bad gateway",
    500: "Internal server error",
    503: "Service unavailable",
}


class ProblemError(BaseModel):
    pointer: str = Field(
        description="Where the error is: a JSON Pointer into the body (`/edges/0/target`), "
        "or `/query/<name>`, `/path/<name>`, `/header/<name>` for a parameter."
    )
    detail: str = Field(description="What is wrong there, for a person.")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response of this API is shaped."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_TYPE_BASE + "validation-error",
                    "title": "Validation error",
                    "status": 422,
                    "detail": "The request body is invalid (1 error(s)); nothing was changed.",
                    "instance": "/api/v1/services/dependencies",
                    "correlation_id": "5f0c2a7e-91b4-4f8e-8d0a-3c6b1e2f4a59",
                    "errors": [{"pointer": "/edges/0/target", "detail": "Field required"}],
                }
            ]
        }
    )

    type: str = Field(
        description="A URI naming the kind of problem (stable: match on it, not on `title`)."
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code, as on the response.")
    detail: str = Field(description="What went wrong with this request, for a person.")
    instance: str = Field(description="The path of the request that failed.")
    correlation_id: str = Field(
        description="The request's id (also `X-Correlation-ID`): quote it to find the "
        "server's log line."
    )
    errors: list[ProblemError] | None = Field(
        default=None, description="One entry per invalid input, when the input was invalid."
    )
    outcome_unknown: bool | None = Field(
        default=None,
        description="On a 503 only, true when the database connection was lost while the "
        "write was being committed: it may or may not have been stored. Read before "
        "sending it again (the graph's revision, the change feed).",
    )


# For route declarations: the error responses and their media type in the OpenAPI.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _TITLE_BY_STATUS.get(status, "Error"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    error_list: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    outcome_unknown: bool = False,
) -> Response:
    correlation_id = notes_of(request.scope).correlation_id
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or str(status)),
        "title": title or _TITLE_BY_STATUS.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "correlation_id": correlation_id,
    }
    if error_list is not None:
        body["errors"] = error_list
    if outcome_unknown:
        body["outcome_unknown"] = True
    all_headers = {CORRELATION_HEADER: correlation_id, **(headers or {})}
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=all_headers
    )


def _pointer(location: tuple[Any, ...]) -> str:
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return "/" + "/".join(parts) if parts else ""


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SloEngineError)
    for error_class, status, slug in STATUS_BY_ERROR:
        if isinstance(exc, error_class):
            return problem_response(
                request,
                status,
                exc.detail,
                slug=slug,
                title=exc.title,
                error_list=exc.errors,
                headers=_headers_of(exc),
                outcome_unknown=getattr(exc, "outcome_unknown", False),
            )
    return problem_response(request, 500, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    found = list(exc.errors())
    # Every JSON body is parsed by infra/json_body.py, which reports unparseable JSON as
    # `json_invalid`; a body that parses to a string, a list or a number is valid JSON of
    # the wrong shape: a 422 like any other.
    unreadable = any(e.get("type") == "json_invalid" for e in found)
    if unreadable:
        return problem_response(
            request,
            400,
            "The request body is not valid JSON (send it as application/json).",
            slug="malformed-json",
        )
    in_request_line = all(e.get("loc", ("body",))[0] in ("query", "path", "header") for e in found)
    error_list = []
    for e in found:
        location = tuple(e.get("loc", ()))
        where = location[0] if location else "body"
        rest = location[1:] if location else ()
        pointer = _pointer(rest) if where == "body" else _pointer(location)
        error_list.append({"pointer": pointer, "detail": str(e.get("msg", "invalid"))})
    if in_request_line:
        return problem_response(
            request,
            400,
            "A query or path parameter is invalid.",
            slug="bad-parameter",
            error_list=error_list,
        )
    return problem_response(
        request,
        422,
        f"The request body is invalid ({len(error_list)} error(s)); nothing was changed.",
        slug="validation-error",
        error_list=error_list,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _template_matches(template: str, path: str) -> bool:
    """`/services/{service_id}` matches `/services/checkout`: segment by segment, a
    `{parameter}` segment matching any non-empty one."""
    wanted, given = template.split("/"), path.split("/")
    return len(wanted) == len(given) and all(
        w == g or (w.startswith("{") and w.endswith("}") and g)
        for w, g in zip(wanted, given, strict=True)
    )


def _documented_methods(app: Any, path: str) -> list[str] | None:
    """The methods the OpenAPI document gives the most specific path template that
    matches `path` (a literal segment beats a parameter: POST /services/dependencies is
    ingestion, not a service named "dependencies"), or None for an undocumented path."""
    matching = [
        (template.count("{"), [m.upper() for m in operations if m.upper() in _METHODS])
        for template, operations in app.openapi().get("paths", {}).items()
        if _template_matches(template, path)
    ]
    if not matching:
        return None
    fewest = min(parameters for parameters, _ in matching)
    return sorted({m for parameters, methods in matching if parameters == fewest for m in methods})


def allowed_methods(request: Request) -> list[str]:
    """Every method this resource answers. (The router's own 405 lists only the methods
    of the first route whose path matched, and several routes share paths: GET and POST
    /api-keys, GET and PATCH /circular-dependencies/{alert_id}.) API paths answer what
    their OpenAPI document says; other paths (the explorer's files) are tried method by
    method against the routes' public `matches`. A 405 is rare: this costs nothing."""
    documented = _documented_methods(request.app, request.url.path)
    if documented is not None:
        return documented
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = (
        exc.detail
        if isinstance(exc.detail, str)
        else _TITLE_BY_STATUS.get(exc.status_code, "Error")
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No endpoint answers {request.url.path}."
    if exc.status_code == 405:
        allowed = allowed_methods(request)  # never empty: some route matched the path
        headers["Allow"] = ", ".join(allowed)
        detail = (
            f"{request.method} is not allowed here; this resource answers {', '.join(allowed)}."
        )
    return problem_response(request, exc.status_code, detail, headers=headers)


class UnexpectedErrorMiddleware(HttpMiddleware):
    """Answers an error nothing else handled with a 500 problem, logs it once with its
    traceback, and keeps the connection usable.

    Not an exception handler for `Exception`: Starlette runs that one in its outermost
    middleware and re-raises afterwards, so the server logged a second traceback and
    dropped the keep-alive connection without saying `Connection: close`, and a pooled
    client's next request failed. Here the error ends with the response. If the response
    had already started, its end cannot be sent: the error is logged and the server
    closes the connection (the client sees a cut-off body, never a wrong one).
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            request = Request(scope)
            logger.error(
                "unhandled error on %s %s", request.method, request.url.path, exc_info=error
            )
            if started:
                return
            response = problem_response(
                request,
                500,
                "An unexpected error occurred; it has been logged with this correlation id.",
            )
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """The handlers of every error with a status; `UnexpectedErrorMiddleware` (added in
    app.py) answers the rest."""
    app.add_exception_handler(errors.SloEngineError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NotModified, not_modified_response)  # not an error: a 304
