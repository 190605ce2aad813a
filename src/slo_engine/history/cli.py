"""`slo-cli changes` and `slo-cli diff`: the graph's change feed, and what changed
between two revisions or times.

With `--url` they ask a running server (GET /api/v1/changes, /api/v1/graph/diff);
otherwise they read the configured database directly through the same use cases
(history/service.py `change_page`, `graph_diff`). Either way the output is the same: a
refusal (a bad time, a revision beyond the history kept) is one line on stderr and exit
code 1.
"""

from __future__ import annotations

import asyncio
import enum
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from slo_engine.catalog.change_log import ChangeFilter
from slo_engine.graph.change_log import ChangeType
from slo_engine.history.diff import GraphDiff
from slo_engine.history.routes import DiffFormat, encoded_diff
from slo_engine.history.schemas import ChangeOut, ChangePage
from slo_engine.history.service import change_page, graph_diff
from slo_engine.live.cli_fetch import (
    ApiKeyOption,
    UrlOption,
    errors,
    get,
    on_database,
    read_time,
)

if TYPE_CHECKING:
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph
    from slo_engine.settings import Settings

console = Console()

# The feed's largest page (infra/cursor.py PageLimit): fewest round trips.
MAX_PAGE = 1000
# A page of the feed: (cursor, page size) -> the page.
Page = Callable[[str | None, int], Awaitable[ChangePage]]


class ChangesFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def changes(
    since_revision: Annotated[
        int | None, typer.Option(min=0, help="Only changes of later revisions.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Only changes of revisions committed after this RFC 3339 time."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Only changes of revisions committed at or before this RFC 3339 time."),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(help="Only changes of this service, or of edges from or to it."),
    ] = None,
    change_types: Annotated[
        list[ChangeType] | None,
        typer.Option("--type", help="Only changes of this type; repeat for several."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Print at most this many changes.")] = 100,
    output_format: Annotated[
        ChangesFormat,
        typer.Option(
            "--format",
            "-f",
            help="`table`, or `json`: one change per line, as the API's feed items.",
        ),
    ] = ChangesFormat.TABLE,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """The change feed: every change to the stored graph in revision order, with its
    time, discovery source and actor, the first --limit of them (page after page)."""
    wanted = ChangeFilter(
        since_revision=since_revision, service=service, types=tuple(change_types or ())
    )
    window = read_time("--since", since), read_time("--until", until)
    if url is not None:
        page = _server_pages(url, api_key, wanted, *window)
        items, more = asyncio.run(_followed(page, limit))
    else:
        items, more = on_database(
            lambda database, *_: _followed(_database_pages(database, wanted, *window), limit)
        )
    if output_format is ChangesFormat.JSON:
        for item in items:
            sys.stdout.write(item.model_dump_json() + "\n")
    elif items:
        console.print(_table(items))
    else:
        console.print("No changes.")
    if more:
        errors.print(f"[dim]More changes follow the first {limit}: raise --limit.[/dim]")


async def _followed(page: Page, limit: int) -> tuple[list[ChangeOut], bool]:
    """The first `limit` entries, page after page along the cursor, and whether more
    follow (the feed gives a next cursor only when another entry exists)."""
    items: list[ChangeOut] = []
    cursor: str | None = None
    while True:
        found = await page(cursor, min(limit - len(items), MAX_PAGE))
        items.extend(found.items)
        cursor = found.next_cursor
        if cursor is None or len(items) >= limit:
            return items, cursor is not None


def _server_pages(
    url: str,
    api_key: str | None,
    wanted: ChangeFilter,
    since: datetime | None,
    until: datetime | None,
) -> Page:
    """Pages of GET /api/v1/changes, each read back into the feed's own model, so both
    modes print the same."""
    params: dict[str, Any] = {
        "since_revision": wanted.since_revision,
        "since": None if since is None else since.isoformat(),
        "until": None if until is None else until.isoformat(),
        "service": wanted.service,
        "type": [t.value for t in wanted.types] or None,
    }

    def read(cursor: str | None, size: int) -> ChangePage:
        response = get(url, api_key, "/changes", {**params, "cursor": cursor, "limit": size})
        return ChangePage.model_validate_json(response.content)

    # The blocking GET in a worker thread: one paging loop (`_followed`) for both modes.
    return lambda cursor, size: asyncio.to_thread(read, cursor, size)


def _database_pages(
    database: Database, wanted: ChangeFilter, since: datetime | None, until: datetime | None
) -> Page:
    """Pages of the change log, as GET /api/v1/changes reads them."""

    async def read(cursor: str | None, size: int) -> ChangePage:
        items, next_cursor = await database.read(
            lambda session: change_page(session, wanted, since, until, cursor, size)
        )
        return ChangePage(items=[ChangeOut.of(e) for e in items], next_cursor=next_cursor)

    return read


def _table(items: list[ChangeOut]) -> Table:
    # On a narrow terminal the subject and the actor wrap; the time and type stay whole.
    fixed = [Column(name, no_wrap=True) for name in ("rev", "time (UTC)", "type")]
    table = Table(*fixed, "what", "source", "actor", box=box.SIMPLE_HEAD, show_edge=False)
    for item in items:
        # Actors are API key names: free text, shown as written, never read as markup.
        table.add_row(
            str(item.revision),
            f"{item.changed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            item.type.value,
            escape(_subject(item)),
            item.discovery_source or "",
            escape(item.actor or ""),
        )
    return table


def _subject(item: ChangeOut) -> str:
    """What changed: a service, an edge `caller → callee`, or a cycle's path."""
    if item.target_id is not None:
        return f"{item.service_id} → {item.target_id}"
    path = (item.state or {}).get("cycle_path")
    if isinstance(path, list) and path:
        return " → ".join(str(member) for member in path)
    return item.service_id


def diff(
    start: Annotated[
        str,
        typer.Option(
            "--from",
            help="A graph revision (as X-Graph-Revision names them) or an RFC 3339 time "
            "with an offset (the last revision committed at or before it).",
        ),
    ],
    end: Annotated[
        str | None,
        typer.Option("--to", help="Like --from. Default: the current revision."),
    ] = None,
    output_format: Annotated[
        DiffFormat,
        typer.Option("--format", "-f", help="`markdown` (a readable summary) or `json`."),
    ] = DiffFormat.MARKDOWN,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """What changed in the graph between two revisions or times: services and edge
    reports added, removed and changed (old and new values), cycles opened and resolved."""
    if url is not None:
        params = {"from": start, "to": end, "format": output_format.value}
        text = get(url, api_key, "/graph/diff", params).text
    else:

        async def locally(database: Database, _: LiveGraph, settings: Settings) -> GraphDiff:
            # The same clock and retention rule as the route: times are this machine's.
            retention = timedelta(days=settings.history_retention_days)
            return await graph_diff(
                database, start, end, now=datetime.now(UTC), retention=retention
            )

        found = on_database(locally)
        text = encoded_diff(found, output_format).decode()
    # Written as it is: Markdown is not Rich markup.
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
