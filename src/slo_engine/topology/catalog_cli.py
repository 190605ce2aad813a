"""`slo-cli services list`: the services, as GET /api/v1/services lists them.

With `--url` it asks a running server; otherwise it reads the configured database
through the same use case the route uses (catalog/service.py `list_services`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from slo_engine.catalog import service
from slo_engine.catalog.repository import ServiceFilter
from slo_engine.graph.model import ServiceCriticality
from slo_engine.live.cli_fetch import ApiKeyOption, UrlOption, get, on_database, print_listing
from slo_engine.topology.catalog_schemas import ServiceOut, ServicePage

# The API's largest page: one request or one read.
MAX_LISTED = 1000


def list_services(
    team: Annotated[str | None, typer.Option(help="Only this team's services.")] = None,
    criticality: Annotated[
        ServiceCriticality | None, typer.Option(help="Only services of this criticality.")
    ] = None,
    search: Annotated[
        str | None, typer.Option(help="Only ids or display names containing this text.")
    ] = None,
    discovered: Annotated[
        bool | None,
        typer.Option(
            "--discovered/--declared",
            help="Only services known from edges alone / only declared ones. Default: both.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_LISTED, help="List at most this many.")
    ] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="One service per line, as the API's items.")
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """The services, ordered by id, with their team and criticality."""
    if url is not None:
        params = {
            "team": team,
            "criticality": criticality.value if criticality else None,
            "search": search,
            "discovered": None if discovered is None else str(discovered).lower(),
            "limit": limit,
        }
        page = ServicePage.model_validate(get(url, api_key, "/services", params).json())
    else:
        wanted = ServiceFilter(team, criticality, discovered, search)
        found, stale_only, next_cursor = on_database(
            lambda database, *_: database.read(
                lambda session: service.list_services(session, wanted, None, limit)
            )
        )
        page = ServicePage(
            items=[ServiceOut.of(s, s.service_id in stale_only) for s in found],
            next_cursor=next_cursor,
        )
    more = page.next_cursor is not None
    print_listing(
        page.items, as_json=as_json, table=_table, what="services", limit=limit, more=more
    )


def _table(items: Sequence[ServiceOut]) -> Table:
    table = Table("service", "team", "criticality", "known from", box=box.SIMPLE_HEAD)
    for item in items:
        known = "edges only" if item.discovered else "declared"
        if item.only_stale_edges:
            known += ", stale edges only"
        table.add_row(
            escape(item.service_id),
            escape(item.team or ""),
            item.criticality.value if item.criticality else "",
            known,
        )
    return table
