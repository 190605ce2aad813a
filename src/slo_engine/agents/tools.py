"""The MCP tools, on the official SDK's FastMCP: what an agent lists and calls.

Each tool asks the HTTP API one question (api.py) through the client its transport
lends it (`ClientSource`: a remote server's for stdio, the app's own routes for
streamable HTTP), and answers the API's JSON cut to a model's context (summaries.py):
a summary first, details capped, `more` saying what was left out and how to get it.
A refusal (an unknown service, a bad parameter, a time beyond the history, no access)
is an MCP tool error holding the service's problem details, never a traceback.

The descriptions and parameter descriptions below are what an agent reads to choose a
tool and fill its arguments: they say what each answers, the bounds and the defaults.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import httpx
import orjson
from mcp.server.fastmcp import Context, FastMCP
from mcp.server.session import ServerSession
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field
from starlette.requests import Request

from slo_engine.agents import summaries
from slo_engine.agents.api import ToolRefusalError, get_json, service_path
from slo_engine.agents.summaries import Json

logger = logging.getLogger(__name__)

# The HTTP client a tool call asks through, given the MCP request that carried the
# call when there is one (streamable HTTP), None over stdio.
ClientSource = Callable[[Request | None], AbstractAsyncContextManager[httpx.AsyncClient]]
ToolContext = Context[ServerSession, Any, Request]
Tool = TypeVar("Tool", bound=Callable[..., Awaitable[CallToolResult]])

SERVER_NAME = "slo-engine"
INSTRUCTIONS = (
    "slo-engine holds a merged service dependency graph: the calls people and catalogs "
    "declare and those seen in traffic. Use it to answer what a service depends on, what "
    "depends on it, what breaks if it fails, the best availability it can promise, "
    "circular dependencies, and what changed when. Find a service id with "
    "search_services first when unsure. Every answer starts with `summary`; lists are "
    "capped, and `more` (when present) says what was left out and how to ask for it."
)
_READ_ONLY = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)

# Parameter types: their descriptions and bounds are the tools' input schemas.
ServiceId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        description="The service's id as slo-engine knows it, e.g. 'checkoutservice' "
        "(find one with search_services).",
    ),
]
IncludeStale = Annotated[
    bool,
    Field(
        description="Also follow stale edges: calls no source has observed for the "
        "staleness threshold (a week by default). Off: treated as gone."
    ),
]
AsOf = Annotated[
    str | None,
    Field(
        description="Answer from the graph as it was at this time: RFC 3339 with an offset, "
        "e.g. '2026-12-01T09:00:00Z'. Omit for the graph now. Older than the history kept "
        "is refused."
    ),
]


def description_of(function: Callable[..., Any]) -> str:
    r"""A function's docstring as a tool description: each paragraph on one line (the
    source's line breaks and indentation are no news to a model, and cost tokens).

    >>> def tool() -> None: ...
    >>> tool.__doc__ = "One line\n    and its rest.\n\n    A second paragraph."
    >>> description_of(tool)
    'One line and its rest.\n\nA second paragraph.'
    """
    paragraphs = inspect.cleandoc(function.__doc__ or "").split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


def _result(answer: Json) -> CallToolResult:
    """The answer as compact JSON text (what most clients hand the model) and as
    structured content (for clients that read it)."""
    text = orjson.dumps(answer).decode()
    return CallToolResult(content=[TextContent(type="text", text=text)], structuredContent=answer)


def _refusal(refusal: ToolRefusalError) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=refusal.message)], isError=True)


def build_server(
    clients: ClientSource, *, transport_security: TransportSecuritySettings | None = None
) -> FastMCP[Any]:
    """The MCP server with the six tools, asking through `clients`.

    Stateless and with plain JSON answers for streamable HTTP (ignored over stdio): a
    tool call is one request and one answer, any replica can take it, and no session
    lives in one process's memory.
    """
    server: FastMCP[Any] = FastMCP(
        name=SERVER_NAME,
        instructions=INSTRUCTIONS,
        stateless_http=True,
        json_response=True,
        transport_security=transport_security,
        log_level="WARNING",
    )

    def tool(name: str, title: str) -> Callable[[Tool], Tool]:
        """Register the function below as a read-only tool, its docstring as the
        description an agent reads."""

        def register(function: Tool) -> Tool:
            server.add_tool(
                function,
                name=name,
                title=title,
                description=description_of(function),
                annotations=_READ_ONLY,
            )
            return function

        return register

    async def answer(
        ctx: ToolContext, question: Callable[[httpx.AsyncClient], Awaitable[Json]]
    ) -> CallToolResult:
        request = ctx.request_context.request
        try:
            async with clients(request) as client:
                return _result(await question(client))
        except ToolRefusalError as refusal:
            return _refusal(refusal)
        except Exception as error:
            # A fault of ours: its traceback to the log (stderr over stdio), one line to
            # the agent.
            logger.exception("MCP tool call failed")
            failure = f"slo-engine's MCP tools failed on this call ({type(error).__name__})."
            return _refusal(ToolRefusalError(failure))

    @tool("get_dependencies", "Dependencies")
    async def get_dependencies(
        ctx: ToolContext,
        service_id: ServiceId,
        direction: Annotated[
            Literal["downstream", "upstream", "both"],
            Field(
                description="'downstream': what the service depends on (what it calls, and "
                "what those call); 'upstream': what depends on it (its callers, and theirs); "
                "'both': the union, each service at the nearer distance."
            ),
        ] = "downstream",
        depth: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.MAX_DEPTH,
                description=f"How many hops to walk, 1 to {summaries.MAX_DEPTH}; 1 is the "
                "direct dependencies (or callers) only.",
            ),
        ] = summaries.DEFAULT_DEPTH,
        max_nodes: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.MAX_NODES_CAP,
                description=f"List at most this many services (1 to "
                f"{summaries.MAX_NODES_CAP}), the closest first; the summary counts all.",
            ),
        ] = summaries.DEFAULT_MAX_NODES,
        include_stale: IncludeStale = False,
        as_of: AsOf = None,
    ) -> CallToolResult:
        """The services around one service in the dependency graph: what it depends on
        (downstream), what depends on it (upstream), or both, up to `depth` hops.

        Answers `summary` (how many services and edges, per depth, the teams most
        present, services known only from traffic), then `services` (at most
        `max_nodes`, the closest first, each with its hop distance) and `edges` (calls
        between listed services, each with its criticality, communication mode and
        the sources that report it). An unknown service is refused."""
        params = {
            "direction": direction,
            "depth": depth,
            "include_stale": include_stale,
            "as_of": as_of,
            "max_nodes": summaries.FETCH_NODES,
        }

        async def question(client: httpx.AsyncClient) -> Json:
            found = await get_json(client, service_path(service_id, "dependencies"), params)
            return summaries.dependencies_answer(
                found.body,
                direction=direction,
                depth=depth,
                max_nodes=max_nodes,
                include_stale=include_stale,
                revision=found.revision,
                as_of=as_of,
            )

        return await answer(ctx, question)

    @tool("get_impact", "Blast radius")
    async def get_impact(
        ctx: ToolContext,
        service_id: ServiceId,
        depth: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.MAX_DEPTH,
                description=f"How many hops upstream the failure travels, 1 to "
                f"{summaries.MAX_DEPTH}; 1 judges the direct callers only.",
            ),
        ] = summaries.MAX_DEPTH,
        max_affected: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.MAX_AFFECTED_CAP,
                description=f"List at most this many affected services (1 to "
                f"{summaries.MAX_AFFECTED_CAP}), the worst hit first; the totals count all.",
            ),
        ] = summaries.DEFAULT_MAX_AFFECTED,
        include_stale: IncludeStale = False,
        as_of: AsOf = None,
    ) -> CallToolResult:
        """The blast radius if this service fails: which services upstream go down (they
        need it: hard and synchronous calls all along the path) or are degraded (a soft
        or asynchronous call on the way, or they need a degraded service).

        Answers `summary` (how many are affected, down and degraded, per team and per
        service criticality), then `affected` (at most `max_affected`: down first, then
        nearest), each with one shortest path that explains it, every call on it marked
        criticality/mode. An unknown service is refused."""
        params = {
            "depth": depth,
            "include_stale": include_stale,
            "as_of": as_of,
            "max_affected": max_affected,
        }

        async def question(client: httpx.AsyncClient) -> Json:
            found = await get_json(client, service_path(service_id, "impact"), params)
            return summaries.impact_answer(
                found.body, max_affected=max_affected, revision=found.revision, as_of=as_of
            )

        return await answer(ctx, question)

    @tool("get_availability_ceiling", "Availability ceiling")
    async def get_availability_ceiling(
        ctx: ToolContext,
        service_id: ServiceId,
        max_items: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.AVAILABILITY_ITEMS_CAP,
                description=f"List at most this many limiting dependencies, terms and "
                f"notes each (1 to {summaries.AVAILABILITY_ITEMS_CAP}); the figures count "
                "all.",
            ),
        ] = summaries.DEFAULT_AVAILABILITY_ITEMS,
        include_stale: IncludeStale = False,
        as_of: AsOf = None,
    ) -> CallToolResult:
        """The best availability this service can deliver given what it cannot work
        without: the product of its own target and those of its hard, synchronous
        dependencies (each target from the service's `slo_target` metadata or the
        default, or its observed success ratio where lower; a cycle counts as one unit).

        Answers `summary` (the ceiling as a fraction, a percentage and nines, how many
        dependencies count, the costliest ones, the figure if soft dependencies were
        hard, notes), then `limiting` (ranked by what each costs), `terms` and the
        arithmetic. Use it to check whether an SLO is achievable. An unknown service is
        refused."""
        params = {
            "include_stale": include_stale,
            "as_of": as_of,
            "max_terms": summaries.FETCH_NODES,
        }

        async def question(client: httpx.AsyncClient) -> Json:
            found = await get_json(client, service_path(service_id, "availability"), params)
            return summaries.availability_answer(
                found.body, max_items=max_items, revision=found.revision, as_of=as_of
            )

        return await answer(ctx, question)

    @tool("list_cycles", "Circular dependencies")
    async def list_cycles(
        ctx: ToolContext,
        status: Annotated[
            Literal["open", "acknowledged", "resolved", "any"],
            Field(
                description="Which alerts: 'open' (not yet looked at: the default), "
                "'acknowledged' (known, kept quiet), 'resolved' (broken since), or 'any'."
            ),
        ] = "open",
        limit: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.LIST_LIMIT_CAP,
                description=f"List at most this many alerts (1 to "
                f"{summaries.LIST_LIMIT_CAP}), the newest first; the summary counts all.",
            ),
        ] = summaries.DEFAULT_LIST_LIMIT,
    ) -> CallToolResult:
        """Circular-dependency alerts: groups of services that depend on each other in a
        cycle (each alert one strongly connected component of the graph).

        Answers `summary` (how many alerts, services caught in cycles, the largest
        cycle), then `alerts` (at most `limit`, newest first), each with one concrete
        cycle path (first service repeated last), its size, status and when it was
        found."""
        params = {"status": None if status == "any" else status, "limit": summaries.FETCH_PAGE}

        async def question(client: httpx.AsyncClient) -> Json:
            found = await get_json(client, "/circular-dependencies", params)
            return summaries.cycles_answer(found.body, status=status, limit=limit)

        return await answer(ctx, question)

    @tool("search_services", "Find services")
    async def search_services(
        ctx: ToolContext,
        query: Annotated[
            str,
            Field(
                max_length=255,
                description="Text to find in service ids and display names, "
                "case-insensitive (e.g. 'cart'); empty lists every service.",
            ),
        ],
        limit: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.LIST_LIMIT_CAP,
                description=f"List at most this many services (1 to "
                f"{summaries.LIST_LIMIT_CAP}), the closest matches first.",
            ),
        ] = summaries.DEFAULT_LIST_LIMIT,
        team: Annotated[
            str | None,
            Field(max_length=255, description="Only services of this team (exact match)."),
        ] = None,
    ) -> CallToolResult:
        """Find services by id or display name: use it to learn the exact service id the
        other tools take.

        Answers `summary` (how many match), then `services` (at most `limit`: an id or
        name equal to the query first, then those starting with it, then the rest), each
        with its display name, team and criticality."""
        params = {"search": query or None, "team": team, "limit": summaries.FETCH_PAGE}

        async def question(client: httpx.AsyncClient) -> Json:
            found = await get_json(client, "/services", params)
            return summaries.search_answer(found.body, query=query, team=team, limit=limit)

        return await answer(ctx, question)

    @tool("what_changed", "What changed")
    async def what_changed(
        ctx: ToolContext,
        since: Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                description="From when: a graph revision (e.g. '42'), a time (RFC 3339 "
                "with an offset, e.g. '2026-12-01T09:00:00Z'), or a duration before now "
                "('30m', '24h', '7d', '2w').",
            ),
        ],
        until: Annotated[
            str | None,
            Field(
                max_length=64,
                description="Up to when, written like `since`; omit for now.",
            ),
        ] = None,
        service: Annotated[
            str | None,
            Field(
                max_length=255,
                description="Only the changes of this service and of the calls from or to "
                "it (the change log); omit for the net difference of the whole graph.",
            ),
        ] = None,
        max_items: Annotated[
            int,
            Field(
                ge=1,
                le=summaries.CHANGE_ITEMS_CAP,
                description=f"List at most this many changes (1 to "
                f"{summaries.CHANGE_ITEMS_CAP}); the summary counts all.",
            ),
        ] = summaries.DEFAULT_CHANGE_ITEMS,
    ) -> CallToolResult:
        """What changed in the dependency graph between two points in time or two
        revisions: services and calls added, removed or changed, cycles opened and
        resolved.

        Without `service`: the net difference of the whole graph (`summary` with the
        counts of each, then at most `max_items` entries: cycles opened, removals and
        additions first). With `service`: that service's entries of the change log, in
        revision order (`summary` with counts per change type and who made them, then
        the latest `max_items`). A time before the history kept is refused, and the
        refusal says when the history begins."""
        now = datetime.now(UTC)
        start = summaries.history_bound(since, now)
        end = None if until is None else summaries.history_bound(until, now)

        async def net_difference(client: httpx.AsyncClient) -> Json:
            params = {"from": start.text, "to": None if end is None else end.text}
            found = await get_json(client, "/graph/diff", params)
            return summaries.diff_answer(
                found.body,
                max_items=max_items,
                since=start.text,
                until=None if end is None else end.text,
            )

        async def service_feed(client: httpx.AsyncClient) -> Json:
            assert service is not None
            query = {
                "service": service,
                "since_revision": start.revision,
                "since": start.time,
                "until": None if end is None else end.time,
            }
            found = await get_json(client, "/changes", {**query, "limit": summaries.FETCH_PAGE})
            return summaries.changes_answer(
                found.body,
                service=service,
                max_items=max_items,
                since=start.text,
                until=None if end is None else end.text,
                until_revision=None if end is None else end.revision,
                query=query,
            )

        return await answer(ctx, net_difference if service is None else service_feed)

    return server
