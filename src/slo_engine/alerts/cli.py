"""`slo-cli alerts list`: the circular-dependency alerts, as
GET /api/v1/circular-dependencies lists them (newest first).

With `--url` it asks a running server; otherwise it reads the configured database
through the same use case the route uses (alerts/service.py `list_alerts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from slo_engine.alerts import service
from slo_engine.alerts.schemas import AlertOut, AlertPage
from slo_engine.graph.model import AlertStatus
from slo_engine.live.cli_fetch import ApiKeyOption, UrlOption, get, on_database, print_listing

app = typer.Typer(help="Circular-dependency alerts: list.", no_args_is_help=True)
# The API's largest page: one request or one read.
MAX_LISTED = 1000


@app.command("list")
def list_alerts(
    status: Annotated[
        AlertStatus | None,
        typer.Option(help="Only alerts in this status (`open`: what needs a look)."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_LISTED, help="List at most this many.")
    ] = 100,
    as_json: Annotated[
        bool, typer.Option("--json", help="One alert per line, as the API's items.")
    ] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """The alerts, newest first: each one cycle of services calling each other."""
    if url is not None:
        params = {"status": status.value if status else None, "limit": limit}
        page = AlertPage.model_validate(get(url, api_key, "/circular-dependencies", params).json())
        items, more = page.items, page.next_cursor is not None
    else:
        found = on_database(
            lambda database, *_: database.read(
                lambda session: service.list_alerts(session, status, None, limit + 1)
            )
        )
        items, more = [AlertOut.of(alert) for alert in found[:limit]], len(found) > limit
    print_listing(items, as_json=as_json, table=_table, what="alerts", limit=limit, more=more)


def _table(items: Sequence[AlertOut]) -> Table:
    table = Table("alert", "status", "cycle", "first detected", box=box.SIMPLE_HEAD)
    for item in items:
        table.add_row(
            str(item.alert_id),
            item.status.value,
            escape(" → ".join(item.cycle_path)),
            item.first_detected_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    return table
