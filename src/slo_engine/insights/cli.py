"""slo-cli impact and slo-cli availability (in progress)."""

from __future__ import annotations

import typer


def impact() -> None:
    """Blast radius (in progress)."""
    raise typer.Exit(1)


def availability() -> None:
    """Availability ceiling (in progress)."""
    raise typer.Exit(1)
