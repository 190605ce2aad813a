"""The MCP tools (slo_engine/agents/) through the official MCP SDK's own client, against
real servers on every database engine, with a real topology (Online Boutique) ingested
through the API.

* stdio: `python -m slo_engine.agents` (what `slo-cli mcp` runs) as the SDK's
  `stdio_client` starts it, pointed at a real `slo-cli serve`; every tool's answer is
  checked against the HTTP API's answer to the same question, its bounds, and its
  refusals against the API's problem details.
* streamable HTTP: a real `slo-cli serve` process (app.py installs /mcp); `/mcp`
  without a key is the service's 401 problem, with a key of the wrong scope its 403,
  and with a read key the SDK's `streamable_http_client` lists and calls the tools,
  whose calls to the routes run as that key.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from slo_engine.access.keys import Scope
from slo_engine.agents.http import MCP_SESSIONS
from slo_engine.app import create_app
from tests.e2e.conftest import BOUTIQUE, INGEST, JSON_CONTENT, edge, make_key, settings_for
from tests.local_servers import free_port, served_env, start_api

REPOSITORY = Path(__file__).resolve().parents[2]
TOOLS = {
    "get_dependencies",
    "get_impact",
    "get_availability_ceiling",
    "list_cycles",
    "search_services",
    "what_changed",
}
# Each test's bound: a hung subprocess or stream fails the test instead of the run.
TEST_SECONDS = 120
MCP_ACCEPT = {"Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass(frozen=True)
class Served:
    """A real server with Online Boutique and a cycle ingested, and its keys."""

    url: str
    read_key: str
    write_key: str
    log: Path

    def answer(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(
            f"{self.url}/api/v1{path}", params=params, headers=bearer(self.read_key), timeout=30
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self.answer(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


def keys_and_topology(database_url: str) -> tuple[str, str]:
    return (
        make_key(database_url, "mcp-reader", Scope.READ),
        make_key(database_url, "mcp-writer", Scope.WRITE),
    )


def ingest_boutique(url: str, credentials: dict[str, str]) -> None:
    """Online Boutique, then a call tracing saw that closes a cycle (an open alert, and
    a second revision for the change feed)."""
    headers = {**credentials, **JSON_CONTENT}
    response = httpx.post(url + INGEST, content=BOUTIQUE.read_bytes(), headers=headers)
    assert response.status_code == 200, response.text
    observed = {
        "source": "otel_service_graph",
        "edges": [edge("paymentservice", "frontend", request_rate=3.5, error_rate=0.01)],
    }
    response = httpx.post(url + INGEST, json=observed, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["circular_dependencies_detected"], response.text


@pytest.fixture
def boutique(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """A real `slo-cli serve` on the test's database, Online Boutique ingested."""
    read_key, write_key = keys_and_topology(database_url)
    log = tmp_path / "server.log"
    process, url = start_api(served_env(database_url), log)
    try:
        ingest_boutique(url, bearer(write_key))
        yield Served(url, read_key, write_key, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


@asynccontextmanager
async def stdio_session(
    url: str, api_key: str | None, stderr: Path
) -> AsyncIterator[ClientSession]:
    """`python -m slo_engine.agents --url URL --api-key KEY` started by the SDK's
    stdio client, initialized."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("SLO_ENGINE_API_KEY", "SLO_API_KEY", "SLO_ENGINE_URL")
    }
    key_arguments = ["--api-key", api_key] if api_key else []
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "slo_engine.agents", "--url", url, *key_arguments],
        env=environment,
        cwd=str(REPOSITORY),
    )
    with stderr.open("w") as errlog:
        async with (
            stdio_client(parameters, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    """A tool's answer, insisting on success: the JSON text and the structured content
    say the same, summary first."""
    result = await session.call_tool(tool, arguments)
    assert not result.isError, result.content
    text = result.content[0]
    assert text.type == "text"
    answer = json.loads(text.text)
    assert answer == result.structuredContent
    assert next(iter(answer)) == "summary"
    return answer


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    """A tool's refusal: an MCP tool error (not a protocol error), its text."""
    result = await session.call_tool(tool, arguments)
    assert result.isError, result.content
    text = result.content[0]
    assert text.type == "text"
    assert "Traceback" not in text.text
    return text.text


def problem_of(refusal: str) -> Any:
    """The problem details a refusal quotes."""
    assert "\nProblem details: " in refusal, refusal
    return json.loads(refusal.split("\nProblem details: ", 1)[1])


def ids(items: list[Any]) -> list[str]:
    return [item["service_id"] for item in items]


async def check_the_tools_are_described(session: ClientSession) -> None:
    listed = (await session.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    for tool in listed:
        assert tool.description and len(tool.description) > 200, tool.name
        assert tool.annotations is not None and tool.annotations.readOnlyHint
        schema = tool.inputSchema
        assert schema["type"] == "object" and schema["properties"], tool.name
        assert "ctx" not in schema["properties"]
        for name, parameter in schema["properties"].items():
            assert parameter.get("description"), (tool.name, name)


async def test_stdio_tools_answer_as_the_http_api(boutique: Served, tmp_path: Path) -> None:
    with anyio.fail_after(TEST_SECONDS):
        async with stdio_session(
            boutique.url, boutique.read_key, tmp_path / "mcp.stderr"
        ) as session:
            await check_the_tools_are_described(session)
            await check_dependencies(session, boutique)
            await check_impact(session, boutique)
            await check_availability(session, boutique)
            await check_cycles_and_search(session, boutique)
            await check_changes(session, boutique)
            await check_refusals(session, boutique)
    # The process logged nothing it should not have (no traceback on stderr either).
    assert "Traceback" not in (tmp_path / "mcp.stderr").read_text()


async def check_dependencies(session: ClientSession, served: Served) -> None:
    for direction in ("downstream", "upstream", "both"):
        api = served.get("/services/frontend/dependencies", direction=direction, depth=3)
        answer = await call(
            session, "get_dependencies", service_id="frontend", direction=direction, max_nodes=200
        )
        assert ids(answer["services"]) == ids(api["nodes"])
        assert [s["depth"] for s in answer["services"]] == [n["depth"] for n in api["nodes"]]
        assert {(e["source"], e["target"]) for e in answer["edges"]} == {
            (e["source"], e["target"]) for e in api["edges"]
        }
        summary = answer["summary"]
        assert summary["services"] == api["statistics"]["total_nodes"]
        assert summary["edges"] == api["statistics"]["total_edges"]
        assert summary["complete"] and summary["revision"] == 2
        assert "more" not in answer
    # Bounded: the closest `max_nodes`, as the API lists them, the rest counted.
    whole = served.get("/services/frontend/dependencies")
    first_three = served.get("/services/frontend/dependencies", max_nodes=3)
    answer = await call(session, "get_dependencies", service_id="frontend", max_nodes=3)
    assert ids(answer["services"]) == ids(first_three["nodes"])
    assert answer["summary"]["services"] == len(whole["nodes"]) > 3
    assert answer["summary"]["listed_services"] == 3
    assert answer["more"][0].startswith(f"{len(whole['nodes']) - 3} more services")
    assert len(answer["edges"]) <= 2 * 3


async def check_impact(session: ClientSession, served: Served) -> None:
    api = served.get("/services/redis-cart/impact")
    answer = await call(session, "get_impact", service_id="redis-cart", max_affected=200)

    def judged(items: list[Any]) -> list[tuple[str, str, int]]:
        return [(a["service_id"], a["impact"], a["distance"]) for a in items]

    assert judged(answer["affected"]) == judged(api["affected"])
    totals = api["totals"]
    summary = answer["summary"]
    assert (summary["affected"], summary["down"], summary["degraded"]) == (
        totals["affected"],
        totals["down"],
        totals["degraded"],
    )
    assert answer["affected"][0]["path"] == "cartservice -hard/sync-> redis-cart"
    one = await call(session, "get_impact", service_id="redis-cart", max_affected=1)
    assert judged(one["affected"]) == judged(api["affected"][:1])
    assert one["summary"]["affected"] == totals["affected"] > 1
    assert one["more"][0].startswith(f"{totals['affected'] - 1} more affected services")


async def check_availability(session: ClientSession, served: Served) -> None:
    api = served.get("/services/checkoutservice/availability")
    answer = await call(
        session, "get_availability_ceiling", service_id="checkoutservice", max_items=50
    )
    summary = answer["summary"]
    assert summary["ceiling"] == api["ceiling"] and summary["nines"] == api["nines"]
    assert summary["dependencies_counted"] == api["dependencies"]
    assert [u["members"] for u in answer["limiting"]] == [u["members"] for u in api["limiting"]]
    assert ids(answer["terms"]) == ids(api["terms"])
    assert answer["arithmetic"] == api["arithmetic"]
    two = await call(session, "get_availability_ceiling", service_id="checkoutservice", max_items=2)
    assert len(two["limiting"]) == 2 and len(two["terms"]) == 2
    assert two["summary"]["dependencies_counted"] == api["dependencies"]
    assert any(line.startswith(f"{len(api['terms']) - 2} more terms") for line in two["more"])


async def check_cycles_and_search(session: ClientSession, served: Served) -> None:
    api = served.get("/circular-dependencies", status="open")
    answer = await call(session, "list_cycles")
    assert [a["alert_id"] for a in answer["alerts"]] == [a["alert_id"] for a in api["items"]]
    assert [a["cycle_path"] for a in answer["alerts"]] == [a["cycle_path"] for a in api["items"]]
    assert answer["summary"]["alerts"] == len(api["items"]) == 1
    resolved = await call(session, "list_cycles", status="resolved")
    assert resolved["summary"]["alerts"] == 0 and resolved["alerts"] == []

    api = served.get("/services", search="cart")
    answer = await call(session, "search_services", query="cart")
    assert (
        sorted(ids(answer["services"]))
        == sorted(ids(api["items"]))
        == [
            "cartservice",
            "redis-cart",
        ]
    )
    every = served.get("/services", search="service")
    answer = await call(session, "search_services", query="service", limit=3)
    assert answer["summary"]["matches"] == len(every["items"]) > 3
    assert len(answer["services"]) == 3 and set(ids(answer["services"])) <= set(ids(every["items"]))
    assert answer["more"][0].startswith(f"{len(every['items']) - 3} more matches")


async def check_changes(session: ClientSession, served: Served) -> None:
    api = served.get("/graph/diff", **{"from": "0"})
    answer = await call(session, "what_changed", since="0", max_items=200)
    summary = answer["summary"]
    for group in ("services", "edges", "cycles"):
        assert summary[group] == api[group]["counts"], group
    assert summary["to"] == api["to"] and summary["listed"] == summary["changes"]
    assert [c["cycle_path"] for c in answer["cycles_opened"]] == [
        c["cycle_path"] for c in api["cycles"]["opened"]
    ]
    # From a time: the time revision 0 was committed is the same question.
    began = api["from"]["committed_at"]
    recent = await call(session, "what_changed", since=began, max_items=5)
    assert recent["summary"]["changes"] == summary["changes"]
    assert recent["summary"]["listed"] == 5 and recent["cycles_opened"]
    # A duration before now reaches the API as a time: two weeks ago is before this
    # test's history began, and the refusal says when it begins.
    refusal = await refused(session, "what_changed", since="2w")
    assert problem_of(refusal)["status"] == 410 and "it begins at" in refusal

    feed = served.get("/changes", service="paymentservice", since_revision=1)
    answer = await call(session, "what_changed", since="1", service="paymentservice")

    def entries(items: list[Any]) -> list[tuple[int, str, str]]:
        return [(c["revision"], c["type"], c["service_id"]) for c in items]

    assert entries(answer["changes"]) == entries(feed["items"])
    assert answer["summary"]["changes"] == len(feed["items"]) > 0
    assert answer["summary"]["by_type"] == dict(Counter(c["type"] for c in feed["items"]))


async def check_refusals(session: ClientSession, served: Served) -> None:
    """Each refusal is an MCP tool error carrying the problem the API answers to the
    same request."""
    cases = [
        ("get_dependencies", {"service_id": "nope"}, "/services/nope/dependencies", {}),
        (
            "get_impact",
            {"service_id": "frontend", "as_of": "2001-01-01T00:00:00Z"},
            "/services/frontend/impact",
            {"as_of": "2001-01-01T00:00:00Z"},
        ),
        (
            "get_availability_ceiling",
            {"service_id": "frontend", "as_of": "last tuesday"},
            "/services/frontend/availability",
            {"as_of": "last tuesday"},
        ),
        ("what_changed", {"since": "yesterday"}, "/graph/diff", {"from": "yesterday"}),
    ]
    for tool, arguments, path, params in cases:
        expected = served.answer(path, **params)
        assert expected.status_code in (400, 404, 410), expected.text
        refusal = await refused(session, tool, **arguments)
        problem = problem_of(refusal)
        assert problem["detail"] == expected.json()["detail"], tool
        assert (problem["status"], problem["type"]) == (
            expected.status_code,
            expected.json()["type"],
        )
        assert refusal.startswith(f"slo-engine refused the request ({expected.status_code} ")
    # Outside a parameter's declared bounds: refused by the tool's input schema, naming it.
    refusal = await refused(session, "get_dependencies", service_id="frontend", depth=11)
    assert "depth" in refusal and "less than or equal to 10" in refusal


async def test_stdio_asks_with_the_key_it_was_given(boutique: Served, tmp_path: Path) -> None:
    """The server's own scopes apply: a key without `read` is refused by the API, and
    the agent reads the 403's detail; listing the tools needs no call."""
    with anyio.fail_after(TEST_SECONDS):
        async with stdio_session(
            boutique.url, boutique.write_key, tmp_path / "mcp.stderr"
        ) as session:
            assert {tool.name for tool in (await session.list_tools()).tools} == TOOLS
            refusal = await refused(session, "get_dependencies", service_id="frontend")
            assert problem_of(refusal)["detail"] == (
                "'mcp-writer' has the scopes [write]; this endpoint needs 'read'."
            )
            assert refusal.startswith("slo-engine refused the request (403 ")
        async with stdio_session(boutique.url, None, tmp_path / "mcp-no-key.stderr") as session:
            refusal = await refused(session, "search_services", query="cart")
            assert problem_of(refusal)["status"] == 401


async def test_stdio_stdout_carries_only_the_protocol(tmp_path: Path) -> None:
    """Raw JSON-RPC lines on the process's stdin and stdout (no SDK in between): every
    line it writes to stdout is a protocol message, and a server that is not there is a
    tool error saying so, not a crash."""
    nobody = f"http://127.0.0.1:{free_port()}"
    messages = [
        INITIALIZE,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "get_dependencies", "arguments": {"service_id": "frontend"}},
        },
    ]
    with (tmp_path / "mcp.stderr").open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "slo_engine.agents",
            "--url",
            nobody,
            "--api-key",
            "slo_000000000000_unused",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=REPOSITORY,
        )
        assert process.stdin is not None and process.stdout is not None
        answers: dict[int, Any] = {}
        try:
            async with asyncio.timeout(TEST_SECONDS):
                for message in messages:
                    process.stdin.write(json.dumps(message).encode() + b"\n")
                await process.stdin.drain()
                while len(answers) < 3:
                    line = await process.stdout.readline()
                    assert line, "the process closed stdout"
                    parsed = json.loads(line)  # every line: one JSON-RPC message
                    assert parsed["jsonrpc"] == "2.0"
                    if "id" in parsed:
                        answers[parsed["id"]] = parsed
                process.stdin.close()
                rest = await process.stdout.read()
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in rest.splitlines())
    assert {tool["name"] for tool in answers[2]["result"]["tools"]} == TOOLS
    result = answers[3]["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"].startswith(f"Could not reach slo-engine at {nobody}")


# ------------------------------------------------------------------ streamable HTTP


@pytest.fixture
def boutique_with_mcp(database_url: str, tmp_path: Path) -> Iterator[Served]:
    read_key, write_key = keys_and_topology(database_url)
    log = tmp_path / "server.log"
    process, url = start_api(served_env(database_url), log)
    try:
        ingest_boutique(url, bearer(write_key))
        yield Served(url, read_key, write_key, log)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_mcp_over_http_needs_the_read_scope(boutique_with_mcp: Served) -> None:
    """The routes' own access check and its problems: no key, a bad key, the wrong
    scope; a read key passes, whatever Host the server is reached by; POST only."""
    endpoint = boutique_with_mcp.url + "/mcp"
    for headers, status, detail in (
        ({}, 401, "This endpoint needs an API key"),
        (bearer("slo_bogus"), 401, "The API key is malformed."),
        (bearer(boutique_with_mcp.write_key), 403, "this endpoint needs 'read'"),
    ):
        response = httpx.post(endpoint, json=INITIALIZE, headers={**MCP_ACCEPT, **headers})
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status and problem["instance"] == "/mcp"
        assert detail in problem["detail"]
        assert response.headers["x-correlation-id"] == problem["correlation_id"]
        if status == 401:
            assert response.headers["www-authenticate"].startswith('Bearer realm="slo-engine"')
    response = httpx.post(
        endpoint,
        json=INITIALIZE,
        headers={
            **MCP_ACCEPT,
            **bearer(boutique_with_mcp.read_key),
            "Host": "slo-engine.example.com",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["serverInfo"]["name"] == "slo-engine"
    assert "x-ratelimit-remaining" in response.headers
    # Stateless: no event stream to open, no session to end.
    for method in ("GET", "DELETE"):
        response = httpx.request(
            method, endpoint, headers={**MCP_ACCEPT, **bearer(boutique_with_mcp.read_key)}
        )
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"] == "application/problem+json"


async def test_mcp_over_http_tools_answer_as_the_caller(boutique_with_mcp: Served) -> None:
    served = boutique_with_mcp
    with anyio.fail_after(TEST_SECONDS):
        async with (
            httpx.AsyncClient(headers=bearer(served.read_key), timeout=30) as http,
            streamable_http_client(served.url + "/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            await check_the_tools_are_described(session)
            api = served.get("/services/checkoutservice/dependencies", direction="both")
            answer = await call(
                session, "get_dependencies", service_id="checkoutservice", direction="both"
            )
            assert ids(answer["services"]) == ids(api["nodes"])
            api = served.get("/services/emailservice/impact")
            answer = await call(session, "get_impact", service_id="emailservice")
            assert ids(answer["affected"]) == ids(api["affected"])
            answer = await call(session, "what_changed", since="0", service="cartservice")
            assert answer["summary"]["changes"] > 0
            refusal = await refused(session, "get_impact", service_id="nope")
            assert problem_of(refusal)["detail"] == "No service has service_id 'nope'."
    # The tools' calls to the routes ran as the caller, inside its /mcp requests (one
    # correlation id), and each is labelled by its route.
    lines = [
        json.loads(line)
        for line in served.log.read_text().splitlines()
        if line.startswith("{") and '"event":"request"' in line
    ]
    mcp_requests = {
        line["correlation_id"]
        for line in lines
        if line["route"] == "/mcp" and line["key_name"] == "mcp-reader"
    }
    routes = {line["route"] for line in lines if line["correlation_id"] in mcp_requests} - {"/mcp"}
    assert {
        "/api/v1/services/{service_id}/dependencies",
        "/api/v1/services/{service_id}/impact",
        "/api/v1/changes",
    } <= routes
    assert all(
        line["key_name"] == "mcp-reader" for line in lines if line["correlation_id"] in mcp_requests
    )


def test_mcp_over_http_as_a_person_the_proxy_names(database_url: str, tmp_path: Path) -> None:
    """Behind an authenticating proxy: the person and their groups reach the routes the
    tools call (reading takes the `viewers` group here), and those calls count against
    the person's own bucket: a tool call costs two query tokens, the /mcp request's and
    its route's."""
    env = served_env(
        database_url,
        AUTH_PROXY_HEADER="X-Forwarded-User",
        AUTH_PROXY_GROUPS_HEADER="X-Forwarded-Groups",
        AUTH_TRUSTED_PROXIES="127.0.0.1",
        AUTH_READ_GROUPS="viewers",
        AUTH_WRITE_GROUPS="sre",
        # Slow enough that no whole token comes back between two calls.
        RATE_LIMIT_QUERY="1000/hour",
    )
    process, url = start_api(env, tmp_path / "server.log")
    try:
        ingest_boutique(url, {"X-Forwarded-User": "sam", "X-Forwarded-Groups": "sre"})
        rita = {**MCP_ACCEPT, "X-Forwarded-User": "rita", "X-Forwarded-Groups": "viewers"}
        expected = httpx.get(f"{url}/api/v1/services/redis-cart/impact", headers=rita).json()
        # Stateless: a tool call needs no session, one request is the whole exchange.
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_impact", "arguments": {"service_id": "redis-cart"}},
        }
        remaining = []
        for _ in range(2):
            response = httpx.post(f"{url}/mcp", json=call, headers=rita)
            assert response.status_code == 200, response.text
            result = response.json()["result"]
            assert result["isError"] is False, result
            assert (
                result["structuredContent"]["summary"]["affected"]
                == (expected["totals"]["affected"])
            )
            remaining.append(int(response.headers["x-ratelimit-remaining"]))
        assert remaining[0] - remaining[1] == 2
        # Signed in without a group that may read: the access check refuses /mcp itself.
        nobody = {**MCP_ACCEPT, "X-Forwarded-User": "nora"}
        response = httpx.post(f"{url}/mcp", json=call, headers=nobody)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_app_with_mcp_starts_again(database_url: str) -> None:
    """Each start of the app runs a fresh MCP session manager (the SDK's runs only
    once): the same app object starts twice, as tests and reloads do. (Served requests
    are the real-server tests' part: a request here would add `/mcp` to this process's
    metrics, which other tests read.)"""
    app = create_app(settings_for(database_url))
    managers = []
    for _ in range(2):
        with TestClient(app):
            managers.append(MCP_SESSIONS.of(app))
    assert managers[0] is not managers[1]
