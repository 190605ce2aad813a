"""The MCP tools over stdio (`slo-cli mcp`): a process an agent's client starts, asking
a running slo-engine's HTTP API with an API key.

The tools go through the server's HTTP API, not the database, so the server's access
check, scopes and rate limits apply to the agent as to any client, and the process
needs no database settings. stdout carries the MCP protocol only: logs go to stderr.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
from starlette.requests import Request

from slo_engine import __version__
from slo_engine.agents.api import TIMEOUT_SECONDS
from slo_engine.agents.tools import build_server
from slo_engine.observability.logging import configure_logging


def run_stdio(url: str, api_key: str | None) -> None:
    """Serve the tools on stdin/stdout until the client closes stdin, asking the
    slo-engine at `url` with `api_key` (sent as `Authorization: Bearer`)."""
    # Warnings and worse, on stderr (stdout is the protocol's): JSON lines, as the
    # server's, in the log file a client keeps; readable lines on a terminal.
    configure_logging("WARNING")
    anyio.run(_serve, url, api_key)


async def _serve(url: str, api_key: str | None) -> None:
    headers = {"User-Agent": f"slo-engine-mcp/{__version__}"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    async with httpx.AsyncClient(
        base_url=url.rstrip("/"), headers=headers, timeout=TIMEOUT_SECONDS
    ) as http:

        @asynccontextmanager
        async def remote(_: Request | None) -> AsyncIterator[httpx.AsyncClient]:
            yield http  # one pooled client for every call of the process

        await build_server(remote).run_stdio_async()
