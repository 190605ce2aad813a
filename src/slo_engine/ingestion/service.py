"""The ingest use case: one discovery source's report of part of the graph.

Every path that writes nodes and edges (the HTTP API, the CLI, later the discovery
jobs) goes through `ingest`, inside one transaction owned by the caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.service import DetectedCycle, reconcile_alerts
from slo_engine.catalog.repository import CatalogRepository, ServiceUpsert
from slo_engine.graph.cycles import cyclic_components
from slo_engine.graph.merge import BASE_CONFIDENCE
from slo_engine.graph.model import DependencyReport
from slo_engine.graph.snapshot import GraphSnapshot, OverlayAdjacency
from slo_engine.infra.db import after_commit
from slo_engine.ingestion.schemas import IngestionRequest
from slo_engine.topology.cache import GraphCache

logger = logging.getLogger(__name__)

# Clocks drift; an observation further in the future than this is clamped to now.
_FUTURE_TOLERANCE = timedelta(minutes=5)
# A response lists at most this many warnings, then says how many more there were.
MAX_WARNINGS = 100


@dataclass(slots=True)
class IngestionResult:
    nodes_upserted: int = 0
    edges_upserted: int = 0
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
    request: IngestionRequest, observed_at: datetime, warnings: list[str]
) -> list[DependencyReport]:
    """One report per (source, target); a pair given twice keeps its last entry."""
    base_confidence = BASE_CONFIDENCE[request.source]
    by_pair: dict[tuple[str, str], DependencyReport] = {}
    for edge in request.edges:
        attributes = edge.attributes
        pair = (edge.source, edge.target)
        if pair in by_pair:
            warnings.append(
                f"edge {edge.source} -> {edge.target} given more than once; the last entry was kept"
            )
        by_pair[pair] = DependencyReport(
            source=edge.source,
            target=edge.target,
            discovery_source=request.source,
            last_observed_at=observed_at,
            communication_mode=attributes.communication_mode,
            criticality=attributes.criticality,
            protocol=attributes.protocol,
            timeout_ms=attributes.timeout_ms,
            retry_config=attributes.retry_config,
            confidence_score=(
                attributes.confidence_score
                if attributes.confidence_score is not None
                else base_confidence
            ),
            request_rate=attributes.request_rate,
            error_rate=attributes.error_rate,
            latency_p95_ms=attributes.latency_p95_ms,
        )
    return list(by_pair.values())


def _declared(request: IngestionRequest, warnings: list[str]) -> list[ServiceUpsert]:
    """One entry per service id; a service given twice keeps its last entry."""
    by_id: dict[str, ServiceUpsert] = {}
    for node in request.nodes:
        if node.service_id in by_id:
            warnings.append(f"node {node.service_id} given more than once; the last entry was kept")
        by_id[node.service_id] = ServiceUpsert(
            service_id=node.service_id,
            display_name=node.display_name,
            team=node.team,
            criticality=node.criticality,
            metadata=node.metadata,
        )
    return list(by_id.values())


async def ingest(
    session: AsyncSession, cache: GraphCache, request: IngestionRequest
) -> IngestionResult:
    """Upsert the request's services and edges, then detect the cycles it created.

    The caller's transaction makes it all-or-nothing. Cycle detection runs inside a
    savepoint: if it fails, the graph is still stored, the failure is a warning, and the
    next ingestion that adds an edge (or the periodic scan) catches up.
    """
    result = IngestionResult()
    now = datetime.now(UTC)
    observed_at = _observed_at(request, now, result.warnings)
    declared = _declared(request, result.warnings)
    reports = _reports(request, observed_at, result.warnings)

    repository = CatalogRepository(session)
    revision = await repository.bump_revision()  # serialises graph writers from here on
    base = await cache.for_write(repository, revision - 1)

    ids, stored_services = await repository.upsert_declared_services(declared, now)
    referenced = dict.fromkeys(
        name for r in reports for name in (r.source, r.target) if name not in ids
    )
    more_ids, created_services = await repository.ensure_services(referenced, now)
    ids.update(more_ids)
    stored_reports = await repository.upsert_reports(reports, ids, now)

    result.nodes_upserted = len(ids)
    result.edges_upserted = len(stored_reports)

    new_fresh_edges: dict[str, list[str]] = {}
    for report in stored_reports:
        state = base.pairs.get((report.source, report.target))
        if state is None or state.merged_fresh is None:
            new_fresh_edges.setdefault(report.source, []).append(report.target)
    # Without a new fresh edge no cycle can appear and none can vanish: skip the scan.
    if new_fresh_edges:
        await _detect_cycles(session, base, new_fresh_edges, now, result)

    if len(result.warnings) > MAX_WARNINGS:
        hidden = len(result.warnings) - MAX_WARNINGS
        result.warnings = [*result.warnings[:MAX_WARNINGS], f"... and {hidden} more warnings"]
    services_written = [*stored_services, *created_services]
    after_commit(session, lambda: cache.apply_committed(revision, services_written, stored_reports))
    return result


async def _detect_cycles(
    session: AsyncSession,
    base: GraphSnapshot,
    new_fresh_edges: dict[str, list[str]],
    now: datetime,
    result: IngestionResult,
) -> None:
    adjacency = OverlayAdjacency(base.downstream_fresh, new_fresh_edges)
    try:
        async with session.begin_nested():
            components = cyclic_components(adjacency, adjacency)
            detected = await reconcile_alerts(session, components, adjacency, now)
    except Exception:
        logger.exception("cycle detection failed; the ingested graph is kept")
        result.warnings.append(
            "cycle detection failed for this ingestion; the graph was stored and cycles "
            "will be checked again on the next change"
        )
        return
    result.circular_dependencies_detected = detected
