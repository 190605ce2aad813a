"""One middleware that observes every HTTP request: a log line and the HTTP metrics
(and, seeing every answer's size, the cue to give a large answer's memory back).

The route label is the matched route's template (`/api/v1/services/{service_id}`), read
after routing from the ASGI scope, so no raw path or id ever becomes a label; requests
that matched no route are `unmatched`; files of a mounted app (the explorer) are
`<mount>/*` (`/ui/*`).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from slo_engine.infra.interpreter import LARGE_BODY_BYTES, give_back_free_memory_later
from slo_engine.infra.middleware import HttpMiddleware, notes_of
from slo_engine.observability.logging import request_logger
from slo_engine.observability.metrics import HTTP_DURATION, HTTP_REQUESTS, status_class

# Scrapes and probes would drown the log; they are still counted.
_QUIET_ROUTES = frozenset({"/metrics", "/api/v1/health", "/api/v1/health/ready"})


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefix it was included under.

    A route of an included router knows only its own part (`/services/{service_id}`);
    the prefix is the part of the request path before the segment where the route's
    pattern matches the rest.
    """
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not template:
        # A mounted app (the explorer's files) sets the mount path as the root path:
        # one label for all its files, never one per file.
        mount = scope.get("root_path")
        return f"{mount}/*" if mount and scope.get("app_root_path") is not None else "unmatched"
    path = str(scope.get("path", ""))
    if pattern is None or pattern.match(path):
        return str(template)
    for index, char in enumerate(path):
        if char == "/" and index and pattern.match(path[index:]):
            return path[:index] + str(template)
    return str(template)


class RequestObservationMiddleware(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering
        body_bytes = 0

        async def observing_send(message: Message) -> None:
            nonlocal status, body_bytes
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                body_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            elapsed = time.perf_counter() - started
            if body_bytes >= LARGE_BODY_BYTES:
                give_back_free_memory_later()
            route, method = route_template(scope), scope.get("method", "")
            labels = (route, method, status_class(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_DURATION.labels(*labels).observe(elapsed)
            if route not in _QUIET_ROUTES or status >= 500:
                notes = notes_of(scope)
                # OSError, ValueError: stderr closed or gone (a dead pipe, a replaced
                # stream): the line is lost, as the standard library's handlers lose
                # it; the request is not.
                with contextlib.suppress(OSError, ValueError):
                    request_logger().info(
                        "request",
                        correlation_id=notes.correlation_id,
                        method=method,
                        route=route,
                        status=status,
                        duration_ms=round(elapsed * 1000, 3),
                        key_name=notes.key_name,
                    )
