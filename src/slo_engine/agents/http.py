"""The MCP tools over streamable HTTP at `/mcp`, inside the server, behind the routes'
own access check.

Every request to `/mcp` first passes the check every read route runs
(`read_access`: an API key, a sign-in token or the trusted proxy's header; the `read`
scope; a query-rate token), and a refusal is the service's problem response (401 with
`WWW-Authenticate`, 403, 429 with `Retry-After`), rendered by the app's own error
handlers: the check raises, and the app's exception handling answers as for any route.

How the tools answer here: they call the app's own HTTP routes in process
(`httpx.ASGITransport` on this app, no socket), with the credentials of the MCP request
that carried the call (its `Authorization`, `X-API-Key` or trusted-proxy header, and its
peer address). Chosen over calling the use cases directly because it keeps one code path
for the tools: the same requests, JSON and summaries as over stdio, where HTTP is the
only way in; and each route's own validation, `as_of` handling, answer cache, problem
details, scopes and rate limit apply to every call unchanged, so an agent can do no more
through `/mcp` than its credentials allow on the routes. The cost: an in-process round
trip through the middleware per call, and a second query-rate token (the `/mcp` request
takes one, the route it calls another).

Sessions are stateless with plain JSON answers (tools.py): any replica answers any call,
and no MCP session lives in one process's memory. The SDK's session manager still needs
its task group running while requests are served: `mcp_lifespan(app)` runs it, entered
from the app's lifespan. DNS-rebinding protection (the SDK's Host and Origin check, on by
default for a server it runs on 127.0.0.1) is off here: every request must carry a
credential a browser page cannot forge, as on every other route, and the Host a
deployment is reached by is not known in advance.

Wiring, in app.py's `create_app`: `install_mcp(app)` once the routers are included, and
`async with mcp_lifespan(app):` around the lifespan's `yield`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from slo_engine import __version__
from slo_engine.access.dependencies import check_without_injection, read_access
from slo_engine.agents.api import TIMEOUT_SECONDS, ToolRefusalError
from slo_engine.agents.tools import ClientSource, build_server
from slo_engine.infra.components import SETTINGS, AppComponent
from slo_engine.infra.correlation import CORRELATION_HEADER
from slo_engine.infra.middleware import notes_of

MCP_PATH = "/mcp"

# Set by `install_mcp`: the app serves /mcp, so its lifespan runs the MCP sessions.
_MCP_INSTALLED: AppComponent[bool] = AppComponent("mcp_installed")
# The SDK's session manager of the running app (a new one each time the app starts:
# the SDK's manager runs only once).
MCP_SESSIONS: AppComponent[StreamableHTTPSessionManager] = AppComponent("mcp_sessions")

# The headers that say who is calling, passed on to the routes a tool calls (the trusted
# proxy's headers are added when one is configured).
_CREDENTIAL_HEADERS = ("authorization", "x-api-key")


class _McpRoute(Route):
    """A route that names itself in the scope, as FastAPI's routes do, so the request
    log line and metrics label MCP requests `/mcp`, not `unmatched`."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


class _ReadAccessFirst:
    """The ASGI endpoint of `/mcp`: the read access check, then the SDK's transport."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        # Raises the service's errors; the app's handlers render them as problems.
        await check_without_injection(read_access, request)
        try:
            sessions = MCP_SESSIONS.of(request.app)
        except AttributeError:
            raise RuntimeError(
                "/mcp is installed but the app's lifespan did not enter mcp_lifespan(app)"
            ) from None
        await sessions.handle_request(scope, receive, send)


def install_mcp(app: FastAPI) -> None:
    """Serve the MCP tools at `/mcp` on `app` (streamable HTTP, behind the read access
    check). `mcp_lifespan(app)` must be entered in the app's lifespan."""
    _MCP_INSTALLED.install(app, True)
    # POST only: stateless, the server never sends on its own, so a GET's event stream
    # would stay open with nothing to say, and there is no session to DELETE. The
    # protocol lets a server answer both 405 (the app's problem, `Allow: POST`).
    app.router.routes.append(
        _McpRoute(MCP_PATH, endpoint=_ReadAccessFirst(), methods=["POST"], name="mcp")
    )
    # The SDK logs every message it handles at INFO; the request line already records
    # each call. Its warnings and errors still show.
    sdk_logger = logging.getLogger("mcp")
    if sdk_logger.level == logging.NOTSET:
        sdk_logger.setLevel(logging.WARNING)


@asynccontextmanager
async def mcp_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the MCP sessions while the app serves: a fresh server and session manager
    each time the app starts (a no-op when `install_mcp` was not called)."""
    if not getattr(app.state, _MCP_INSTALLED.name, False):
        yield
        return
    server = build_server(
        _own_routes(app),
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    # Makes the session manager; the SDK's own Starlette app is not used: /mcp is a
    # route of this app, inside its middleware and error handling.
    server.streamable_http_app()
    sessions = server.session_manager
    MCP_SESSIONS.install(app, sessions)
    async with sessions.run():
        yield


def _own_routes(app: FastAPI) -> ClientSource:
    @asynccontextmanager
    async def client_for(request: Request | None) -> AsyncIterator[httpx.AsyncClient]:
        if request is None:
            # Every call over streamable HTTP arrives in a request.
            raise ToolRefusalError("This tool call carried no HTTP request to act for.")
        peer = request.client
        transport = httpx.ASGITransport(
            app=app,
            # The caller's own address: the trusted-proxy rule and per-address limits
            # judge the tool's calls as they judged the /mcp request.
            client=(peer.host, peer.port) if peer is not None else ("127.0.0.1", 123),
        )
        async with httpx.AsyncClient(
            transport=transport,
            base_url=str(request.base_url),
            headers=_passed_on(app, request),
            timeout=TIMEOUT_SECONDS,
        ) as client:
            yield client

    return client_for


def _passed_on(app: FastAPI, request: Request) -> dict[str, str]:
    """The headers of a tool's call to a route: the caller's credentials, and the /mcp
    request's correlation id, so its log lines and the routes' share one id."""
    settings = SETTINGS.of(app)
    names = list(_CREDENTIAL_HEADERS)
    if settings.auth_proxy_header:
        # The person and their groups, as the trusted proxy named them.
        names.append(settings.auth_proxy_header.lower())
        if settings.auth_proxy_groups_header:
            names.append(settings.auth_proxy_groups_header.lower())
    headers = {name: value for name in names if (value := request.headers.get(name)) is not None}
    headers[CORRELATION_HEADER] = notes_of(request.scope).correlation_id
    headers["User-Agent"] = f"slo-engine-mcp/{__version__} (in process)"
    return headers
