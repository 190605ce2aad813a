"""`slo-cli discover SOURCE`: run one source once, or dry-run it."""

from __future__ import annotations

import asyncio
import enum
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from slo_engine.discovery import service
from slo_engine.discovery.wiring import build_discovery
from slo_engine.errors import SloEngineError
from slo_engine.infra.db import Database
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings

errors = Console(stderr=True)


class SourceName(enum.StrEnum):
    OTEL = "otel"
    MESH = "mesh"
    JAEGER = "jaeger"
    BACKSTAGE = "backstage"
    KUBERNETES = "kubernetes"


_HINT = {
    "otel": "set PROMETHEUS_URL or pass --prometheus-url",
    "mesh": "set PROMETHEUS_URL or pass --prometheus-url",
    "jaeger": "set JAEGER_URL or pass --jaeger-url",
    "backstage": "pass --path (descriptors) and/or --backstage-url, or set BACKSTAGE_*",
    "kubernetes": "pass --kubernetes-url or set KUBERNETES_API_URL (outside a cluster)",
}


def discover(
    source: Annotated[
        SourceName, typer.Argument(help="otel, mesh, jaeger, backstage or kubernetes")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be ingested; store nothing.")
    ] = False,
    prometheus_url: Annotated[str | None, typer.Option(help="Default: PROMETHEUS_URL.")] = None,
    jaeger_url: Annotated[str | None, typer.Option(help="Default: JAEGER_URL.")] = None,
    backstage_url: Annotated[str | None, typer.Option(help="Default: BACKSTAGE_URL.")] = None,
    kubernetes_url: Annotated[
        str | None, typer.Option(help="Default: KUBERNETES_API_URL, else in-cluster.")
    ] = None,
    path: Annotated[
        str | None, typer.Option(help="catalog-info.yaml file or directory (backstage).")
    ] = None,
    window_minutes: Annotated[
        int | None, typer.Option(min=1, help="How far back to look (default: the interval).")
    ] = None,
) -> None:
    """Ask one source what it sees now and ingest it (the same path as the API).

    Credentials come from the settings (PROMETHEUS_BEARER_TOKEN, JAEGER_CA_FILE, ...:
    docs/discovery.md "Authentication"), whichever URL is used.
    """
    overrides: dict[str, Any] = {}
    for key, value in (
        ("prometheus_url", prometheus_url),
        ("jaeger_url", jaeger_url),
        ("backstage_url", backstage_url),
        ("kubernetes_api_url", kubernetes_url),
        ("backstage_catalog_path", path),
    ):
        if value is not None:
            overrides[key] = value
    if window_minutes is not None:
        for key in (
            "otel_graph_ingest_interval_minutes",
            "service_mesh_ingest_interval_minutes",
            "jaeger_ingest_interval_minutes",
        ):
            overrides[key] = window_minutes
    try:
        settings = Settings(**overrides)
    except ValidationError as error:  # names the setting, never echoes its value
        typer.echo(f"{source}: invalid settings: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        output = asyncio.run(_discover(settings, str(source), dry_run))
    except SloEngineError as error:
        errors.print(f"[red]{source} failed; nothing was stored:[/red] {error.detail}")
        raise typer.Exit(1) from error
    typer.echo(output)


async def _discover(settings: Settings, name: str, dry_run: bool) -> str:
    try:
        discovery = build_discovery(settings, only=name)
    except ValueError as error:  # an unusable CA or client certificate
        raise SloEngineError(str(error)) from None
    source = discovery.sources.get(name)
    if source is None:
        raise SloEngineError(f"{name} is not configured: {_HINT[name]}")
    database = Database.from_settings(settings)
    try:
        run = await service.run_source(
            database, LiveGraph(), source, datetime.now(UTC), dry_run=dry_run
        )
    finally:
        await discovery.aclose()
        await database.dispose()
    if dry_run:
        request = run.discovered.request.model_dump_json(indent=2, exclude_none=True)
        notes = "".join(f"\n# warning: {w}" for w in run.discovered.warnings)
        return request + notes
    assert run.result is not None
    return (
        f"{name}: {run.result.nodes_upserted} services and {run.result.edges_upserted} edges "
        f"ingested, {len(run.result.circular_dependencies_detected)} new cycles, "
        f"{len(run.discovered.warnings)} warnings"
    )
