"""Retraction: a source stops reporting an edge, or a service is deleted.

Both run like an ingestion: under the graph write lock, from the exact snapshot of the
revision before, in one transaction that deletes the rows, records the retractions in
the change log, re-runs cycle detection when a fresh edge leaves the graph (an alert
whose cycle is broken resolves, with the reason), and hands the removals to the live
graph after the commit. A merged edge leaves the graph when its last report goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.alias_repository import AliasRepository
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import ConflictError, NotFoundError, ServiceNotFoundError
from slo_engine.graph.change_log import report_retracted, service_deleted
from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
from slo_engine.graph.snapshot import GraphSnapshot, ReportKey, report_key
from slo_engine.infra.db import after_commit
from slo_engine.ingestion.cycle_check import (
    CYCLE_CHECK_FAILED,
    cancelled_on_failure,
    record_cycles,
    start_cycle_check,
)
from slo_engine.live.graph import LiveGraph

# Without a named source, a retraction takes back what people declared: observed edges
# are traffic's to report (they go stale when it stops), not a person's to deny.
DECLARED_SOURCES = (DiscoverySource.MANUAL, DiscoverySource.BACKSTAGE)
# A refusal to delete lists at most this many of the edges that still name the service.
_LISTED_REFERENCES = 50


@dataclass(slots=True)
class RetractionResult:
    revision: int
    retracted: list[ReportKey]
    deleted_service: str | None = None
    cycles_resolved: list[list[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


async def retract_edge(
    session: AsyncSession,
    cache: LiveGraph,
    source: str,
    target: str,
    discovery_source: DiscoverySource | None,
    actor: str,
) -> RetractionResult:
    """Retract `discovery_source`'s report of source -> target (without one: every
    declared source's). 404 if none of them reports it."""
    repository = CatalogRepository(session)
    revision = await repository.bump_revision(actor)
    base = await cache.for_write(repository, revision - 1)
    sources = DECLARED_SOURCES if discovery_source is None else (discovery_source,)
    reports = [r for r in base.reports((source, target)) if r.discovery_source in sources]
    if not reports:
        named = (
            "any declared source (manual, backstage)"
            if discovery_source is None
            else f"'{discovery_source.value}'"
        )
        raise NotFoundError(f"No edge {source} -> {target} is reported by {named}.")
    reason = f"edge {source} -> {target} retracted by {actor}"
    return await _retract(session, cache, repository, base, reports, None, reason)


async def delete_service(
    session: AsyncSession, cache: LiveGraph, service_id: str, cascade: bool, actor: str
) -> RetractionResult:
    """Delete a service; with `cascade`, every edge report that names it goes in the
    same transaction, else a service still named by an edge is a 409 listing them."""
    repository = CatalogRepository(session)
    revision = await repository.bump_revision(actor)
    base = await cache.for_write(repository, revision - 1)
    service = base.services.get(service_id)
    if service is None:
        raise ServiceNotFoundError(f"No service has id '{service_id}'.")
    touching = sorted(
        base.reports_touching(service_id), key=lambda r: (r.source, r.target, r.discovery_source)
    )
    if touching and not cascade:
        listed = touching[:_LISTED_REFERENCES]
        more = len(touching) - len(listed)
        raise ConflictError(
            f"Service '{service_id}' is still named by {len(touching)} edge report(s); "
            "retract them first or pass cascade=true to retract them with it."
            + (f" The first {len(listed)} are listed." if more else ""),
            errors=[
                {
                    "pointer": "/path/service_id",
                    "detail": f"{r.source} -> {r.target} ({r.discovery_source.value})",
                }
                for r in listed
            ],
        )
    reason = f"service {service_id} deleted by {actor}"
    return await _retract(session, cache, repository, base, touching, service, reason)


async def _retract(
    session: AsyncSession,
    cache: LiveGraph,
    repository: CatalogRepository,
    base: GraphSnapshot,
    reports: list[DependencyReport],
    service: Service | None,
    reason: str,
) -> RetractionResult:
    keys = [report_key(r) for r in reports]
    deleted = [service] if service is not None else []
    check = start_cycle_check(base, {}, keys)
    change_log = repository.change_log()
    with cancelled_on_failure(check):
        await repository.delete_reports(keys)
        await AliasRepository(session).forget_shadows_at(keys)
        for gone in deleted:
            await repository.delete_service(gone.service_id)
        await change_log.record(
            [report_retracted(r) for r in reports] + [service_deleted(s) for s in deleted]
        )
    revision = change_log.revision
    result = RetractionResult(revision, keys, service.service_id if service else None)
    if check is not None:
        outcome = await record_cycles(session, check, change_log.at, change_log, reason)
        if outcome is None:
            result.warnings.append(CYCLE_CHECK_FAILED)
        else:
            result.cycles_resolved = [cycle.cycle_path for cycle in outcome.resolved]
    deleted_ids = [s.service_id for s in deleted]
    after_commit(session, lambda: cache.apply_committed(revision, [], [], keys, deleted_ids))
    return result
