"""What every slo-cli command that can ask a running server shares: the `--url` and
`--api-key` options, the header that carries the key, and `fetch`, which asks the
server or else answers from the configured database through the same use case."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import orjson
import typer
from rich.console import Console
from rich.markup import escape

from slo_engine.errors import SloEngineError
from slo_engine.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from slo_engine.live.graph import LiveGraph

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


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The Authorization header for `api_key` (none without a key)."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


# A use case answering from the database: (session, a fresh graph cache, settings) -> JSON.
LocalAnswer = Callable[["AsyncSession", "LiveGraph", Settings], Awaitable[bytes]]
errors = Console(stderr=True)


def fetch(
    path: str, params: dict[str, Any], url: str | None, api_key: str | None, local: LocalAnswer
) -> dict[str, Any]:
    """GET /api/v1`path` from the server at `url`, or compute `local` on the configured
    database; a problem (or a missing service) ends the command with its detail."""
    if url is not None:
        response = httpx.get(
            f"{url.rstrip('/')}/api/v1{path}",
            params=params,
            headers=auth_headers(api_key),
            timeout=60,
        )
        if response.status_code != 200:
            errors.print(f"[red]{response.status_code}[/red] {escape(response.text)}")
            raise typer.Exit(1)
        remote: dict[str, Any] = response.json()
        return remote
    try:
        body = asyncio.run(_locally(local))
    except SloEngineError as error:
        errors.print(f"[red]{escape(error.detail)}[/red]")
        raise typer.Exit(1) from error
    answer: dict[str, Any] = orjson.loads(body)
    return answer


async def _locally(local: LocalAnswer) -> bytes:
    from slo_engine.infra.db import Database
    from slo_engine.live.graph import LiveGraph

    settings = Settings()
    database = Database.from_settings(settings)
    try:
        async with database.session_scope() as session:
            return await local(session, LiveGraph(), settings)
    finally:
        await database.dispose()
