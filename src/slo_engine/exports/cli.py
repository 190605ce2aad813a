"""`slo-cli export`: the whole graph or one service's subgraph as JSON, DOT, Mermaid or
Cytoscape.js elements, to stdout or a file.

Like `query`, it asks a running server when given `--url` (GET /api/v1/graph or
/services/{id}/dependencies with format=), and otherwise reads the configured database
directly through the same use cases; with `--as-of`, from the graph as it was then. The
whole graph in JSON is one document `{"revision", "nodes", "edges"}`: the server's
pages, joined, all of one revision.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import orjson
import typer

from slo_engine.graph.model import Direction
from slo_engine.live.cli_fetch import (
    ApiKeyOption,
    AsOfOption,
    UrlOption,
    fail,
    on_database,
    read_time,
    refusals_end_the_command,
    remote,
    snapshot_as_of,
)
from slo_engine.topology.formats import RENDERERS, ExportFormat, render_subgraph

if TYPE_CHECKING:
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph
    from slo_engine.settings import Settings
    from slo_engine_client import SloEngineClient

# The subgraph's bounds; the same defaults and limits as the API (topology/routes.py).
DEFAULT_DEPTH = 3
DEFAULT_MAX_NODES = 10_000
# Services per page when the whole graph is read from a server as JSON (its maximum).
PAGE = 2000
# Walks of the pages started over when the graph changes during one, before giving up.
WALK_ATTEMPTS = 3
TIMEOUT_SECONDS = 120


def export(
    service_id: Annotated[
        str | None,
        typer.Argument(help="Export this service's subgraph; omit for the whole graph."),
    ] = None,
    export_format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ExportFormat.JSON,
    direction: Annotated[
        Direction | None, typer.Option(help="Subgraph only. Default: downstream.")
    ] = None,
    depth: Annotated[
        int | None, typer.Option(min=1, max=10, help=f"Subgraph only. Default: {DEFAULT_DEPTH}.")
    ] = None,
    include_stale: Annotated[
        bool, typer.Option(help="Include edges whose every report is stale.")
    ] = False,
    max_nodes: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help=f"Subgraph only. Default: {DEFAULT_MAX_NODES}."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write here instead of stdout."),
    ] = None,
    as_of: AsOfOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Export the dependency graph (or a service's subgraph) for Graphviz (`dot -Tsvg`),
    Mermaid, Cytoscape.js, or as the API's JSON. See docs/exports.md."""
    if service_id is None and (direction, depth, max_nodes) != (None, None, None):
        raise fail("--direction, --depth and --max-nodes need a SERVICE_ID", 2)
    subgraph = {
        "direction": direction or Direction.DOWNSTREAM,
        "depth": depth or DEFAULT_DEPTH,
        "max_nodes": max_nodes or DEFAULT_MAX_NODES,
        "include_stale": include_stale,
    }
    at = read_time("--as-of", as_of)
    chunks: Iterable[str]
    if url is not None:
        chunks = _from_server(url, api_key, service_id, export_format, subgraph, at)
    else:
        chunks = on_database(
            lambda database, cache, settings: _locally(
                database, cache, settings, service_id, export_format, subgraph, at
            )
        )
    if output is None:
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
        return
    # The file is opened at the first chunk: a refused request leaves no empty file.
    file: IO[str] | None = None
    try:
        for chunk in chunks:
            if file is None:
                file = output.open("w", encoding="utf-8")
            file.write(chunk)
    finally:
        if file is not None:
            file.close()


def _whole_json(revision: int, nodes: list[Any], edges: list[Any]) -> list[str]:
    document = {"revision": revision, "nodes": nodes, "edges": edges}
    # Datetimes as the API writes them, for the documents built here from the snapshot.
    return [orjson.dumps(document, option=orjson.OPT_UTC_Z).decode(), "\n"]


# ------------------------------------------------------------------ --url


def _from_server(
    url: str,
    api_key: str | None,
    service_id: str | None,
    export_format: ExportFormat,
    subgraph: dict[str, Any],
    as_of: datetime | None,
) -> Iterator[str]:
    # Every request of the export asks for the graph at the same time; the text is the
    # server's, as it wrote it.
    with (
        remote(url, api_key, timeout=TIMEOUT_SECONDS) as client,
        refusals_end_the_command(url),
    ):
        if service_id is not None:
            yield client.export_dependencies(
                service_id, export_format.value, **subgraph, as_of=as_of
            )
            if export_format is ExportFormat.JSON:
                yield "\n"
            return
        if export_format is ExportFormat.JSON:
            yield from _pages(client, subgraph["include_stale"], as_of)
            return
        yield from client.export_graph(
            export_format.value, include_stale=subgraph["include_stale"], as_of=as_of
        )


def _pages(client: SloEngineClient, include_stale: bool, as_of: datetime | None) -> list[str]:
    """Every JSON page, joined into one document of one revision.

    Pages read at different revisions could hold an edge to a service that was added
    on a page already read, so when a page's revision differs from the first page's the
    walk starts over; after `WALK_ATTEMPTS` walks the export fails.
    """
    revisions: list[int] = []
    for _ in range(WALK_ATTEMPTS):
        walked = _walk(client, include_stale, as_of)
        if isinstance(walked, int):
            revisions.append(walked)
            continue
        revision, nodes, edges = walked
        return _whole_json(revision, nodes, edges)
    raise fail(
        f"The graph kept changing during the export ({WALK_ATTEMPTS} attempts, the last "
        f"one interrupted at revision {revisions[-1]}); try again when writes are quieter, "
        "or use --format dot|mermaid|cytoscape, which the server streams at one revision."
    )


def _walk(
    client: SloEngineClient, include_stale: bool, as_of: datetime | None
) -> tuple[int, list[Any], list[Any]] | int:
    """(revision, nodes, edges) of one walk of the pages, or the revision at which a
    page showed that the graph had changed since the first page. The pages' JSON is
    kept as the server wrote it (not read into the client's models and written back)."""
    nodes: list[Any] = []
    edges: list[Any] = []
    params: dict[str, Any] = {
        "format": "json",
        "include_stale": include_stale,
        "limit": PAGE,
        "as_of": None if as_of is None else as_of.isoformat(),
    }
    revision: int | None = None
    while True:
        page = client.request("GET", "/api/v1/graph", params=params).json()
        if revision is None:
            revision = page["revision"]
        elif page["revision"] != revision:
            return int(page["revision"])
        nodes.extend(page["nodes"])
        edges.extend(page["edges"])
        if page["next_cursor"] is None:
            return revision, nodes, edges
        params["cursor"] = page["next_cursor"]


# ------------------------------------------------------------------ database


async def _locally(
    database: Database,
    cache: LiveGraph,
    settings: Settings,
    service_id: str | None,
    export_format: ExportFormat,
    subgraph: dict[str, Any],
    as_of: datetime | None,
) -> list[str]:
    from slo_engine.exports import service
    from slo_engine.topology.service import SubgraphShape, subgraph_of

    snapshot = await snapshot_as_of(database, cache, settings, as_of)
    if service_id is not None:
        _, body = await subgraph_of(cache, snapshot, service_id, SubgraphShape(**subgraph))
        if export_format is ExportFormat.JSON:
            return [body.decode(), "\n"]
        return [render_subgraph(export_format, json.loads(body))]
    copy = await service.graph_copy(snapshot)
    include_stale = subgraph["include_stale"]
    if export_format is ExportFormat.JSON:
        return _whole_json(copy.revision, list(copy.nodes()), list(copy.edges(include_stale)))
    return list(RENDERERS[export_format](copy.nodes(), copy.edges(include_stale)))
