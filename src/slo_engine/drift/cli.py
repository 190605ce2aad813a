"""slo-cli drift: where declarations and traffic disagree, as a table, the API's JSON, a
Backstage patch or a manual ingest file.

With `--url` it asks a running server; otherwise it reads the configured database
directly, through the same use cases as the HTTP API.
"""

from __future__ import annotations

import enum
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from slo_engine.live.cli_fetch import (
    ApiKeyOption,
    UrlOption,
    errors,
    fail,
    fetch,
    get,
    on_database,
    snapshot_as_of,
)

if TYPE_CHECKING:
    from slo_engine.graph.snapshot import GraphSnapshot
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph
    from slo_engine.settings import Settings

console = Console()
# A page of the API holds at most this many items; --limit may ask for more: the
# command follows `next_cursor` until it has them.
_PAGE = 1000
MAX_LISTED = 100_000
_KIND_COLOURS = {"declared_only": "yellow", "observed_only": "cyan", "mismatch": "red"}


class DriftFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    BACKSTAGE_PATCH = "backstage-patch"
    INGEST = "ingest"


def drift(
    service_id: Annotated[
        str | None,
        typer.Argument(
            help="Only the edges this service calls or is called by (its items, or with "
            "--format backstage-patch|ingest its suggestions)."
        ),
    ] = None,
    output: Annotated[
        DriftFormat,
        typer.Option(
            "--format",
            help="table; json (the API's answer); backstage-patch (per Backstage entity, "
            "the dependsOn entries to add and remove, YAML); ingest (a manual ingest file "
            "declaring the edges only traffic shows).",
        ),
    ] = DriftFormat.TABLE,
    kinds: Annotated[
        str | None,
        typer.Option(
            "--drift",
            help="Only these kinds, comma-separated: declared_only, observed_only, mismatch.",
        ),
    ] = None,
    window_hours: Annotated[
        int, typer.Option(min=1, max=24 * 90, help="Observations count within this many hours.")
    ] = 168,
    limit: Annotated[
        int,
        typer.Option(
            min=1,
            max=MAX_LISTED,
            help=f"List at most this many (1 to {MAX_LISTED:,}): the pages of the API "
            f"({_PAGE:,} items each at most) are followed until there are this many.",
        ),
    ] = 100,
    include_external: Annotated[
        bool,
        typer.Option(
            "--include-external", help="Also judge edges with an external end (docs/drift.md)."
        ),
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Edges declared and not seen in traffic although the caller is, seen and declared by
    nobody, or both with a field that differs (docs/drift.md)."""
    from slo_engine.graph.drift import Drift

    names = [name for name in (kinds or "").split(",") if name]
    unknown = [name for name in names if name not in {kind.value for kind in Drift}]
    if unknown:
        raise fail(f"--drift: {', '.join(unknown)} is not a kind of drift", code=2)
    if output in (DriftFormat.BACKSTAGE_PATCH, DriftFormat.INGEST):
        if kinds is not None:
            raise fail(
                f"--format {output}: the suggestions name declared_only and observed_only "
                "edges; leave out --drift",
                code=2,
            )
        sys.stdout.write(
            _suggestions(output.value, service_id, window_hours, include_external, url, api_key)
        )
        return
    params = {"window_hours": window_hours, "drift": kinds, "include_external": include_external}
    answer = _pages(service_id, params, limit, url, api_key)
    if output is DriftFormat.JSON:
        console.print_json(data=answer)
    else:
        _print_table(answer, service_id)
    if answer["next_cursor"] is not None:
        errors.print(f"[dim]More items follow the first {limit}: raise --limit.[/dim]")


def _merged(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """One answer of the pages followed: the first page's figures, every item, the last
    page's `next_cursor`."""
    return {
        **pages[0],
        "items": [item for page in pages for item in page["items"]],
        "next_cursor": pages[-1]["next_cursor"],
    }


def _pages(
    service_id: str | None,
    params: dict[str, Any],
    limit: int,
    url: str | None,
    api_key: str | None,
) -> dict[str, Any]:
    """The first `limit` items, following `next_cursor` page by page (on the server, or
    on one load of the database's graph)."""
    from slo_engine.drift import service
    from slo_engine.topology.service import service_in

    path = "/drift" if service_id is None else f"/services/{service_id}/drift"
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    listed = 0

    def more() -> bool:
        return not pages or (pages[-1]["next_cursor"] is not None and listed < limit)

    if url is not None:
        while more():
            size = min(_PAGE, limit - listed)
            page: dict[str, Any] = get(
                url, api_key, path, {**params, "limit": size, "cursor": cursor}
            ).json()
            pages.append(page)
            listed += len(page["items"])
            cursor = page["next_cursor"]
        return _merged(pages)

    async def locally(
        snapshot: GraphSnapshot, cache: LiveGraph, _settings: Settings
    ) -> tuple[int, bytes]:
        nonlocal cursor, listed
        found = None if service_id is None else service_in(snapshot, service_id)
        while more():
            request = service.PageRequest(
                timedelta(hours=params["window_hours"]),
                service.parse_kinds(params["drift"]),
                service.cursor_after(cursor),
                min(_PAGE, limit - listed),
                params["include_external"],
            )
            if found is None:
                _, body = await service.drift_of_graph(cache, snapshot, request)
            else:
                _, body = await service.drift_of_service(cache, snapshot, found, request)
            pages.append(orjson.loads(body))
            listed += len(pages[-1]["items"])
            cursor = pages[-1]["next_cursor"]
        return snapshot.revision, orjson.dumps(_merged(pages))

    return fetch(path, params, None, api_key, locally)


def _suggestions(
    suggestion_format: str,
    service_id: str | None,
    window_hours: int,
    include_external: bool,
    url: str | None,
    api_key: str | None,
) -> str:
    from slo_engine.drift import service
    from slo_engine.topology.service import service_in

    if url is not None:
        params = {
            "format": suggestion_format,
            "window_hours": window_hours,
            "service_id": service_id,
            "include_external": include_external,
        }
        response = get(url, api_key, "/drift/suggestions", params)
        truncated = response.headers.get(service.TRUNCATED_HEADER) == "true"
        text = response.text
    else:

        async def locally(database: Database, cache: LiveGraph, settings: Settings) -> Any:
            snapshot = await snapshot_as_of(database, cache, settings, None)
            found = None if service_id is None else service_in(snapshot, service_id)
            request = service.PageRequest(
                timedelta(hours=window_hours), frozenset(), None, 1, include_external
            )
            return await service.suggestions_of(cache, snapshot, request, suggestion_format, found)

        found = on_database(locally)
        truncated, text = found.truncated, found.body.decode()
    if truncated:
        errors.print(
            f"[dim]Only the first {service.MAX_SUGGESTED_EDGES:,} drifting edges are "
            "suggested.[/dim]"
        )
    return text if text.endswith("\n") else text + "\n"


def _print_table(answer: dict[str, Any], service_id: str | None) -> None:
    totals = answer["totals"]
    scope = f"{service_id}'s edges" if service_id else "the graph"
    console.print(
        f"Drift of {escape(scope)} over {answer['window_hours']} h: "
        f"{totals['declared_only']} declared only, {totals['observed_only']} observed only, "
        f"{totals['mismatch']} mismatched."
    )
    if not answer["items"]:
        return
    table = Table("caller", "callee", "drift", "confidence", "because")
    for item in answer["items"]:
        colour = _KIND_COLOURS[item["drift"]]
        table.add_row(
            item["source"],
            item["target"],
            f"[{colour}]{item['drift']}[/{colour}]",
            f"{item['confidence']:.2f}",
            escape(_because(item)),
        )
    console.print(table)


def _because(item: dict[str, Any]) -> str:
    evidence = item["evidence"]
    if item["drift"] == "mismatch":
        return (
            f"{item['field']}: declared {item['declared']} "
            f"({', '.join(evidence['declared_by'])}), observed {item['observed']} "
            f"({', '.join(evidence['observed_by'])})"
        )
    if item["drift"] == "observed_only":
        rate = evidence["request_rate"]
        shown = f" at {rate:g} req/s" if rate is not None else ""
        return f"seen by {', '.join(evidence['observed_by'])}{shown}; declared by nobody"
    coverage = evidence["caller_coverage"] or {}
    return (
        f"declared by {', '.join(evidence['declared_by'])}; not seen although "
        f"{', '.join(coverage.get('observed_by', []))} sees the caller"
    )
