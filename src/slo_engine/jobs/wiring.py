"""Which jobs the settings schedule: each discovery source at its interval, the
aliases file's sync, the staleness sweep, the full cycle scan and the history prune.
The work of each job lives with its feature (discovery/service.py,
aliases/file_form.py, ingestion/staleness.py, alerts/scan.py, history/retention.py);
this module only says when it runs."""

from __future__ import annotations

from datetime import timedelta

from slo_engine.alerts.scan import scan_cycles
from slo_engine.aliases.file_form import merge_line, sync_from_file
from slo_engine.discovery.service import run_source
from slo_engine.discovery.wiring import Discovery
from slo_engine.history.retention import prune_history
from slo_engine.infra.db import Database
from slo_engine.ingestion.staleness import mark_stale_edges
from slo_engine.jobs.runner import Job
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from slo_engine.webhooks.service import prune_deliveries


def build_jobs(
    settings: Settings, database: Database, cache: LiveGraph, discovery: Discovery
) -> list[Job]:
    jobs: list[Job] = []
    for name, source in discovery.sources.items():

        async def run(now, source=source):  # type: ignore[no-untyped-def]
            outcome = await run_source(database, cache, source, now)
            result = outcome.result
            assert result is not None
            return f"{result.nodes_upserted} services, {result.edges_upserted} edges"

        jobs.append(Job(f"discover-{name}", source.interval_minutes * 60, run))

    async def stale(now):  # type: ignore[no-untyped-def]
        threshold = timedelta(hours=settings.stale_edge_threshold_hours)
        outcome = await mark_stale_edges(database, cache, threshold, now)
        return f"{outcome.flagged} edge reports flagged stale"

    async def cycles(now):  # type: ignore[no-untyped-def]
        found = await scan_cycles(database, cache, now)
        return f"{found} cyclic components"

    async def prune(now):  # type: ignore[no-untyped-def]
        retention = timedelta(days=settings.history_retention_days)
        outcome = await prune_history(database, retention, now)
        messages = await prune_deliveries(database, now - retention)
        if outcome.cutoff_revision is None:
            pruned = "no change-log entry: no revision committed by the cutoff"
        else:
            pruned = (
                f"{outcome.entries_removed} change-log entries before revision "
                f"{outcome.cutoff_revision}"
            )
        return f"pruned {pruned}; {messages} delivered webhook messages before it"

    if settings.aliases_file is not None:
        aliases_file = settings.aliases_file

        async def aliases(now):  # type: ignore[no-untyped-def]
            return merge_line(await sync_from_file(database, cache, aliases_file))

        jobs.append(Job("aliases-file", settings.aliases_file_interval_seconds, aliases))

    jobs.append(Job("mark-stale", settings.stale_check_interval_minutes * 60, stale))
    jobs.append(Job("cycle-scan", settings.cycle_scan_interval_minutes * 60, cycles))
    jobs.append(Job("history-prune", settings.history_prune_interval_minutes * 60, prune))
    return jobs
