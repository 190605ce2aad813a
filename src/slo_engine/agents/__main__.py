"""`python -m slo_engine.agents --url URL --api-key KEY`: `slo-cli mcp` without the rest
of the CLI (what an agent's client may start, and what the tests start)."""

from __future__ import annotations

import typer

from slo_engine.agents.cli import mcp

if __name__ == "__main__":
    typer.run(mcp)
