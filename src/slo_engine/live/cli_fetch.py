"""What every slo-cli command that can ask a running server shares: the `--url`,
`--api-key` and `--as-of` options, the client of the server (the slo-engine-client
package: retries, the key, problems as exceptions), a GET that ends the command on a
problem, the database's graph now or as it was, and `fetch`, which asks the server or
else answers from the configured database through the same use case."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import httpx
import orjson
import typer
from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from slo_engine import __version__
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import SloEngineError
from slo_engine.infra.storable import QueryTime
from slo_engine.live.as_of import PastGraphs
from slo_engine.live.reads import REVISION_HEADER
from slo_engine.settings import Settings

if TYPE_CHECKING:
    from slo_engine.graph.snapshot import GraphSnapshot
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph
    from slo_engine_client import ProblemError, RetryEvent, SloEngineClient

T = TypeVar("T")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Base URL of a running slo-engine; omit to use the database directly."
    ),
]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="SLO_API_KEY",
        help="API key for --url (or SLO_API_KEY); see `slo-cli api-keys create`.",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Answer from the graph as it was at this time (RFC 3339 with an offset, e.g. "
        "2026-12-01T09:00:00Z): the last revision committed at or before it. Older than "
        "HISTORY_RETENTION_DAYS, or in the future, is refused. See docs/history.md.",
    ),
]

API_PREFIX = "/api/v1"
TIMEOUT_SECONDS = 60
# A 429 or 503 is waited out (after its Retry-After) this many times per request, and
# at most this long in all, before the command ends with the refusal.
MAX_RETRIES = 5
MAX_RETRY_WAIT_SECONDS = 300.0
# A server that could not be reached is tried once more (after half a second or less):
# a mistyped --url fails at once, a server restarting gets a second chance.
TRANSPORT_RETRIES = 1
# The client package is imported only where `--url` needs it (pyproject.toml does not
# name it: it is installed from clients/python, never from a registry).
CLIENT_MISSING = (
    "--url needs the slo-engine-client package: pip install ./clients/python "
    "(make run and make test install it)"
)
# soft_wrap: a refusal stays one line however narrow the terminal, so it can be grepped.
errors = Console(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `message` on stderr and return the exit to raise. One line, whatever line
    breaks a detail holds, so scripts can grep it."""
    errors.print(f"[red]{escape(' '.join(message.split()))}[/red]", soft_wrap=True)
    return typer.Exit(code)


Item = TypeVar("Item", bound="BaseModel")


def print_listing(
    items: Sequence[Item],
    *,
    as_json: bool,
    table: Callable[[Sequence[Item]], Table],
    what: str,
    limit: int,
    more: bool,
) -> None:
    """A list command's output: JSON lines (the API's items) or a table, "No <what>."
    for none, and on stderr whether more than `limit` exist."""
    out = Console()
    if as_json:
        for item in items:
            sys.stdout.write(item.model_dump_json() + "\n")
    elif items:
        out.print(table(items))
    else:
        out.print(f"No {what}.")
    if more:
        errors.print(f"[dim]More {what} follow the first {limit}: raise --limit.[/dim]")


def remote(url: str, api_key: str | None, *, timeout: float = TIMEOUT_SECONDS) -> SloEngineClient:
    """A client of the server at `url` (the slo-engine-client package, clients/python)
    sending `api_key`. A 429 or 503 is waited out after its Retry-After, noted on
    stderr, and sent again, within `MAX_RETRIES` and `MAX_RETRY_WAIT_SECONDS`; then the
    refusal is raised. A failed connection is tried `TRANSPORT_RETRIES` more times.
    Use it as a context manager, inside `refusals_end_the_command`."""
    try:
        from slo_engine_client import RetryPolicy, SloEngineClient
    except ImportError as error:
        raise fail(CLIENT_MISSING) from error
    return SloEngineClient(
        url,
        api_key,
        timeout=timeout,
        retry=RetryPolicy(
            max_retries=MAX_RETRIES,
            max_wait=MAX_RETRY_WAIT_SECONDS,
            transport_retries=TRANSPORT_RETRIES,
        ),
        headers={"User-Agent": f"slo-cli/{__version__}"},
        on_retry=_noted,
    )


def _noted(event: RetryEvent) -> None:
    if event.status is not None:  # a refusal's wait; a failed connection is retried quietly
        errors.print(f"[dim]{event.reason}: retrying in {event.delay:g} s[/dim]")


@contextmanager
def refusals_end_the_command(url: str) -> Iterator[None]:
    """A refusal of the server raised inside ends the command with its one line
    (`problem_line`); a server that could not be reached with `could not reach URL`."""
    try:
        from slo_engine_client import ProblemError, TransportError
    except ImportError as error:
        raise fail(CLIENT_MISSING) from error
    try:
        yield
    except ProblemError as error:
        raise fail(problem_line(error)) from error
    except TransportError as error:
        raise fail(f"could not reach {url}: {error.reason}") from error


def problem_line(error: ProblemError) -> str:
    """`<status>: <detail>` of a refusal, with the details of an RFC 9457 problem's
    `errors` the detail does not already say (a bad parameter's 400 names them only
    there); a body that is no problem document (a proxy's page) is shown as it is."""
    detail = error.detail
    listed = [
        f"{entry.pointer}: {entry.detail}" if entry.pointer else entry.detail
        for entry in error.errors
        if entry.detail not in detail
    ]
    return f"{error.status}: {detail}" + (f" ({'; '.join(listed)})" if listed else "")


def get(url: str, api_key: str | None, path: str, params: dict[str, Any]) -> httpx.Response:
    """GET /api/v1`path` from the server at `url` (parameters that are None left out);
    a refusal, or no answer, ends the command."""
    with remote(url, api_key) as client, refusals_end_the_command(url):
        return client.request("GET", f"{API_PREFIX}{path}", params=params)


_QUERY_TIME: TypeAdapter[datetime] = TypeAdapter(QueryTime)


def read_time(option: str, text: str | None) -> datetime | None:
    """`text` read as the server reads a time query parameter (RFC 3339 with an offset,
    as UTC), so both modes refuse the same times; a malformed one ends the command."""
    if text is None:
        return None
    try:
        return _QUERY_TIME.validate_python(text)
    except ValidationError:
        raise fail(
            f"{option}: {text!r} is not an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00Z"
        ) from None


# Work on the configured database: (the database, a fresh graph cache, settings).
DatabaseWork = Callable[["Database", "LiveGraph", Settings], Awaitable[T]]


def on_database(work: DatabaseWork[T]) -> T:
    """`work` on the configured database (DATABASE_URL or .env); a refusal (a missing
    service, a time beyond the history) ends the command with its detail."""
    try:
        return asyncio.run(_on_database(work))
    except SloEngineError as error:
        raise fail(error.detail) from error


async def _on_database(work: DatabaseWork[T]) -> T:
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph

    settings = Settings()
    database = Database.from_settings(settings)
    try:
        return await work(database, LiveGraph(), settings)
    finally:
        await database.dispose()


async def snapshot_as_of(
    database: Database, cache: LiveGraph, settings: Settings, as_of: datetime | None
) -> GraphSnapshot:
    """The graph now, or as the server's `as_of` reads answer it (live/reads.py
    `graph_read`): the revision committed last at or before the time, from the current
    graph when that is the current revision, else rebuilt from the change log by the
    server's own `PastGraphs`, with its refusals (400 future, 410 beyond the history)."""

    async def current() -> GraphSnapshot:
        return await database.read(lambda session: cache.current(CatalogRepository(session)))

    if as_of is None:
        return await current()
    # One past graph, built once: the process ends after this answer.
    past = PastGraphs(database, kept=1, retention_days=settings.history_retention_days)
    revision = await past.revision_at(as_of)
    latest = await database.read(lambda session: CatalogRepository(session).current_revision())
    # The current graph exactly as it is stored (a rebuilt one has the observed
    # figures last recorded); `snapshot` rebuilds if a write moved it meanwhile.
    return await past.snapshot(revision, await current() if revision == latest else None)


# A use case answering from a snapshot (the graph now or at --as-of), the graph cache
# that lends it worker threads, and settings: (revision, the API's JSON answer).
LocalAnswer = Callable[["GraphSnapshot", "LiveGraph", Settings], Awaitable[tuple[int, bytes]]]


def fetch(
    path: str,
    params: dict[str, Any],
    url: str | None,
    api_key: str | None,
    local: LocalAnswer,
    as_of: str | None = None,
) -> dict[str, Any]:
    """GET /api/v1`path` from the server at `url`, or compute `local` on the configured
    database, from the graph now or as it was at `as_of` (noted on stderr); a problem
    (or a missing service) ends the command with its detail."""
    at = read_time("--as-of", as_of)
    if url is not None:
        past = None if at is None else at.isoformat()
        response = get(url, api_key, path, {**params, "as_of": past})
        revision = response.headers.get(REVISION_HEADER)
        answer: dict[str, Any] = response.json()
    else:

        async def locally(
            database: Database, cache: LiveGraph, settings: Settings
        ) -> tuple[int, bytes]:
            return await local(await snapshot_as_of(database, cache, settings, at), cache, settings)

        number, body = on_database(locally)
        revision, answer = str(number), orjson.loads(body)
    if at is not None:
        errors.print(f"as of {at.isoformat()}: graph revision {revision}")
    return answer
