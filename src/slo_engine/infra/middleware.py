"""The base of the app's ASGI middlewares, and the notes a request carries to them.

Each middleware does one thing at the HTTP edge (the correlation id, the body limit,
the rate-limit fields, unexpected errors, the request log line) and shares this
scaffold: anything but an HTTP request (the lifespan) passes straight through.

Some of what the edge writes is only learned inside the app: the key that made the
request (for its log line) and the rate-limit fields of its access decision (for its
answer, whatever the answer is: a 200, a 304, a 404 problem). The app writes those on
the request's `RequestNotes`, one typed record in the ASGI scope, created by the
outermost middleware; routes never read it.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_NOTES_KEY = "slo_engine.request_notes"


@dataclass(slots=True)
class RequestNotes:
    correlation_id: str
    key_name: str | None = None  # the API key's name, once the access check knows it
    # Added to the answer's header block unless the answer has them already.
    response_headers: dict[str, str] | None = None


def notes_of(scope: MutableMapping[str, Any]) -> RequestNotes:
    """The request's notes (made here, with a fresh correlation id, for a request that
    did not pass through `CorrelationIdMiddleware`, as in some unit tests)."""
    notes: RequestNotes | None = scope.get(_NOTES_KEY)
    if notes is None:
        notes = scope[_NOTES_KEY] = RequestNotes(str(uuid.uuid4()))
    return notes


def start_notes(scope: MutableMapping[str, Any], correlation_id: str) -> RequestNotes:
    notes = scope[_NOTES_KEY] = RequestNotes(correlation_id)
    return notes


class HttpMiddleware:
    """A middleware that only acts on HTTP requests: subclasses implement `handle`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError
