"""`slo-cli retract` and `slo-cli services delete`: take an edge report back, or delete a
service.

With `--url` they send the HTTP API's DELETE to a running server; otherwise they write
to the configured database directly (DATABASE_URL or .env) through the same use cases,
in one transaction. Either way the answer is the API's JSON, and a refusal (nothing to
retract, a service still named by edges) is a short message on stderr and exit code 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from slo_engine.errors import ConflictError, SloEngineError
from slo_engine.graph.model import DiscoverySource
from slo_engine.ingestion import retraction
from slo_engine.ingestion.retraction import RetractionResult
from slo_engine.ingestion.schemas import RetractionResponse
from slo_engine.live.cli_fetch import ApiKeyOption, UrlOption, remote
from slo_engine.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from slo_engine.live.graph import LiveGraph
    from slo_engine_client import SloEngineClient

# Who the change log says made a write through the CLI on the database directly.
CLI_ACTOR = "cli"
TIMEOUT_SECONDS = 120
# What a 409 means on the command line: the API's detail names the query parameter.
CASCADE_HINT = "Pass --cascade to retract these edges together with the service."

services_app = typer.Typer(help="Services: list, delete.", no_args_is_help=True)
console = Console()
# soft_wrap: a refusal stays one line however narrow the terminal, so it can be grepped.
errors = Console(stderr=True, soft_wrap=True)

# A retraction use case on one transaction's session and a graph cache.
Retraction = Callable[["AsyncSession", "LiveGraph"], Awaitable[RetractionResult]]


def retract(
    source: Annotated[str, typer.Argument(help="The calling service of the edge.")],
    target: Annotated[str, typer.Argument(help="The service it calls.")],
    discovery_source: Annotated[
        DiscoverySource | None,
        typer.Option(
            "--discovery-source",
            help="The source that no longer reports the edge. Default: every declared "
            "source (manual, backstage); observed edges go stale on their own.",
        ),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Retract an edge report: SOURCE -> TARGET is no longer reported.

    The edge leaves the graph when no source reports it any more; the cycle alerts it
    closed resolve."""
    if url is not None:
        sent_by = None if discovery_source is None else discovery_source.value
        answer = _deleted_remotely(
            url,
            api_key,
            lambda client: client.retract(source, target, discovery_source=sent_by),
        )
    else:
        answer = _on_database(
            lambda session, cache: retraction.retract_edge(
                session, cache, source, target, discovery_source, CLI_ACTOR
            )
        )
    console.print_json(data=answer)


@services_app.command("delete")
def delete_service(
    service_id: Annotated[str, typer.Argument(help="The service id.")],
    cascade: Annotated[
        bool,
        typer.Option(
            "--cascade",
            help="Also retract, in the same transaction, every edge report that names it.",
        ),
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Delete a service (with --url, an admin key).

    Refused, listing the edges, while an edge report still names it, unless --cascade."""
    if url is not None:
        answer = _deleted_remotely(
            url, api_key, lambda client: client.delete_service(service_id, cascade=cascade)
        )
    else:
        answer = _on_database(
            lambda session, cache: retraction.delete_service(
                session, cache, service_id, cascade, CLI_ACTOR
            )
        )
    console.print_json(data=answer)


def _fail(headline: str, listed: list[str], conflict: bool) -> typer.Exit:
    errors.print(f"[red]{escape(headline)}[/red]")
    for detail in listed:
        errors.print(f"  {escape(detail)}", highlight=False)
    if conflict and listed:
        errors.print(CASCADE_HINT, highlight=False)
    return typer.Exit(1)


# ------------------------------------------------------------------ --url


def _deleted_remotely(
    url: str, api_key: str | None, delete: Callable[[SloEngineClient], BaseModel]
) -> dict[str, Any]:
    """The API's answer to the DELETE `delete` sends through a client of the server at
    `url`; a refusal ends the command with its detail and the details it lists."""
    client = remote(url, api_key, timeout=TIMEOUT_SECONDS)  # ends the command if missing
    from slo_engine_client import ProblemError, TransportError

    try:
        with client:
            answer: dict[str, Any] = delete(client).model_dump(mode="json")
    except TransportError as error:
        raise _fail(f"could not reach {url}: {error.reason}", [], False) from error
    except ProblemError as error:
        listed = [entry.detail for entry in error.errors]
        raise _fail(f"{error.status}: {error.detail}", listed, error.status == 409) from error
    return answer


# ------------------------------------------------------------------ on the database


def _on_database(work: Retraction) -> dict[str, Any]:
    try:
        result = asyncio.run(_in_one_transaction(work))
    except SloEngineError as error:
        listed = [str(entry.get("detail", entry)) for entry in error.errors or []]
        raise _fail(error.detail, listed, isinstance(error, ConflictError)) from error
    return _answer(result)


async def _in_one_transaction(work: Retraction) -> RetractionResult:
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph

    database = Database.from_settings(Settings())
    # No database behind it: it loads the graph once, inside the transaction, for the
    # write; other processes' live graphs pick the change up from the database.
    cache = LiveGraph()
    try:
        return await database.transaction(lambda session: work(session, cache))
    finally:
        await database.dispose()


def _answer(result: RetractionResult) -> dict[str, Any]:
    """The JSON the HTTP API answers for the same retraction."""
    return RetractionResponse.of(result).model_dump(mode="json")
