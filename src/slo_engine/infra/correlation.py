"""X-Correlation-ID: echoed when the client sent a sane one, generated otherwise, put on
every response (errors included) and on every log line of the request.

The same pass over each response's header block adds the headers every answer carries
whatever it is: `X-Content-Type-Options: nosniff`, so no browser reads a JSON or text
answer as something else (a page, a script)."""

from __future__ import annotations

import contextvars
import re
import uuid

from starlette.types import Message, Receive, Scope, Send

from slo_engine.infra.middleware import HttpMiddleware, start_notes

CORRELATION_HEADER = "X-Correlation-ID"
_HEADER_KEY = CORRELATION_HEADER.lower().encode()
_EVERY_RESPONSE = ((b"x-content-type-options", b"nosniff"),)
_SANE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

# Outside a request (start-up, jobs, background work): no correlation id.
NO_CORRELATION_ID = "-"
current_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default=NO_CORRELATION_ID
)


class CorrelationIdMiddleware(HttpMiddleware):
    """The outermost middleware: it starts the request's notes (infra/middleware.py)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = None
        for key, value in scope.get("headers", ()):
            if key == _HEADER_KEY:
                given = value.decode("latin-1")
                break
        correlation_id = given if given and _SANE.fullmatch(given) else str(uuid.uuid4())
        start_notes(scope, correlation_id)
        current_correlation_id.set(correlation_id)
        encoded = correlation_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER_KEY]
                headers.append((_HEADER_KEY, encoded))
                present = {k for k, _ in headers}
                headers.extend(h for h in _EVERY_RESPONSE if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
