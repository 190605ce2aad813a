"""What every slo-cli command that can ask a running server shares: the `--url` and
`--api-key` options and the header that carries the key."""

from __future__ import annotations

from typing import Annotated

import typer

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
