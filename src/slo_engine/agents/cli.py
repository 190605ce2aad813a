"""slo-cli mcp: the MCP tools over stdio, for an AI agent's client to start."""

from __future__ import annotations

from typing import Annotated

import typer

# The server `slo-cli serve` starts by default (API_HOST, API_PORT).
DEFAULT_URL = "http://127.0.0.1:8000"


def mcp(
    url: Annotated[
        str,
        typer.Option(
            "--url",
            envvar="SLO_ENGINE_URL",
            help="Base URL of the running slo-engine the tools ask.",
        ),
    ] = DEFAULT_URL,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar=["SLO_ENGINE_API_KEY", "SLO_API_KEY"],
            help="API key (read scope is enough), sent as Authorization: Bearer; or "
            "SLO_ENGINE_API_KEY (SLO_API_KEY, as the other commands, also works).",
        ),
    ] = None,
) -> None:
    """Serve the MCP tools (get_dependencies, get_impact, get_availability_ceiling,
    list_cycles, search_services, what_changed) on stdin/stdout for an AI agent's
    client; they ask the slo-engine at --url. See docs/agents.md."""
    # Here, not at the top: the MCP SDK is loaded only by this command, not by every
    # slo-cli start.
    from slo_engine.agents.stdio import run_stdio

    run_stdio(url, api_key)
