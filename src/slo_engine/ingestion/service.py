"""The ingest use case: one discovery source's report of part of the graph.

Every path that writes nodes and edges (the HTTP API, the CLI, later the discovery
jobs) goes through `ingest`, inside one transaction owned by the caller.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.service import DetectedCycle
from slo_engine.catalog.alias_repository import AliasRepository, current_table
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.graph.aliases import AliasTable
from slo_engine.graph.change_log import changes_of_write
from slo_engine.graph.merge import BASE_CONFIDENCE
from slo_engine.graph.model import DependencyReport, NodeKind, ServiceDeclaration
from slo_engine.graph.snapshot import GraphSnapshot, is_fresh, report_key, reports_of
from slo_engine.graph.stored_rows import (
    declared_service,
    discovered_service,
    observed_kind,
    observed_report,
)
from slo_engine.infra.db import after_commit
from slo_engine.ingestion.cycle_check import (
    CYCLE_CHECK_FAILED,
    cancelled_on_failure,
    record_cycles,
    start_cycle_check,
)
from slo_engine.ingestion.schemas import EdgeAttributes, IngestionRequest
from slo_engine.live.graph import LiveGraph
from slo_engine.observability.metrics import (
    INGESTED_EDGES,
    INGESTED_NODES,
    INGESTION_DURATION,
    INGESTION_FAILURES,
)

logger = logging.getLogger(__name__)

# Clocks drift; an observation further in the future than this is clamped to now.
_FUTURE_TOLERANCE = timedelta(minutes=5)
# A response lists at most this many warnings, then says how many more there were.
MAX_WARNINGS = 100


@dataclass(slots=True)
class IngestionResult:
    nodes_upserted: int = 0
    edges_upserted: int = 0
    edges_retracted: int = 0  # by a `replace` request
    revision: int = 0  # the graph revision this write committed
    circular_dependencies_detected: list[DetectedCycle] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _observed_at(request: IngestionRequest, now: datetime, warnings: list[str]) -> datetime:
    if request.observed_at is None:
        return now
    observed = request.observed_at.astimezone(UTC)
    if observed > now + _FUTURE_TOLERANCE:
        warnings.append(
            f"observed_at {observed.isoformat()} is in the future; recorded as {now.isoformat()}"
        )
        return now
    return observed


def _reports(
    request: IngestionRequest, observed_at: datetime, warnings: list[str], aliases: AliasTable
) -> list[DependencyReport]:
    """One report per (source, target) after the aliases; a pair given twice keeps its
    last entry. A call between two names of one service is no dependency: skipped."""
    base_confidence = BASE_CONFIDENCE[request.source]
    by_pair: dict[tuple[str, str], DependencyReport] = {}
    no_attributes: EdgeAttributes = {}
    source = request.source
    for edge in request.edges:
        attributes = edge.get("attributes", no_attributes)
        reported = (edge["source"], edge["target"])
        pair = (aliases.resolve(reported[0], source), aliases.resolve(reported[1], source))
        if pair[0] == pair[1] and reported[0] != reported[1]:
            warnings.append(
                f"edge {reported[0]} -> {reported[1]} skipped: the aliases make both ends {pair[0]}"
            )
            continue
        if pair in by_pair:
            warnings.append(
                f"edge {pair[0]} -> {pair[1]} given more than once; the last entry was kept"
            )
        confidence = attributes.get("confidence_score")
        # `_make` skips the keyword handling of the generated __new__: ~3x cheaper on
        # the 250,000 reports of a large ingestion.
        by_pair[pair] = DependencyReport._make(
            (
                pair[0],
                pair[1],
                request.source,
                observed_at,
                attributes.get("communication_mode"),
                attributes.get("criticality"),
                attributes.get("protocol"),
                attributes.get("timeout_ms"),
                attributes.get("retry_config"),
                base_confidence if confidence is None else confidence,
                attributes.get("request_rate"),
                attributes.get("error_rate"),
                attributes.get("latency_p95_ms"),
                False,  # is_stale
                None if pair[0] == reported[0] else reported[0],  # source_reported_as
                None if pair[1] == reported[1] else reported[1],  # target_reported_as
            )
        )
    return list(by_pair.values())


def _declared(
    request: IngestionRequest, warnings: list[str], aliases: AliasTable
) -> list[ServiceDeclaration]:
    """One entry per service id after the aliases; a service given twice keeps its last
    entry."""
    by_id: dict[str, ServiceDeclaration] = {}
    for node in request.nodes:
        service_id = aliases.resolve(node["service_id"], request.source)
        if service_id in by_id:
            warnings.append(f"node {service_id} given more than once; the last entry was kept")
        by_id[service_id] = ServiceDeclaration(
            service_id=service_id,
            display_name=node.get("display_name"),
            team=node.get("team"),
            criticality=node.get("criticality"),
            metadata=node.get("metadata"),
            kind=node.get("kind"),
        )
    return list(by_id.values())


def _observed_kinds(request: IngestionRequest, aliases: AliasTable) -> dict[str, NodeKind]:
    """The kinds the request's edges say their ends are (the last word on a service
    wins), by service id after the aliases; O(edges)."""
    kinds: dict[str, NodeKind] = {}
    source = request.source
    for edge in request.edges:
        caller, callee = edge.get("source_kind"), edge.get("target_kind")
        if caller is not None:
            kinds[aliases.resolve(edge["source"], source)] = caller
        if callee is not None:
            kinds[aliases.resolve(edge["target"], source)] = callee
    return kinds


async def ingest(
    session: AsyncSession, cache: LiveGraph, request: IngestionRequest, actor: str
) -> IngestionResult:
    """Upsert the request's services and edges (and, in `replace` mode, retract what the
    source no longer reports in scope), record the changes in the change log, then
    detect the cycles the write created or broke. `actor`: who writes (an API key's
    name, a job's).

    The caller's transaction makes it all-or-nothing. Cycle detection runs inside a
    savepoint: if it fails, the graph is still stored, the failure is a warning, and the
    next ingestion that adds an edge catches up.
    """
    started = time.perf_counter()
    try:
        return await _ingest(session, cache, request, actor, started)
    except Exception:
        INGESTION_FAILURES.labels(request.source.value).inc()
        raise


def _replaced(
    base: GraphSnapshot,
    request: IngestionRequest,
    reports: list[DependencyReport],
    aliases: AliasTable,
) -> list[DependencyReport]:
    """The reports of the request's source, in its `replace` scope, that the request no
    longer lists. O(E) over the whole graph without a scope, O(out-degree) per scoped
    service with one."""
    source = request.source
    listed = {(r.source, r.target) for r in reports}
    if request.scope is None:
        candidates: Iterable[DependencyReport | None] = (
            r for stored in base.pairs.values() for r in reports_of(stored)
        )
    else:
        candidates = (
            base.report((caller, callee), source)
            for caller in dict.fromkeys(
                aliases.resolve(name, source) for name in request.scope.services
            )
            for callee in base.downstream_all.get(caller, ())
        )
    return [
        r
        for r in candidates
        if r is not None and r.discovery_source == source and (r.source, r.target) not in listed
    ]


async def _ingest(
    session: AsyncSession,
    cache: LiveGraph,
    request: IngestionRequest,
    actor: str,
    started: float,
) -> IngestionResult:
    result = IngestionResult()
    now = datetime.now(UTC)
    observed_at = _observed_at(request, now, result.warnings)

    repository = CatalogRepository(session)
    # Serialises graph writers from here on, alias changes included.
    revision = await repository.bump_revision(actor, now)
    result.revision = revision
    aliases = await current_table(session)
    declared = _declared(request, result.warnings, aliases)
    reports = _reports(request, observed_at, result.warnings, aliases)
    # Exactly the graph as committed before this write: the write lock is ours.
    base = await cache.for_write(repository, revision - 1)

    retracted = _replaced(base, request, reports, aliases) if request.mode == "replace" else []
    retracted_keys = [report_key(r) for r in retracted]
    new_fresh_edges: dict[str, list[str]] = {}
    for report in reports:
        stored = base.pairs.get((report.source, report.target))
        if stored is None or not is_fresh(stored):
            new_fresh_edges.setdefault(report.source, []).append(report.target)
    check = start_cycle_check(base, new_fresh_edges, retracted_keys)

    declared_ids = {d.service_id for d in declared}
    named_by_edges = dict.fromkeys(name for r in reports for name in (r.source, r.target))
    missing = [
        name for name in named_by_edges if name not in declared_ids and name not in base.services
    ]
    # What the database holds for the rows written, derived from the exact base snapshot
    # by the same rules as the SQL (graph/stored_rows.py).
    observed_kinds = _observed_kinds(request, aliases)
    declared_written = {
        d.service_id: declared_service(base.services.get(d.service_id), d, now) for d in declared
    }
    # Nodes whose kind no node entry declared take the kind a source saw (a declared kind
    # wins), after this request's own declarations: the SQL applies them in that order.
    kinds_changed = [
        changed
        for name, kind in observed_kinds.items()
        if (before := declared_written.get(name) or base.services.get(name)) is not None
        and (changed := observed_kind(before, kind, now)) is not None
    ]
    declared_written.update(
        (s.service_id, s) for s in kinds_changed if s.service_id in declared_ids
    )
    services_written = [
        *declared_written.values(),
        *(s for s in kinds_changed if s.service_id not in declared_ids),
        *(discovered_service(name, now, observed_kinds.get(name)) for name in missing),
    ]
    reports_written = [
        observed_report(base.report((r.source, r.target), r.discovery_source), r) for r in reports
    ]
    change_log = repository.change_log()
    with cancelled_on_failure(check):
        await repository.upsert_declared_services(declared, now)
        await repository.insert_missing_services(missing, now, observed_kinds)
        if kinds_changed:
            await repository.set_observed_kinds(kinds_changed, now)
        await repository.upsert_reports(reports, now)
        if retracted_keys:
            await repository.delete_reports(retracted_keys)
            await AliasRepository(session).forget_shadows_at(retracted_keys)
        await change_log.record(
            changes_of_write(base, services_written, reports_written, retracted)
        )

    result.nodes_upserted = len(declared_ids | named_by_edges.keys())
    result.edges_upserted = len(reports)
    result.edges_retracted = len(retracted)

    if check is not None:
        reason = f"edges retracted by a full sync of {request.source.value}" if retracted else None
        outcome = await record_cycles(session, check, now, change_log, reason)
        if outcome is None:
            result.warnings.append(CYCLE_CHECK_FAILED)
        else:
            result.circular_dependencies_detected = outcome.opened

    if len(result.warnings) > MAX_WARNINGS:
        hidden = len(result.warnings) - MAX_WARNINGS
        result.warnings = [*result.warnings[:MAX_WARNINGS], f"... and {hidden} more warnings"]
    source = request.source.value

    def committed() -> None:
        cache.apply_committed(revision, services_written, reports_written, retracted_keys)
        INGESTED_NODES.labels(source).inc(result.nodes_upserted)
        INGESTED_EDGES.labels(source).inc(result.edges_upserted)
        INGESTION_DURATION.labels(source).observe(time.perf_counter() - started)

    after_commit(session, committed)
    return result
