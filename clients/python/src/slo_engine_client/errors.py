"""What the client raises: one base class, and for a refusal of the server the RFC 9457
problem it answered (status, title, detail, the `errors` list), by status.

    SloEngineClientError
    ├── TransportError          the server could not be reached, or did not answer
    ├── InvalidResponse         a success whose body is not the documented answer
    └── ProblemError            any refusal (4xx, 5xx; a redirect), carrying the problem
        ├── BadRequest          400  a bad query or path parameter
        ├── Unauthorized        401  no key, or an unknown, expired or revoked one
        ├── Forbidden           403  the key lacks the scope
        ├── NotFound            404  unknown service, alert or route
        ├── Conflict            409
        ├── Gone                410  a time beyond the history
        ├── UnprocessableEntity 422  a body that breaks the schema
        ├── RateLimited         429  (after the retries the client was allowed)
        └── ServerError         5xx
            └── Unavailable     503  (after the retries the client was allowed)
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import ValidationError

from slo_engine_client.models import Problem, ProblemErrorEntry


class SloEngineClientError(Exception):
    """Anything the client raises on purpose."""


class TransportError(SloEngineClientError):
    """The request got no answer: the server could not be reached, the connection
    broke, or it did not answer in time. `reason` is the underlying error (also the
    exception's `__cause__`)."""

    def __init__(self, url: str, reason: httpx.TransportError) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"could not reach {url}: {reason or type(reason).__name__}")


class InvalidResponse(SloEngineClientError):
    """A success (2xx) whose body is not JSON, or not the answer the API documents."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        self.response = response
        super().__init__(message)


class ProblemError(SloEngineClientError):
    """The server refused the request; what it said.

    `status`, `title`, `detail`, `type`, `instance`, `correlation_id` and `errors` are
    the problem document's (RFC 9457); `problem` is the whole document as a model, or
    None when the body was no problem document (a proxy's page: then `detail` is the
    body's text and `title` the reason phrase). `retry_after` is the Retry-After the
    server sent, in seconds, if any. `str(error)` is `<status>: <detail>`.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status: int = response.status_code
        self.headers = response.headers
        self.text: str = response.text
        self.retry_after: float | None = parse_retry_after(response.headers.get("retry-after"))
        document = _json_object(response)
        self.body: dict[str, Any] | None = document
        self.problem: Problem | None = None
        if document is not None:
            try:
                self.problem = Problem.model_validate(document)
            except ValidationError:
                self.problem = None
        reason = response.reason_phrase
        if document is None:
            self.title: str = reason
            self.detail: str = response.text.strip() or reason
        else:
            self.title = str(document.get("title") or reason)
            self.detail = str(document.get("detail") or document.get("title") or reason)
        source = document or {}
        self.type: str | None = _text(source.get("type"))
        self.instance: str | None = _text(source.get("instance"))
        self.correlation_id: str | None = _text(source.get("correlation_id")) or _text(
            response.headers.get("x-correlation-id")
        )
        self.errors: list[ProblemErrorEntry] = [
            ProblemErrorEntry(pointer=str(entry.get("pointer") or ""), detail=str(entry["detail"]))
            for entry in source.get("errors") or []
            if isinstance(entry, dict) and "detail" in entry
        ]
        # A 503 to a write: the connection was lost while committing, so it may be stored.
        self.outcome_unknown: bool = source.get("outcome_unknown") is True
        super().__init__(f"{self.status}: {self.detail}")


class BadRequest(ProblemError):
    """400: a bad query or path parameter (its pointer is in `errors`)."""


class Unauthorized(ProblemError):
    """401: no API key, or a malformed, unknown, expired or revoked one."""


class Forbidden(ProblemError):
    """403: the key lacks the scope the operation needs."""


class NotFound(ProblemError):
    """404: an unknown service, alert or route."""


class Conflict(ProblemError):
    """409: a change the current state does not allow."""


class Gone(ProblemError):
    """410: a time older than the server keeps history for."""


class UnprocessableEntity(ProblemError):
    """422: a body that breaks the schema; nothing was stored."""


class RateLimited(ProblemError):
    """429: the key's bucket is empty; `retry_after` says when a token is back."""


class ServerError(ProblemError):
    """5xx: a fault of the server, or it is unavailable."""


class Unavailable(ServerError):
    """503: the database is unavailable, or the revision asked for is not applied yet."""


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: UnprocessableEntity,
    429: RateLimited,
    503: Unavailable,
}


def problem_error(response: httpx.Response) -> ProblemError:
    """The exception for a refusal `response` (its body read)."""
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else ProblemError
    return kind(response)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP-date (RFC 9110 10.2.3);
    None when absent or unreadable, 0 for a date in the past.

    >>> parse_retry_after("7"), parse_retry_after(None), parse_retry_after("soon")
    (7.0, None, None)
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT")
    0.0
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
