"""Graph exports over HTTP and from `slo-cli export`: format= and Accept, 406 and 400
problems, the whole graph's JSON pages, and every format agreeing with the JSON answer."""

from __future__ import annotations

import asyncio
import gc
import json
import re
from collections import Counter
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from slo_engine.app import create_app
from slo_engine.cli import app as cli
from slo_engine.exports.routes import EXPORT_STREAMS
from slo_engine.jobs.runner import JOBS
from tests.e2e.conftest import (
    BOUTIQUE,
    INGEST,
    JSON_CONTENT,
    ingest,
    query,
    run,
    served,
    settings_for,
)

GRAPH = "/api/v1/graph"
DEPENDENCIES = "/api/v1/services/{}/dependencies"
PROBLEM = "application/problem+json"
MEDIA_TYPES = {
    "json": "application/json",
    "dot": "text/vnd.graphviz; charset=utf-8",
    "mermaid": "text/vnd.mermaid; charset=utf-8",
    "cytoscape": "application/vnd.cytoscape+json",
}
runner = CliRunner()


def ingest_boutique(client: TestClient) -> None:
    response = client.post(INGEST, content=BOUTIQUE.read_bytes(), headers=JSON_CONTENT)
    assert response.status_code == 200, response.text


def add_stale_edge(client: TestClient, source: str, target: str) -> None:
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    ingest(client, [(source, target)], source="otel_service_graph", observed_at=long_ago)
    client.portal.call(JOBS.of(client.app).run_now, "mark-stale")  # type: ignore[arg-type]


# ------------------------------------------------ reading the exported texts back


# Each reader answers a graph as Counters (service ids, (source, target) pairs), so an
# export that repeats a node or an edge differs from the JSON answer it is compared to.
Graph = tuple[Counter[str], Counter[tuple[str, str]]]


def graph_of(nodes: list[Any], edges: list[Any]) -> Graph:
    """What the JSON answer's nodes and edges hold, as a reader answers it."""
    return (
        Counter(n["service_id"] for n in nodes),
        Counter((e["source"], e["target"]) for e in edges),
    )


def dot_graph(text: str) -> Graph:
    """Node and edge statements of our DOT (ids are quoted service ids)."""
    nodes = re.findall(r'^  "([^"]+)" \[', text, re.MULTILINE)
    edges = re.findall(r'^  "([^"]+)" -> "([^"]+)" \[', text, re.MULTILINE)
    return Counter(nodes), Counter(edges)


def mermaid_graph(text: str) -> Graph:
    """Nodes (by the service id on the first label line, its codes decoded) and links of
    our Mermaid."""
    declared = re.findall(r'^  (n\d+)\["([^"<]*)', text, re.MULTILINE)
    labels = {
        node_id: re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)
        for node_id, label in declared
    }
    assert len(labels) == len(declared), "a node id declared twice"
    links = re.findall(r"^  (n\d+) \S+ (n\d+)$", text, re.MULTILINE)
    return Counter(labels.values()), Counter((labels[s], labels[t]) for s, t in links)


def cytoscape_graph(text: str) -> Graph:
    elements = json.loads(text)["elements"]
    nodes = Counter(n["data"]["id"] for n in elements["nodes"])
    edges = Counter((e["data"]["source"], e["data"]["target"]) for e in elements["edges"])
    return nodes, edges


READERS = {"dot": dot_graph, "mermaid": mermaid_graph, "cytoscape": cytoscape_graph}


def walk_pages(client: TestClient, **params: Any) -> tuple[list[Any], list[Any], list[dict]]:
    nodes: list[Any] = []
    edges: list[Any] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.get(GRAPH, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        assert response.headers["X-Graph-Revision"] == str(page["revision"])
        pages.append(page)
        nodes.extend(page["nodes"])
        edges.extend(page["edges"])
        cursor = page["next_cursor"]
        if cursor is None:
            return nodes, edges, pages


# ------------------------------------------------------------------ negotiation


@pytest.mark.parametrize("path", [GRAPH, DEPENDENCIES.format("frontend")])
def test_format_parameter_and_accept_choose_the_format(client: TestClient, path: str) -> None:
    ingest_boutique(client)
    for name, media_type in MEDIA_TYPES.items():
        by_parameter = client.get(path, params={"format": name})
        assert by_parameter.status_code == 200, by_parameter.text
        assert by_parameter.headers["content-type"] == media_type
        assert by_parameter.headers["vary"] == "Accept"
        by_accept = client.get(path, headers={"Accept": media_type.split(";")[0]})
        assert by_accept.headers["content-type"] == media_type
        assert by_accept.content == by_parameter.content
    mermaid = client.get(path, headers={"Accept": "text/x-mermaid"})
    assert mermaid.headers["content-type"] == "text/x-mermaid; charset=utf-8"
    weighted = client.get(path, headers={"Accept": "application/json;q=0.4, text/vnd.graphviz"})
    assert weighted.headers["content-type"] == MEDIA_TYPES["dot"]
    default = client.get(path, headers={"Accept": "*/*"})
    assert default.headers["content-type"] == "application/json"
    # format= wins, even over an Accept that admits nothing we make.
    wins = client.get(path, params={"format": "dot"}, headers={"Accept": "image/png"})
    assert wins.status_code == 200 and "digraph" in wins.text


@pytest.mark.parametrize("path", [GRAPH, DEPENDENCIES.format("frontend")])
def test_unacceptable_accept_is_a_406_problem(client: TestClient, path: str) -> None:
    ingest_boutique(client)
    for accept in ("image/png", "application/json;q=0", "text/html, application/xml", "junk"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 406, (accept, response.text)
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == 406 and problem["title"] == "Not acceptable"
        assert problem["type"].endswith("/not-acceptable")
        assert "text/vnd.graphviz" in problem["detail"] and problem["instance"] == path


@pytest.mark.parametrize("path", [GRAPH, DEPENDENCIES.format("frontend")])
def test_an_unknown_format_is_a_400_problem(client: TestClient, path: str) -> None:
    ingest_boutique(client)
    for value in ("svg", "", "DOT", "x" * 3000):
        response = client.get(path, params={"format": value})
        assert response.status_code == 400, (value, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["errors"][0]["pointer"] == "/query/format"


def test_bad_graph_parameters_are_400_problems(client: TestClient) -> None:
    ingest_boutique(client)
    for params in (
        {"cursor": "not-ours"},
        {"cursor": "WyJhIiwgImIiXQ"},  # a list of two values
        {"cursor": "WzFd"},  # [1]
        {"limit": 0},
        {"limit": 2001},
        {"limit": 10_000},
        {"limit": "many"},
        {"include_stale": "maybe"},
        {"format": "dot", "cursor": "WyJhIl0"},  # the other formats are never paged
        {"format": "mermaid", "limit": 10},
    ):
        response = client.get(GRAPH, params=params)
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"] == PROBLEM


def test_the_graph_needs_a_read_key(client: TestClient) -> None:
    refused = client.get(GRAPH, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
    spec = client.get("/openapi.json").json()
    responses = spec["paths"][GRAPH]["get"]["responses"]
    assert {"200", "400", "401", "403", "406", "429"} <= set(responses)
    assert "text/vnd.graphviz" in responses["200"]["content"]
    subgraph = spec["paths"]["/api/v1/services/{service_id}/dependencies"]["get"]["responses"]
    assert "406" in subgraph and "text/vnd.mermaid" in subgraph["200"]["content"]


# ------------------------------------------------------------------ the whole graph


def test_pages_walk_every_node_and_edge_exactly_once(client: TestClient) -> None:
    edges = [(f"s{i:03d}", f"s{(i * 7 + 3) % 60:03d}") for i in range(60)]
    edges += [(f"s{i:03d}", f"s{(i + 1) % 60:03d}") for i in range(0, 60, 2)]
    edges = list(dict.fromkeys(e for e in edges if e[0] != e[1]))
    ingest(client, edges, nodes=[{"service_id": "lonely", "team": "nobody"}])
    add_stale_edge(client, "s001", "stale-only")

    services = {s for pair in edges for s in pair} | {"lonely", "s001", "stale-only"}
    for limit in (1, 7, 61, 1000):
        nodes, found, pages = walk_pages(client, limit=limit)
        ids = [n["service_id"] for n in nodes]
        assert ids == sorted(services)  # id order, each once
        pairs = [(e["source"], e["target"]) for e in found]
        assert len(pairs) == len(set(pairs)) and set(pairs) == set(edges)
        assert all(len(p["nodes"]) <= limit for p in pages)
        for page in pages:  # an edge comes with the page of its source
            on_page = {n["service_id"] for n in page["nodes"]}
            assert all(e["source"] in on_page for e in page["edges"])
        assert len({p["revision"] for p in pages}) == 1
    nodes, found, _ = walk_pages(client, include_stale="true", limit=5)
    assert {(e["source"], e["target"]) for e in found} == {*edges, ("s001", "stale-only")}
    assert [e["is_stale"] for e in found if e["target"] == "stale-only"] == [True]
    lonely = next(n for n in nodes if n["service_id"] == "lonely")
    assert lonely == {
        "service_id": "lonely",
        "display_name": None,
        "team": "nobody",
        "criticality": None,
        "discovered": False,
        "kind": "service",
    }


def test_page_edges_are_the_subgraph_answers_edges(client: TestClient) -> None:
    ingest_boutique(client)
    _, edges, _ = walk_pages(client)
    answer = query(client, "frontend", depth=1)
    by_pair = {(e["source"], e["target"]): e for e in edges}
    for subgraph_edge in answer["edges"]:
        assert by_pair[(subgraph_edge["source"], subgraph_edge["target"])] == subgraph_edge


def test_an_empty_graph(client: TestClient) -> None:
    page = client.get(GRAPH).json()
    assert page == {"revision": 0, "nodes": [], "edges": [], "next_cursor": None}
    for name, read in READERS.items():
        response = client.get(GRAPH, params={"format": name})
        assert response.status_code == 200
        assert response.headers["X-Graph-Revision"] == "0"
        assert read(response.text) == (Counter(), Counter())
    dot = client.get(GRAPH, params={"format": "dot"}).text
    assert dot.startswith('digraph "slo-engine" {\n') and dot.endswith("}\n")
    assert [line for line in dot.splitlines() if not line.startswith("  ")] == [
        'digraph "slo-engine" {',
        "}",
    ]
    mermaid = client.get(GRAPH, params={"format": "mermaid"}).text
    assert mermaid.splitlines() == [
        "flowchart LR",
        "  classDef root fill:#fff3b0,stroke-width:3px",
        "  classDef discovered stroke-dasharray:5 4",
    ]
    assert client.get(GRAPH, params={"format": "cytoscape"}).json() == {
        "data": {"root": None, "comments": []},
        "elements": {"nodes": [], "edges": []},
    }


@pytest.mark.parametrize("name", ["dot", "mermaid", "cytoscape"])
def test_whole_graph_exports_hold_what_the_pages_hold(client: TestClient, name: str) -> None:
    ingest_boutique(client)
    ingest(client, [("frontend", "new-discovered")])
    add_stale_edge(client, "adservice", "old-ads-db")
    for include_stale in ("false", "true"):
        nodes, edges, pages = walk_pages(client, include_stale=include_stale)
        response = client.get(GRAPH, params={"format": name, "include_stale": include_stale})
        assert response.status_code == 200
        assert response.headers["X-Graph-Revision"] == str(pages[0]["revision"])
        assert READERS[name](response.text) == graph_of(nodes, edges)
    # Exports are deterministic: the same graph, the same bytes.
    again = client.get(GRAPH, params={"format": name, "include_stale": "true"})
    assert again.content == response.content


def test_an_export_streams_the_revision_it_started_at(client: TestClient) -> None:
    """Writes in this process change the snapshot in place between the stream's pieces;
    the export still shows the revision it started at. The route is driven through ASGI
    piece by piece (test clients buffer whole answers), and after its first piece a
    write goes through the API: it adds services and edges, and replaces a service and
    an edge."""
    import httpx

    for first in (0, 400):
        ingest(client, [(f"a{i:03d}", f"b{i % 37:03d}") for i in range(first, first + 400)])
    nodes, edges, pages = walk_pages(client, include_stale="true")
    start = pages[0]["revision"]
    app = client.app
    headers = dict(client.headers)
    pieces: list[bytes] = []
    written: list[int] = []

    async def write() -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
        ) as writer:
            body = {
                "source": "manual",
                "nodes": [{"service_id": "b036", "team": "new"}, {"service_id": "0-first"}],
                "edges": [
                    {"source": "0-first", "target": "a000"},
                    {"source": "a001", "target": "zz-last"},
                    {"source": "a799", "target": "b022", "attributes": {"criticality": "hard"}},
                ],
            }
            response = await writer.post(INGEST, json=body)
            assert response.status_code == 200, response.text
            written.append(len(pieces))

    async def writing_after_the_first_piece(scope: Any, receive: Any, send: Any) -> None:
        async def observed(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and message.get("body"):
                pieces.append(message["body"])
                if len(pieces) == 1:
                    await write()

        await app(scope, receive, observed)

    async def export() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=writing_after_the_first_piece),
            base_url="http://test",
            headers=headers,
        ) as reader:
            return await reader.get(GRAPH, params={"format": "cytoscape", "include_stale": True})

    response = client.portal.call(export)  # type: ignore[union-attr]
    assert response.status_code == 200
    assert written == [1] and len(pieces) > 2  # the write came between pieces
    assert response.headers["X-Graph-Revision"] == str(start)
    document = response.json()
    assert cytoscape_graph(response.text) == graph_of(nodes, edges)
    # What the write changed is rendered after the first piece, yet shows the old state.
    assert b'"b036"' not in pieces[0] and b'"a799"' not in pieces[0]
    teams = {n["data"]["id"]: n["data"]["team"] for n in document["elements"]["nodes"]}
    assert teams["b036"] is None
    (changed,) = [e for e in document["elements"]["edges"] if e["data"]["id"] == "a799->b022"]
    assert changed["data"]["criticality"] is None

    after, after_edges, after_pages = walk_pages(client, include_stale="true")
    assert after_pages[0]["revision"] > start  # the write did land
    assert {n["service_id"]: n["team"] for n in after}["b036"] == "new"
    assert len(after) == len(nodes) + 2 and len(after_edges) == len(edges) + 2


def test_whole_graph_streams_beyond_the_bound_get_503_until_one_ends(
    database_url: str, admin_key: str
) -> None:
    """With EXPORT_MAX_STREAMS=1, a second stream asked for while the first is between
    two pieces is refused (503, Retry-After), JSON pages still answer, and once the first
    ends the next stream is served."""
    import httpx

    app = create_app(settings_for(database_url, export_max_streams=1))
    headers = {"Authorization": f"Bearer {admin_key}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        for first in range(0, 3000, 500):
            ingest(client, [(f"a{i:04d}", f"b{i % 50:03d}") for i in range(first, first + 500)])
        during: list[httpx.Response] = []

        async def get(target: Any, **params: Any) -> httpx.Response:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=target), base_url="http://test", headers=headers
            ) as other:
                return await other.get(GRAPH, params=params)

        async def asking_during_the_first_piece(scope: Any, receive: Any, send: Any) -> None:
            async def observed(message: MutableMapping[str, Any]) -> None:
                await send(message)
                if message["type"] == "http.response.body" and message.get("body") and not during:
                    during.append(await get(app, format="dot"))
                    during.append(await get(app, limit=10))

            await app(scope, receive, observed)

        async def scenario() -> tuple[httpx.Response, httpx.Response]:
            first = await get(asking_during_the_first_piece, format="mermaid")
            return first, await get(app, format="dot")

        first, after = client.portal.call(scenario)  # type: ignore[union-attr]
    assert first.status_code == 200 and first.text.startswith("flowchart")
    refused, page = during
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["retry-after"] == "5"
    assert "EXPORT_MAX_STREAMS" in refused.json()["detail"]
    assert page.status_code == 200 and len(page.json()["nodes"]) == 10
    assert after.status_code == 200 and after.text.startswith("digraph")


def test_a_client_that_leaves_mid_stream_gives_its_slot_back_at_once(
    database_url: str, admin_key: str
) -> None:
    """A slow reader (each piece's send waits) that disconnects: the slot is free as
    soon as the response is over, not when the garbage collector gets to it."""
    app = create_app(settings_for(database_url, export_max_streams=2))
    with TestClient(app, headers={"Authorization": f"Bearer {admin_key}"}) as client:
        for first in range(0, 3000, 500):
            ingest(client, [(f"a{i:04d}", f"b{i % 50:03d}") for i in range(first, first + 500)])
        slots = EXPORT_STREAMS.of(app)
        pieces: list[int] = []
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": GRAPH,
            "raw_path": GRAPH.encode(),
            "query_string": b"format=dot",
            "root_path": "",
            "headers": [(b"host", b"test"), (b"authorization", f"Bearer {admin_key}".encode())],
            "client": ("127.0.0.1", 1234),
            "server": ("test", 80),
        }

        async def receive() -> dict[str, Any]:
            await asyncio.sleep(0.02)
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.body":
                pieces.append(len(message["body"]))
                await asyncio.sleep(1)  # the client's buffer is full

        async def leaving_reader() -> None:
            await app(scope, receive, send)

        gc.disable()  # the garbage collector must not be what frees the slot
        try:
            for _ in range(2):
                client.portal.call(leaving_reader)  # type: ignore[union-attr]
            assert pieces, "the stream never started"
            assert slots._value == 2  # both slots are back
            assert client.get(GRAPH, params={"format": "dot"}).status_code == 200
        finally:
            gc.enable()


# ------------------------------------------------------------------ subgraphs


@pytest.mark.parametrize("direction", ["downstream", "upstream", "both"])
def test_subgraph_exports_hold_the_json_answers_nodes_and_edges(
    client: TestClient, direction: str
) -> None:
    ingest_boutique(client)
    add_stale_edge(client, "cartservice", "old-cache")
    for root, depth, include_stale in (
        ("frontend", 2, "false"),
        ("cartservice", 3, "true"),
        ("redis-cart", 10, "false"),
    ):
        params = {"direction": direction, "depth": depth, "include_stale": include_stale}
        answer = query(client, root, **params)
        expected = graph_of([answer["service"], *answer["nodes"]], answer["edges"])
        for name, read in READERS.items():
            response = client.get(DEPENDENCIES.format(root), params={**params, "format": name})
            assert response.status_code == 200, response.text
            assert read(response.text) == expected, (name, root, direction)


def test_subgraph_exports_mark_the_root_and_the_styles(client: TestClient) -> None:
    ingest_boutique(client)
    ingest(client, [("frontend", "ghost")])  # discovered: never declared
    add_stale_edge(client, "frontend", "old-api")
    params = {"depth": 1, "include_stale": "true"}
    cytoscape = client.get(
        DEPENDENCIES.format("frontend"), params={**params, "format": "cytoscape"}
    ).json()
    classes = {n["data"]["id"]: n["classes"] for n in cytoscape["elements"]["nodes"]}
    assert classes["frontend"].split()[0] == "root"
    assert "discovered" in classes["ghost"].split()
    edge_classes = {e["data"]["target"]: e["classes"] for e in cytoscape["elements"]["edges"]}
    assert "stale" in edge_classes["old-api"].split()
    assert "stale" not in edge_classes["cartservice"].split()

    dot = client.get(DEPENDENCIES.format("frontend"), params={**params, "format": "dot"}).text
    assert re.search(r'^  "frontend" \[.*fillcolor=', dot, re.MULTILINE)
    assert re.search(r'^  "ghost" \[.*style="rounded,dashed"', dot, re.MULTILINE)
    assert re.search(r'^  "frontend" -> "old-api" \[.*color="#9e9e9e"', dot, re.MULTILINE)


def test_the_json_answer_is_unchanged_by_negotiation(client: TestClient) -> None:
    ingest_boutique(client)
    path = DEPENDENCIES.format("checkoutservice")
    plain = client.get(path, params={"depth": 2})
    for extra_params, headers in (
        ({"format": "json"}, {}),
        ({}, {"Accept": "application/json"}),
        ({}, {"Accept": "*/*"}),
        ({}, {"Accept": "text/vnd.graphviz;q=0.1, application/json"}),
    ):
        response = client.get(path, params={"depth": 2, **extra_params}, headers=headers)
        assert response.content == plain.content
        assert response.headers["content-type"] == "application/json"


def test_an_unknown_service_is_404_in_every_format(client: TestClient) -> None:
    for name in MEDIA_TYPES:
        response = client.get(DEPENDENCIES.format("ghost"), params={"format": name})
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM


# ------------------------------------------------------------------ slo-cli export


def test_cli_exports_from_the_database(cli_env: str, tmp_path: Path) -> None:
    run("ingest", str(BOUTIQUE))
    whole = json.loads(run("export"))
    assert len(whole["nodes"]) == 12 and len(whole["edges"]) == 16
    assert set(whole) == {"revision", "nodes", "edges"}
    expected = graph_of(whole["nodes"], whole["edges"])
    for name, read in READERS.items():
        assert read(run("export", "--format", name)) == expected, name

    subgraph = json.loads(run("export", "frontend", "--depth", "1"))
    assert subgraph["service"]["service_id"] == "frontend"
    target = tmp_path / "frontend.dot"
    run("export", "frontend", "--format", "dot", "--depth", "1", "--output", str(target))
    assert dot_graph(target.read_text()) == graph_of(
        [subgraph["service"], *subgraph["nodes"]], subgraph["edges"]
    )
    upstream = run("export", "cartservice", "-f", "mermaid", "--direction", "upstream")
    assert ("frontend", "checkoutservice") in mermaid_graph(upstream)[1]

    missing = runner.invoke(cli, ["export", "ghost", "--format", "dot"])
    assert missing.exit_code == 1 and "ghost" in missing.output
    bounds_without_root = runner.invoke(cli, ["export", "--depth", "2"])
    assert bounds_without_root.exit_code == 2
    unknown = runner.invoke(cli, ["export", "--format", "svg"])
    assert unknown.exit_code == 2


def test_cli_exports_through_a_server(server: str, tmp_path: Path) -> None:
    key = json.loads(run("api-keys", "create", "--name", "cli", "--scope", "admin", "--json"))
    run("ingest", str(BOUTIQUE))
    served(server, key["key"], "frontend")  # the CLI's write reached the server
    local = json.loads(run("export"))
    remote = json.loads(run("export", "--url", server, "--api-key", key["key"]))
    assert remote == local
    target = tmp_path / "graph.mmd"
    run("export", "-f", "mermaid", "--url", server, "--api-key", key["key"], "-o", str(target))
    assert target.read_text() == run("export", "-f", "mermaid")
    subgraph = run(
        "export", "frontend", "-f", "cytoscape", "--url", server, "--api-key", key["key"]
    )
    assert cytoscape_graph(subgraph) == cytoscape_graph(
        run("export", "frontend", "-f", "cytoscape")
    )

    refused = runner.invoke(
        cli, ["export", "-f", "dot", "--url", server, "-o", str(tmp_path / "x")]
    )
    assert refused.exit_code == 1 and "401" in refused.output
    assert not (tmp_path / "x").exists()


def test_cli_restarts_a_json_walk_when_the_graph_changes(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole graph as JSON through a server is joined from pages; a write between
    pages starts the walk over, so the document is of one revision (no edge to a node
    it lacks), and a graph that keeps changing fails the export."""
    from slo_engine.exports import cli as export_cli
    from slo_engine_client import SloEngineClient

    key = json.loads(run("api-keys", "create", "--name", "cli", "--scope", "admin", "--json"))
    run("ingest", str(BOUTIQUE))
    served(server, key["key"], "frontend")  # the CLI's write reached the server
    monkeypatch.setattr(export_cli, "PAGE", 5)  # 12 services: three pages
    # The CLI reads the pages through the client's `request` (live/cli_fetch.py).
    get = SloEngineClient.request
    writes: list[str] = []
    write_budget = [1]

    def get_then_write(self: SloEngineClient, method: str, url: str, **kwargs: Any) -> Any:
        response = get(self, method, url, **kwargs)
        if url == GRAPH and "cursor" not in kwargs["params"] and write_budget[0]:
            # After the first page: a service that sorts before the cursor, and an edge
            # to it from a service on a later page.
            write_budget[0] -= 1
            new = f"aaa-new-{len(writes)}"
            body = {"source": "manual", "edges": [{"source": "shippingservice", "target": new}]}
            written = get(self, "POST", INGEST, json=body)
            assert written.status_code == 200, written.text
            writes.append(new)
        return response

    monkeypatch.setattr(SloEngineClient, "request", get_then_write)
    args = ["export", "--url", server, "--api-key", key["key"]]
    restarted = runner.invoke(cli, args)
    assert restarted.exit_code == 0, restarted.output
    assert len(writes) == 1
    document = json.loads(restarted.stdout)
    ids = {n["service_id"] for n in document["nodes"]}
    assert "aaa-new-0" in ids
    assert all(e["source"] in ids and e["target"] in ids for e in document["edges"])
    monkeypatch.setattr(SloEngineClient, "request", get)
    assert document == json.loads(run("export"))  # the latest revision, whole

    monkeypatch.setattr(SloEngineClient, "request", get_then_write)
    write_budget[0] = export_cli.WALK_ATTEMPTS  # a write during every walk
    failed = runner.invoke(cli, args)
    assert failed.exit_code == 1
    assert "kept changing" in failed.output and failed.stdout == ""
    assert len(writes) == 1 + export_cli.WALK_ATTEMPTS
