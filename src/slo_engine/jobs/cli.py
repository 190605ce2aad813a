"""`slo-cli jobs list` and `slo-cli jobs run NAME`."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console

from slo_engine.discovery.wiring import build_discovery
from slo_engine.errors import SloEngineError
from slo_engine.infra.db import Database
from slo_engine.jobs.runner import JobRunner
from slo_engine.jobs.wiring import build_jobs
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings

jobs_app = typer.Typer(help="Scheduled jobs.", no_args_is_help=True)
errors = Console(stderr=True)


@jobs_app.command("list")
def list_jobs() -> None:
    """The jobs this configuration schedules, with their intervals."""
    settings = Settings()
    discovery = build_discovery(settings)
    database = Database.from_settings(settings)  # not connected: the jobs are not run
    for job in build_jobs(settings, database, LiveGraph(), discovery):
        typer.echo(f"{job.name}\tevery {job.interval_seconds // 60} min")
    asyncio.run(_close(discovery, database))


async def _close(discovery: Any, database: Database) -> None:
    await discovery.aclose()
    await database.dispose()


@jobs_app.command("run")
def run_job(name: Annotated[str, typer.Argument(help="A name from `slo-cli jobs list`.")]) -> None:
    """Run one job now (outside its schedule) and print its summary."""

    async def run() -> str:
        settings = Settings()
        database = Database.from_settings(settings)
        discovery = build_discovery(settings)
        try:
            runner = JobRunner(database, build_jobs(settings, database, LiveGraph(), discovery))
            if name not in runner.jobs:
                raise SloEngineError(f"no job named {name!r}: {', '.join(runner.jobs)}")
            return await runner.run_now(name)
        finally:
            await discovery.aclose()
            await database.dispose()

    try:
        typer.echo(asyncio.run(run()))
    except SloEngineError as error:
        errors.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(1) from error
