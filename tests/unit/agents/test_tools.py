"""The tools' wiring (slo_engine/agents/tools.py) through the SDK's in-memory client: the
requests each tool sends the API, and how an answer, a refusal and a fault of ours come
back. The API is a stub here (httpx.MockTransport); tests/e2e/test_mcp.py runs the tools
against real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, TextContent
from starlette.requests import Request

from slo_engine.agents.tools import build_server

Handler = Callable[[httpx.Request], httpx.Response]


@asynccontextmanager
async def tools_over(handler: Handler) -> AsyncIterator[Any]:
    """An MCP client session on the tools, whose API is `handler`."""
    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://slo.test") as http:

        @asynccontextmanager
        async def stub(_: Request | None) -> AsyncIterator[httpx.AsyncClient]:
            yield http

        async with create_connected_server_and_client_session(build_server(stub)) as session:
            yield session


def text_of(result: CallToolResult) -> str:
    (content,) = result.content
    assert isinstance(content, TextContent)
    return content.text


SUBGRAPH = {
    "service": {"service_id": "api", "team": None, "criticality": None, "metadata": {}},
    "nodes": [{"service_id": "db", "team": "data", "discovered": False, "depth": 1}],
    "edges": [{"source": "api", "target": "db", "attributes": {}, "discovery_sources": ["otel"]}],
    "statistics": {"total_nodes": 1, "total_edges": 1, "max_depth_reached": 1, "truncated": False},
}


async def test_a_tool_asks_the_api_and_answers_its_summary() -> None:
    asked: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json=SUBGRAPH, headers={"X-Graph-Revision": "7"})

    async with tools_over(api) as session:
        result = await session.call_tool(
            "get_dependencies", {"service_id": "api", "direction": "upstream", "depth": 2}
        )
    assert not result.isError
    assert result.structuredContent["summary"]["revision"] == 7
    assert result.structuredContent["services"] == [
        {"service_id": "db", "depth": 1, "team": "data"}
    ]
    (request,) = asked
    assert request.url.path == "/api/v1/services/api/dependencies"
    # Everything up to the API's cap, to count what is not listed; no as_of when not given.
    assert dict(request.url.params) == {
        "direction": "upstream",
        "depth": "2",
        "include_stale": "false",
        "max_nodes": "10000",
    }


async def test_what_changed_asks_the_diff_or_the_feed() -> None:
    asked: list[httpx.Request] = []
    empty: dict[str, Any] = {"added": [], "removed": [], "changed": [], "counts": {}}
    diff = {
        "from": {"revision": 3, "committed_at": None},
        "to": {"revision": 4, "committed_at": None},
        "services": {**empty, "counts": {"added": 0, "removed": 0, "changed": 0}},
        "edges": {**empty, "counts": {"added": 0, "removed": 0, "changed": 0}},
        "cycles": {"opened": [], "resolved": [], "counts": {"opened": 0, "resolved": 0}},
        "truncated": False,
    }

    def api(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if request.url.path == "/api/v1/graph/diff":
            return httpx.Response(200, json=diff)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    async with tools_over(api) as session:
        whole = await session.call_tool("what_changed", {"since": "3", "until": "4"})
        one = await session.call_tool("what_changed", {"since": "3", "service": "cart"})
        recent = await session.call_tool("what_changed", {"since": "24h", "service": "cart"})
    assert not (whole.isError or one.isError or recent.isError)
    assert dict(asked[0].url.params) == {"from": "3", "to": "4"}
    assert asked[1].url.path == "/api/v1/changes"
    assert dict(asked[1].url.params) == {"service": "cart", "since_revision": "3", "limit": "1000"}
    # A duration is a time by the time it reaches the API.
    assert set(asked[2].url.params) == {"service", "since", "limit"}
    assert asked[2].url.params["since"].endswith("Z")


async def test_a_refusal_and_a_fault_are_tool_errors() -> None:
    def refusing(request: httpx.Request) -> httpx.Response:
        problem = {"title": "Service not found", "status": 404, "detail": "No service 'x'."}
        return httpx.Response(404, json=problem)

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"unexpected": True})

    async with tools_over(refusing) as session:
        result = await session.call_tool("get_impact", {"service_id": "x"})
    assert result.isError
    assert text_of(result).startswith(
        "slo-engine refused the request (404 Service not found): No service 'x'."
    )
    async with tools_over(broken) as session:
        result = await session.call_tool("get_impact", {"service_id": "x"})
    assert result.isError
    assert text_of(result) == "slo-engine's MCP tools failed on this call (KeyError)."
