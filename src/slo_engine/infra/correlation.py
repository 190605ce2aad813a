"""X-Correlation-ID: echoed when the client sent a sane one, generated otherwise, put on
every response (errors included) and on every log line of the request.

The same pass over each response's header block adds the headers every answer carries
whatever it is: `X-Content-Type-Options: nosniff`, so no browser reads a JSON or text
answer as something else (a page, a script)."""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "X-Correlation-ID"
_HEADER_KEY = CORRELATION_HEADER.lower().encode()
_EVERY_RESPONSE = ((b"x-content-type-options", b"nosniff"),)
_SANE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

current_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "correlation_id", default="-"
)


def correlation_id_of(scope: MutableMapping[str, Any]) -> str:
    state = scope.get("state") or {}
    value = state.get("correlation_id")
    return value if isinstance(value, str) else str(uuid.uuid4())


class CorrelationIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for key, value in scope.get("headers", ()):
            if key == _HEADER_KEY:
                given = value.decode("latin-1")
                break
        correlation_id = given if given and _SANE.fullmatch(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
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
