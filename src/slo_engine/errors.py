"""The one error hierarchy of slo-engine. No HTTP in here: infra/http_errors.py maps
each class to a status code in one table and renders it as RFC 9457 problem details."""

from __future__ import annotations

from typing import Any


class SloEngineError(Exception):
    """Base of every error the service raises on purpose."""

    title = "Error"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotFoundError(SloEngineError):
    title = "Not found"


class ServiceNotFoundError(NotFoundError):
    title = "Service not found"


class AlertNotFoundError(NotFoundError):
    title = "Circular-dependency alert not found"


class WebhookNotFoundError(NotFoundError):
    title = "Webhook not found"


class AliasNotFoundError(NotFoundError):
    title = "Alias not found"


class InvalidInputError(SloEngineError):
    """Input that parsed but breaks a rule the schema cannot express."""

    title = "Invalid input"


class BadRequestError(SloEngineError):
    """Input that could not be read: unparseable body, bad query parameter, bad cursor."""

    title = "Bad request"


class NotAcceptableError(SloEngineError):
    """The request's Accept header admits none of the media types the endpoint can
    produce (content negotiation, RFC 9110 section 12.5.1)."""

    title = "Not acceptable"


class PayloadTooLargeError(SloEngineError):
    title = "Request body too large"


class UnsupportedMediaTypeError(SloEngineError):
    """The request body is not in a media type the endpoint reads (415). `accepted` is
    the one it reads, answered in `Accept-Post`/`Accept-Patch` (RFC 9110, RFC 5789)."""

    title = "Unsupported media type"

    def __init__(self, detail: str, *, accepted: str, method: str) -> None:
        super().__init__(detail)
        self.accepted = accepted
        self.method = method


class ConflictError(SloEngineError):
    title = "Conflict"


class HistoryGoneError(SloEngineError):
    """A time or revision before the history kept: pruned past HISTORY_RETENTION_DAYS,
    or before the history began (410)."""

    title = "Beyond the history kept"


class UnavailableError(SloEngineError):
    """The service cannot answer now; the client may try again after
    `retry_after_seconds` (503 with Retry-After)."""

    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class BusyError(UnavailableError):
    """This process is already doing as much of this kind of work as it allows."""


class RevisionNotAppliedError(UnavailableError):
    """A read asked for a graph revision (`min_revision`) this process has not applied
    within the bounded wait: the write is committed, the replica is catching up."""

    title = "Graph revision not applied yet"


class DatabaseMissingError(UnavailableError):
    """DATABASE_URL names a SQLite file that does not exist: the service never creates
    one implicitly (only `slo-cli db upgrade` does), so a command run from another
    directory, or a mistyped path, is told so instead of working on an empty graph."""

    title = "Database missing"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"No database at {path} (DATABASE_URL, from the environment, .env or the "
            "default ./slo_engine.db): create it with 'slo-cli db upgrade', or run where "
            "it is.",
            retry_after_seconds=5,
        )


class DatabaseUnavailableError(UnavailableError):
    """The database did not answer: unreachable, refusing connections, dropped the
    connection, or did not answer in time. Nothing of the request was stored, except
    when `outcome_unknown`: the connection was lost while the commit was under way."""

    title = "Database unavailable"

    def __init__(
        self,
        detail: str,
        *,
        retry_after_seconds: int,
        cause: str,
        outcome_unknown: bool = False,
        retry_safe: bool = False,
        database_down: bool = True,
    ) -> None:
        super().__init__(detail, retry_after_seconds=retry_after_seconds)
        self.cause = cause  # what failed, for the one log line of an outage
        self.outcome_unknown = outcome_unknown
        # The connection dropped before any commit was sent: running the same work
        # again on a fresh connection is safe (infra/db.py does, once).
        self.retry_safe = retry_safe
        # The database itself is away (not one statement past its timeout).
        self.database_down = database_down


class AuthenticationError(SloEngineError):
    """No API key, or one that is malformed, unknown, expired or revoked."""

    title = "Unauthorized"

    def __init__(
        self, detail: str, *, reason: str = "missing", stored_key_id: str | None = None
    ) -> None:
        super().__init__(detail)
        # Why: missing, malformed, invalid (unknown id or wrong secret), revoked, expired
        # (a metric label, so a closed set).
        self.reason = reason
        # The id of a stored key that was presented with a wrong secret, or revoked or
        # expired: the failure is counted against that key too (access/failures.py).
        self.stored_key_id = stored_key_id

    @property
    def invalid_key(self) -> bool:
        """A key was presented but is not valid (RFC 6750 `error="invalid_token"`)."""
        return self.reason != "missing"


class PermissionDeniedError(SloEngineError):
    """A valid API key without the scope the endpoint needs."""

    title = "Forbidden"


class RateLimitedError(SloEngineError):
    """The client's token bucket for this endpoint class is empty."""

    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int, headers: dict[str, str]) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
        # The rate-limit fields of the refusal, formatted by access/ratelimit/headers.py.
        self.headers = headers


class SourceError(SloEngineError):
    """A discovery source did not give a complete, well-formed answer: timeout, 5xx,
    malformed or partial data. Nothing it said is stored."""

    title = "Discovery source failed"
