"""slo-cli export (in progress)."""

from __future__ import annotations

import typer


def export() -> None:
    """Export the graph (in progress)."""
    raise typer.Exit(1)
