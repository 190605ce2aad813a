"""The one middleware of ours every HTTP request passes through, outermost.

It does, in one pass and with one wrapper around `send` and one around `receive`, what
six stacked middlewares did (each with a wrapper of its own, ~19% of a depth-3 read's
time on the event loop under load; docs/performance.md):

1. the correlation id: the client's `X-Correlation-ID` when it is sane, a new one
   otherwise, in the request's state and log context, and on every response;
2. the request body limit: a declared `Content-Length` over the limit is refused before
   anything is read, a body that grows past it while read is refused then (both as a
   413 problem, rendered by the app's handlers like every other error);
3. headers every answer carries (`X-Content-Type-Options: nosniff`) and those features
   ask for (`response_headers` hooks, e.g. the rate-limit fields), never replacing a
   header the route set;
4. an error nothing else handled: logged once with its traceback and answered with a
   500 problem carrying the correlation id, the connection kept usable (an exception
   handler for `Exception` would be re-raised by Starlette: a second traceback and a
   dropped keep-alive connection). If the response had started, the error is logged and
   the server closes the connection: the client sees a cut-off body, never a wrong one;
5. observation: `observers` are called once per request with its final status and
   duration (the log line and the HTTP metrics), the 500 of point 4 included.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from slo_engine.infra.correlation import CORRELATION_HEADER, current_correlation_id
from slo_engine.infra.http_errors import problem_response

logger = logging.getLogger(__name__)

ResponseHeaders = Callable[[Scope], Iterable[tuple[bytes, bytes]]]
Observer = Callable[[Scope, int, float], None]

_CORRELATION_KEY = CORRELATION_HEADER.lower().encode()
_EVERY_RESPONSE = ((b"x-content-type-options", b"nosniff"),)
_SANE_CORRELATION_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


class HttpEdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        response_headers: Sequence[ResponseHeaders] = (),
        observers: Sequence[Observer] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.response_headers = tuple(response_headers)
        self.observers = tuple(observers)

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413, f"The request body is larger than the limit of {self.max_body_bytes} bytes."
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        correlation_id = _correlation_id(scope)
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        current_correlation_id.set(correlation_id)
        status = 500  # what the client gets if the app fails before answering
        response_started = False
        fixed_headers = ((_CORRELATION_KEY, correlation_id.encode()), *_EVERY_RESPONSE)

        async def edge_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_started = True
                message["headers"] = self._headers_of(scope, message, fixed_headers)
            await send(message)

        try:
            await self.app(scope, self._limited(scope, receive), edge_send)
        except Exception as error:
            request = Request(scope)
            logger.error(
                "unhandled error on %s %s", request.method, request.url.path, exc_info=error
            )
            if not response_started:
                response = problem_response(
                    request,
                    500,
                    "An unexpected error occurred; it has been logged with this correlation id.",
                )
                await response(scope, receive, edge_send)
        finally:
            elapsed = time.perf_counter() - started
            for observe in self.observers:
                observe(scope, status, elapsed)

    def _headers_of(
        self, scope: Scope, message: Message, fixed: Iterable[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        """The response's headers with the correlation id (replacing any), then every
        header the hooks and `_EVERY_RESPONSE` add that the response does not have."""
        headers = [(k, v) for k, v in message.get("headers", []) if k != _CORRELATION_KEY]
        present = {k for k, _ in headers}
        for extra in (fixed, *(hook(scope) for hook in self.response_headers)):
            for name, value in extra:
                if name == _CORRELATION_KEY or name not in present:
                    headers.append((name, value))
                    present.add(name)
        return headers

    def _limited(self, scope: Scope, receive: Receive) -> Receive:
        """`receive` refusing a body over the limit: at once when its declared length is
        over, else as soon as what was read passes it (FastAPI re-raises an
        HTTPException from body reading, and the problem handler renders it)."""
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_body_bytes:

                    async def no_body() -> Message:
                        raise self._too_large()

                    return no_body
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise self._too_large()
            return message

        return counting_receive


def _correlation_id(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == _CORRELATION_KEY:
            given: str = value.decode("latin-1")
            if _SANE_CORRELATION_ID.fullmatch(given):
                return given
            break
    return str(uuid.uuid4())
