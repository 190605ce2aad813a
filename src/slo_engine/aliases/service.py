"""The alias use cases: add, delete, list, and sync the aliases file; each change puts
the stored graph under the new table of aliases in the same transaction (a merge, or
its undoing: graph/realias.py).

Every change runs like an ingestion: under the graph write lock, from the exact
snapshot of the revision before, recording what moved in the change log, re-running
cycle detection (an alert of a cycle through a merged name resolves, and the same cycle
under the canonical ids opens, with the acknowledgement carried over), and handing the
rows to the live graph after the commit.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.service import carry_acknowledgements, list_alerts
from slo_engine.catalog.alias_repository import (
    API_ORIGIN,
    FILE_ORIGIN,
    Alias,
    AliasRepository,
    alias_table,
)
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import AliasNotFoundError, ConflictError, InvalidInputError
from slo_engine.graph.aliases import AliasRuleError, compile_rule
from slo_engine.graph.change_log import changes_of_write, service_deleted
from slo_engine.graph.model import SERVICE_ID_PATTERN, AlertStatus, DiscoverySource
from slo_engine.graph.realias import RealiasPlan, plan_realias
from slo_engine.graph.snapshot import GraphSnapshot, is_fresh, report_key
from slo_engine.infra.db import after_commit
from slo_engine.ingestion.cycle_check import (
    CYCLE_CHECK_FAILED,
    cancelled_on_failure,
    record_cycles,
    start_cycle_check,
)
from slo_engine.live.graph import LiveGraph

_VALID_ID = re.compile(SERVICE_ID_PATTERN)
# How many aliases the store holds at most: each ingestion reads them all.
MAX_ALIASES = 10_000
# Acknowledged cycles an alias change carries over to their renamed cycles, at most.
MAX_ACKNOWLEDGEMENTS_CARRIED = 10_000


@dataclass(frozen=True, slots=True)
class AliasSpec:
    """An alias as a client or the aliases file gives it (before it is stored)."""

    discovery_source: DiscoverySource | None = None
    alias: str | None = None
    service_id: str | None = None
    pattern: str | None = None
    replacement: str | None = None


@dataclass(slots=True)
class MergeSummary:
    """What one change of the aliases did to the graph."""

    revision: int
    edges_moved: int = 0
    edges_set_aside: int = 0
    edges_restored: int = 0
    services_merged: list[str] = field(default_factory=list)
    services_restored: list[str] = field(default_factory=list)
    cycles_resolved: list[list[str]] = field(default_factory=list)
    cycles_opened: list[list[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _checked(spec: AliasSpec, pointer: str) -> None:
    """Refuse what cannot be an alias: both forms or neither, an invalid id, a pattern
    that does not compile or a replacement naming a group it lacks."""
    exact = spec.alias is not None or spec.service_id is not None
    rule = spec.pattern is not None or spec.replacement is not None
    if exact == rule:
        raise InvalidInputError(
            "An alias is either exact (`alias` and `service_id`) or a rule (`pattern` and "
            "`replacement`).",
            errors=[{"pointer": pointer, "detail": "give one form, whole"}],
        )
    if exact:
        if spec.alias is None or spec.service_id is None:
            raise InvalidInputError(
                "An exact alias needs both `alias` and `service_id`.",
                errors=[{"pointer": pointer, "detail": "both are required"}],
            )
        if spec.alias == spec.service_id:
            raise InvalidInputError(
                f"'{spec.alias}' cannot be an alias of itself.",
                errors=[{"pointer": f"{pointer}/alias", "detail": "equals service_id"}],
            )
        return
    if spec.pattern is None or spec.replacement is None:
        raise InvalidInputError(
            "A rule needs both `pattern` and `replacement`.",
            errors=[{"pointer": pointer, "detail": "both are required"}],
        )
    try:
        compile_rule(spec.pattern, spec.replacement)
    except AliasRuleError as error:
        raise InvalidInputError(
            f"The rule cannot apply: {error}.",
            errors=[{"pointer": f"{pointer}/pattern", "detail": str(error)}],
        ) from None


def _conflicts(spec: AliasSpec, stored: Sequence[Alias]) -> str | None:
    """Why `spec` cannot join the stored exact aliases, or None: one name has one
    alias per source, and aliases do not chain (a target that is itself an alias, or an
    alias that others point to, would make the mapping depend on order)."""
    if spec.alias is None:
        return None
    for other in stored:
        if other.alias is None:
            continue
        if other.alias == spec.alias and other.discovery_source == spec.discovery_source:
            scope = spec.discovery_source.value if spec.discovery_source else "every source"
            return f"'{spec.alias}' already has an alias for {scope} (id {other.id})."
        if other.alias == spec.service_id:
            return (
                f"'{spec.service_id}' is itself an alias of '{other.service_id}' (id "
                f"{other.id}); aliases do not chain: point to '{other.service_id}'."
            )
        if other.service_id == spec.alias:
            return (
                f"'{spec.alias}' is the service id '{other.alias}' stands for (id {other.id}); "
                "aliases do not chain: delete or re-point that alias first."
            )
    return None


async def list_aliases(session: AsyncSession) -> list[Alias]:
    return await AliasRepository(session).all()


async def add_alias(
    session: AsyncSession, cache: LiveGraph, spec: AliasSpec, actor: str
) -> tuple[Alias, MergeSummary]:
    """Store an alias and merge what it names, in one transaction."""
    _checked(spec, "")
    catalog = CatalogRepository(session)
    revision = await catalog.bump_revision(actor)
    repository = AliasRepository(session)
    stored = await repository.all()
    if len(stored) >= MAX_ALIASES:
        raise ConflictError(f"The store holds {MAX_ALIASES} aliases, the most it keeps.")
    conflict = _conflicts(spec, stored)
    if conflict is not None:
        raise ConflictError(conflict)
    alias = _alias_of(spec, await repository.next_position(), API_ORIGIN, catalog, actor)
    await repository.add(alias)
    summary = await _realias(session, cache, catalog, revision, stored, [*stored, alias], actor)
    return alias, summary


async def delete_alias(
    session: AsyncSession, cache: LiveGraph, alias_id: uuid.UUID, actor: str
) -> MergeSummary:
    """Delete an alias and undo what it merged, in one transaction."""
    catalog = CatalogRepository(session)
    revision = await catalog.bump_revision(actor)
    repository = AliasRepository(session)
    stored = await repository.all()
    if not any(a.id == alias_id for a in stored):
        raise AliasNotFoundError(f"No alias has id '{alias_id}'.")
    await repository.delete([alias_id])
    remaining = [a for a in stored if a.id != alias_id]
    return await _realias(session, cache, catalog, revision, stored, remaining, actor)


async def sync_aliases_file(
    session: AsyncSession, cache: LiveGraph, specs: Sequence[AliasSpec], actor: str
) -> MergeSummary | None:
    """Make the file's aliases exactly `specs` (the API's stay), merging and unmerging
    what changes; None when the file says what is stored already."""
    for index, spec in enumerate(specs):
        _checked(spec, f"/{index}")
    catalog = CatalogRepository(session)
    repository = AliasRepository(session)
    stored = await repository.all()
    from_file = [a for a in stored if a.origin == FILE_ORIGIN]
    if [_spec_of(a) for a in from_file] == list(specs):
        return None
    revision = await catalog.bump_revision(actor)
    stored = await repository.all()  # again, under the lock
    kept = [a for a in stored if a.origin != FILE_ORIGIN]
    await repository.delete([a.id for a in stored if a.origin == FILE_ORIGIN])
    position = await repository.next_position()
    added: list[Alias] = []
    for index, spec in enumerate(specs):
        conflict = _conflicts(spec, [*kept, *added])
        if conflict is not None:
            raise ConflictError(f"Alias {index} of the file: {conflict}")
        alias = _alias_of(spec, position + index, FILE_ORIGIN, catalog, actor)
        await repository.add(alias)
        added.append(alias)
    return await _realias(session, cache, catalog, revision, stored, [*kept, *added], actor)


def _spec_of(alias: Alias) -> AliasSpec:
    return AliasSpec(
        alias.discovery_source, alias.alias, alias.service_id, alias.pattern, alias.replacement
    )


def _alias_of(
    spec: AliasSpec, position: int, origin: str, catalog: CatalogRepository, actor: str
) -> Alias:
    return Alias(
        id=uuid.uuid4(),
        position=position,
        origin=origin,
        created_at=catalog.change_log().at,
        created_by=actor,
        discovery_source=spec.discovery_source,
        alias=spec.alias,
        service_id=spec.service_id,
        pattern=spec.pattern,
        replacement=spec.replacement,
    )


def _fresh_pairs_added(base: GraphSnapshot, plan: RealiasPlan) -> dict[str, list[str]]:
    added: dict[str, list[str]] = {}
    for report in plan.reports_written:
        stored = base.pairs.get((report.source, report.target))
        if not report.is_stale and (stored is None or not is_fresh(stored)):
            added.setdefault(report.source, []).append(report.target)
    return added


async def _realias(
    session: AsyncSession,
    cache: LiveGraph,
    catalog: CatalogRepository,
    revision: int,
    before: Sequence[Alias],
    in_force: Sequence[Alias],
    actor: str,
) -> MergeSummary:
    """Put the stored graph, stored under the aliases `before`, under the aliases
    `in_force` (graph/realias.py)."""
    repository = AliasRepository(session)
    base = await cache.for_write(catalog, revision - 1)
    table, earlier = alias_table(in_force), alias_table(before)

    def same_service(name: str) -> str:
        # The one name a service has under either table: a cycle renamed by the change
        # is the same cycle.
        return table.merges_service(name) or earlier.merges_service(name) or name

    report_shadows, service_shadows = await repository.shadows()
    change_log = catalog.change_log()
    now = change_log.at
    plan = await cache.off_loop(
        lambda: plan_realias(base, table, report_shadows, service_shadows, now)
    )
    summary = MergeSummary(revision=revision, warnings=list(plan.warnings))
    written_keys = {report_key(r) for r in plan.reports_written}
    summary.edges_moved = sum(1 for r in plan.reports_gone if report_key(r) not in written_keys)
    summary.edges_set_aside = len(plan.reports_set_aside)
    summary.edges_restored = len(plan.report_shadows_restored)
    summary.services_merged = sorted(s.service_id for s, _ in plan.services_set_aside)
    summary.services_restored = sorted(
        s.service_id for s in plan.services_written if s.service_id not in base.services
    )
    if not plan:
        after_commit(session, lambda: cache.apply_committed(revision, [], []))
        return summary

    cleared = plan.keys_cleared
    check = start_cycle_check(base, _fresh_pairs_added(base, plan), cleared)
    with cancelled_on_failure(check):
        await catalog.delete_reports(cleared)
        for service in plan.services_deleted:
            await catalog.delete_service(service.service_id)
        await catalog.put_services(plan.services_written)
        await catalog.put_reports(plan.reports_written, now)
        await repository.set_aside(plan.reports_set_aside, plan.services_set_aside, now)
        await repository.forget_shadows(
            [*plan.report_shadows_restored, *plan.service_shadows_restored]
        )
        await change_log.record(
            [
                *changes_of_write(
                    base, plan.services_written, plan.reports_written, plan.reports_gone
                ),
                *(service_deleted(s) for s in plan.services_deleted),
            ]
        )
    if check is not None:
        reason = f"services merged or unmerged by an alias change by {actor}"
        # Read before the resolutions replace their notes; few (people acknowledge).
        acknowledged = await list_alerts(
            session, AlertStatus.ACKNOWLEDGED, None, MAX_ACKNOWLEDGEMENTS_CARRIED
        )
        outcome = await record_cycles(session, check, now, change_log, reason)
        if outcome is None:
            summary.warnings.append(CYCLE_CHECK_FAILED)
        else:
            summary.cycles_resolved = [c.cycle_path for c in outcome.resolved]
            summary.cycles_opened = [c.cycle_path for c in outcome.opened]
            await carry_acknowledgements(session, outcome, acknowledged, same_service, now)

    services_written = plan.services_written
    reports_written = plan.reports_written
    deleted = [s.service_id for s in plan.services_deleted]
    after_commit(
        session,
        lambda: cache.apply_committed(
            revision, services_written, reports_written, cleared, deleted
        ),
    )
    return summary
