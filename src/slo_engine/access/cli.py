"""`slo-cli api-keys create|list|revoke`: key management on the configured database.

These work on the database directly (DATABASE_URL or .env), so the first key can be
made before the server ever runs; a revocation reaches every running replica within
LIVE_GRAPH_BACKSTOP_SECONDS (at once when PostgreSQL's notification arrives).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.access import service
from slo_engine.access.keys import Scope
from slo_engine.access.schemas import ApiKeyCreated, ApiKeyList, ApiKeyOut
from slo_engine.errors import SloEngineError
from slo_engine.infra.db import Database
from slo_engine.live.cli_fetch import fail
from slo_engine.settings import Settings

app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database.from_settings(Settings())
        try:
            async with database.session_scope() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except SloEngineError as error:
        raise fail(error.detail) from error


@app.command()
def create(
    name: Annotated[str, typer.Option(help="A unique name, e.g. backstage-plugin.")],
    scope: Annotated[
        list[Scope] | None,
        typer.Option(help="read, write or admin; repeat for several. Default: read."),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option(help="Lifetime like 90d, 12h, 2w; default: no expiry.")
    ] = None,
    rate_limit_ingestion: Annotated[
        str | None, typer.Option(help="This key's own ingestion limit, e.g. 100/minute.")
    ] = None,
    rate_limit_query: Annotated[
        str | None, typer.Option(help="This key's own query limit, e.g. 600/minute.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Create a key and print it. It is shown this once: only its digest is stored."""
    scopes = scope or [Scope.READ]
    try:
        expires_at = datetime.now(UTC) + service.parse_duration(expires_in) if expires_in else None
    except SloEngineError as error:
        raise fail(error.detail, code=2) from error
    key, plaintext = _run(
        lambda session: service.create_key(
            session,
            name=name,
            scopes=scopes,
            expires_at=expires_at,
            rate_limit_ingestion=rate_limit_ingestion,
            rate_limit_query=rate_limit_query,
        )
    )
    if as_json:
        created = ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=plaintext)
        typer.echo(created.model_dump_json(indent=2))
        return
    held = ", ".join(sorted(str(scope) for scope in key.scopes))
    console.print(f"Created API key [bold]{escape(key.name)}[/bold] with the scopes {held}.")
    console.print("Store it now; it is not shown again:\n")
    console.print(plaintext, soft_wrap=True, highlight=False)


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the keys (never their secrets)."""
    keys = _run(service.list_keys)
    if as_json:
        listed = ApiKeyList(items=[ApiKeyOut.of(k) for k in keys])
        typer.echo(listed.model_dump_json(indent=2))
        return
    table = Table("name", "key id", "scopes", "expires", "revoked", "last used")
    for key in keys:
        table.add_row(
            key.name,
            key.key_id,
            " ".join(sorted(key.scopes)),
            _when(key.expires_at),
            _when(key.revoked_at),
            _when(key.last_used_at),
        )
    console.print(table)


@app.command()
def revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: every replica refuses it from its next request on."""
    key = _run(lambda session: service.revoke_key(session, name))
    console.print(f"Revoked API key [bold]{key.name}[/bold] at {_when(key.revoked_at)}.")


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
