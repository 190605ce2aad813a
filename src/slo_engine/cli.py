"""The `slo-cli` command: serve, migrate, manage API keys, ingest files, retract edges,
delete services, query the graph, follow its changes.

`ingest`, `retract`, `services delete`, `query`, `changes` and `diff` talk to a running
server when given `--url`, and otherwise work on the configured database directly
(DATABASE_URL or .env), through the same use cases as the HTTP API. `query`, `impact`,
`availability` and `export` answer from the graph as it was with `--as-of`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from slo_engine import __version__
from slo_engine.access.cli import app as api_keys_app
from slo_engine.agents.cli import mcp
from slo_engine.alerts.cli import app as alerts_app
from slo_engine.aliases.cli import app as aliases_app
from slo_engine.discovery.cli import discover
from slo_engine.drift.cli import drift
from slo_engine.errors import SloEngineError
from slo_engine.exports.cli import export
from slo_engine.graph.model import Direction
from slo_engine.history.cli import changes, diff
from slo_engine.ingestion.cli import CLI_ACTOR, retract, services_app
from slo_engine.ingestion.schemas import IngestionRequest, ingestion_request
from slo_engine.insights.cli import availability, impact
from slo_engine.jobs.cli import jobs_app
from slo_engine.live.cli_fetch import (
    ApiKeyOption,
    AsOfOption,
    UrlOption,
    fail,
    fetch,
    refusals_end_the_command,
    remote,
)
from slo_engine.settings import Settings
from slo_engine.topology.catalog_cli import list_services

app = typer.Typer(help="slo-engine: the service dependency graph.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(api_keys_app, name="api-keys")
app.command(name="discover")(discover)
app.add_typer(jobs_app, name="jobs")
app.command(name="impact")(impact)
app.command(name="availability")(availability)
app.command(name="drift")(drift)
app.command(name="export")(export)
app.command(name="retract")(retract)
app.add_typer(services_app, name="services")
services_app.command(name="list")(list_services)
app.add_typer(alerts_app, name="alerts")
app.add_typer(aliases_app, name="aliases")
app.command(name="mcp")(mcp)
app.command(name="changes")(changes)
app.command(name="diff")(diff)


class _Run:
    """What the options given to `slo-cli` itself ask of this run."""

    # `--debug`: an unexpected error shows its traceback instead of one line.
    show_tracebacks = False


def _print_version(shown: bool) -> None:
    if shown:
        console.print(f"slo-cli {__version__}")
        raise typer.Exit


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error.")
    ] = False,
) -> None:
    """slo-engine: the service dependency graph."""
    _Run.show_tracebacks = debug


console = Console()
errors = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: API_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: API_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: API_WORKERS.")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn
    from sqlalchemy.engine import make_url

    from slo_engine.errors import DatabaseMissingError
    from slo_engine.infra.db import sqlite_file

    settings = Settings()
    database_file = sqlite_file(make_url(settings.database_url))
    if database_file is not None and not database_file.exists():
        # Said here in one line rather than as a traceback from every worker's start.
        raise fail(DatabaseMissingError(str(database_file.resolve())).detail)
    uvicorn.run(
        "slo_engine.app:create_app",
        factory=True,
        # uvicorn's httptools protocol with a bound on the request head (431 beyond).
        http="slo_engine.infra.http_server:BoundedHeadHttpToolsProtocol",
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers or settings.api_workers,
        log_level=settings.log_level.lower(),
        # With an authenticating proxy in front, the proxy's header is honoured by the
        # connection's peer address (AUTH_TRUSTED_PROXIES): uvicorn must not replace it
        # with an address from X-Forwarded-For (access/proxy.py).
        proxy_headers=not settings.auth_proxy_header,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations to DATABASE_URL (idempotent)."""
    from slo_engine.infra.migrate import upgrade_database

    settings = Settings()
    upgrade_database(settings.database_url, revision)
    console.print(f"database at revision {revision}: {_redacted(settings.database_url)}")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _batches(document: dict[str, Any], batch_size: int) -> list[dict[str, Any]]:
    """Split one ingest document into requests of at most `batch_size` nodes + edges.

    Nodes go first, so services are declared before edges name them.
    """
    header = {k: v for k, v in document.items() if k not in ("nodes", "edges")}
    items = [("nodes", n) for n in document.get("nodes") or []]
    items += [("edges", e) for e in document.get("edges") or []]
    batches = []
    for start in range(0, max(len(items), 1), batch_size):
        batch: dict[str, Any] = {**header, "nodes": [], "edges": []}
        for kind, item in items[start : start + batch_size]:
            batch[kind].append(item)
        batches.append(batch)
    return batches


@app.command()
def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="One or more files, in order."
        ),
    ],
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    batch_size: Annotated[
        int,
        typer.Option(min=1, help="Nodes or edges per request (not with --replace)."),
    ] = 10_000,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Each file is its source's complete picture (of --scope, if given): edges "
            "it reported before and not now are retracted. Each file sent as ONE request, "
            "one transaction, never in batches (a batch would retract the others' edges).",
        ),
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="With --replace: a service whose outgoing edges the file covers; repeat "
            "for several. Default: the source's whole report.",
        ),
    ] = None,
) -> None:
    """Ingest files in the ingest format (see examples/). Large files go in batches,
    each one transaction, with a progress bar; with --replace, each file in one. Prints
    the summed API answers as JSON, and a one-line summary on stderr."""
    requests = [
        request for file in files for request in _file_requests(file, replace, scope, batch_size)
    ]
    if replace:
        _refuse_replacing_one_source_twice(files, requests)
    totals = {"nodes_upserted": 0, "edges_upserted": 0, "edges_retracted": 0}
    cycles: list[Any] = []
    warnings: list[str] = []
    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=len(requests) < 2,
    ) as progress:
        task = progress.add_task("ingest", total=len(requests))
        for result in _ingest_all(requests, url, api_key):
            totals["nodes_upserted"] += result["nodes_upserted"]
            totals["edges_upserted"] += result["edges_upserted"]
            totals["edges_retracted"] += result["edges_retracted"]
            cycles.extend(result["circular_dependencies_detected"])
            warnings.extend(result["warnings"])
            progress.advance(task)
    console.print_json(
        data={**totals, "circular_dependencies_detected": cycles, "warnings": warnings}
    )
    errors.print(
        ingest_summary(len(files), requests, totals["edges_retracted"], len(cycles), warnings),
        highlight=False,
        soft_wrap=True,
    )


def _file_requests(
    file: Path, replace: bool, scope: list[str] | None, batch_size: int
) -> list[IngestionRequest]:
    """The requests one file is sent as (refused with exit code 2 before anything is
    sent if it is not in the ingest format)."""
    try:
        document = orjson.loads(file.read_bytes())
    except orjson.JSONDecodeError as error:
        errors.print(f"[red]{file} is not valid JSON: {error}[/red]")
        raise typer.Exit(2) from error
    if not isinstance(document, dict):
        errors.print(f"[red]{file} must hold one JSON object in the ingest format[/red]")
        raise typer.Exit(2)
    # A file that says `"mode": "replace"` itself is a replace too.
    replaced = replace or document.get("mode") == "replace"
    if scope and not replaced:
        errors.print("[red]--scope needs --replace[/red]")
        raise typer.Exit(2)
    if replaced:
        document["mode"] = "replace"
        if scope:
            document["scope"] = {"services": scope}
    requests = []
    for batch in [document] if replaced else _batches(document, batch_size):
        try:
            requests.append(ingestion_request(batch))
        except ValidationError as error:
            errors.print(f"[red]{file} is not in the ingest format:[/red]\n{error}")
            raise typer.Exit(2) from error
    return requests


def _refuse_replacing_one_source_twice(files: list[Path], requests: list[IngestionRequest]) -> None:
    """With --replace each file is its source's complete picture: two files of one
    source would have the second retract what the first just sent. Refused before
    anything is sent (each file is one request here)."""
    seen: dict[str, Path] = {}
    for file, request in zip(files, requests, strict=True):
        source = request.source.value
        if source in seen:
            raise fail(
                f"--replace: {seen[source].name} and {file.name} are both {source}'s "
                "complete picture, so the second would retract the first's edges; merge "
                "them into one file, or ingest them without --replace"
            )
        seen[source] = file


def ingest_summary(
    files: int,
    requests: list[IngestionRequest],
    retracted: int,
    cycles: int,
    warnings: list[str],
) -> str:
    """`Ingested 2 files: 14 services, 16 edges, 1 new cycle, 0 warnings`: each service
    and each (source, target) pair counted once however many batches or files name it
    (the API's answers count per request)."""
    services: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for request in requests:
        services.update(node["service_id"] for node in request.nodes)
        for edge in request.edges:
            services.update((edge["source"], edge["target"]))
            pairs.add((edge["source"], edge["target"]))
    parts = [_counted(len(services), "service"), _counted(len(pairs), "edge")]
    if retracted:
        parts.append(f"{_counted(retracted, 'edge')} retracted")
    parts += [_counted(cycles, "new cycle"), _counted(len(warnings), "warning")]
    return f"Ingested {_counted(files, 'file')}: " + ", ".join(parts)


def _counted(count: int, what: str) -> str:
    return f"{count} {what}" + ("" if count == 1 else "s")


def _ingest_all(requests: list[IngestionRequest], url: str | None, api_key: str | None) -> Any:
    if url is not None:
        # Through the client: a batch refused with 429 or 503 (nothing of it applied) is
        # sent again after the server's Retry-After, noted on stderr (live/cli_fetch.py).
        with remote(url, api_key, timeout=120) as client, refusals_end_the_command(url):
            for request in requests:
                body = request.model_dump(mode="json", exclude_unset=True)
                yield client.ingest(body).model_dump(mode="json")
        return
    yield from asyncio.run(_ingest_locally(requests))


async def _ingest_locally(requests: list[IngestionRequest]) -> list[dict[str, Any]]:
    from slo_engine.infra.db import Database
    from slo_engine.ingestion.service import ingest as ingest_request
    from slo_engine.live.graph import LiveGraph

    database = Database.from_settings(Settings())
    cache = LiveGraph()
    results = []
    try:
        for request in requests:
            async with database.session_scope() as session:
                result = await ingest_request(session, cache, request, CLI_ACTOR)
            results.append(
                {
                    "nodes_upserted": result.nodes_upserted,
                    "edges_upserted": result.edges_upserted,
                    "edges_retracted": result.edges_retracted,
                    "circular_dependencies_detected": [
                        {"alert_id": str(c.alert_id), "cycle_path": c.cycle_path}
                        for c in result.circular_dependencies_detected
                    ],
                    "warnings": result.warnings,
                }
            )
    finally:
        await database.dispose()
    return results


@app.command()
def query(
    service_id: Annotated[str, typer.Argument()],
    direction: Annotated[Direction, typer.Option()] = Direction.DOWNSTREAM,
    depth: Annotated[int, typer.Option(min=1, max=10)] = 3,
    include_stale: Annotated[bool, typer.Option()] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")] = False,
    as_of: AsOfOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Show what a service calls (downstream), what calls it (upstream), or both as two
    labelled trees, breadth first; `↻ <id> (cycle)` marks a call that closes a cycle."""
    from slo_engine.topology.service import SubgraphShape, subgraph_of

    shape = SubgraphShape(direction, depth, include_stale, max_nodes=10_000)
    answer = fetch(
        f"/services/{service_id}/dependencies",
        {"direction": direction.value, "depth": depth, "include_stale": include_stale},
        url,
        api_key,
        lambda snapshot, cache, _: subgraph_of(cache, snapshot, service_id, shape),
        as_of,
    )
    if as_json:
        console.print_json(data=answer)
    else:
        console.print(render_tree(answer, direction, depth))


def render_tree(answer: dict[str, Any], direction: Direction, depth: int) -> RenderableType:
    """The answer as breadth-first trees: the callees ("calls"), the callers ("called
    by"), or both, labelled, with `↻ <id> (cycle)` where a call closes a cycle
    (topology/cli_trees.py)."""
    from slo_engine.topology.cli_trees import render_trees

    return render_trees(answer, direction, depth)


def main() -> None:
    """The `slo-cli` command. Anything a user can cause ends in one line on stderr and
    exit code 1; an error nobody foresaw too, with `--debug` for its traceback."""
    try:
        app()
    except Exception as error:
        if _Run.show_tracebacks:
            raise
        hint = "" if isinstance(error, SloEngineError) else " [dim](--debug shows more)[/dim]"
        errors.print(escape(" ".join(_one_line(error).split())) + hint, soft_wrap=True)
        raise SystemExit(1) from None


def _one_line(error: Exception) -> str:
    if isinstance(error, SloEngineError):
        return error.detail
    # A database driver's error: its first line, without the SQL and parameters.
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


if __name__ == "__main__":
    main()
