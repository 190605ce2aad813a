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

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.service import carry_acknowledgements, list_alerts
from slo_engine.catalog.alias_repository import (
    API_ORIGIN,
    FILE_ORIGIN,
    Alias,
    AliasRepository,
    alias_table,
)
from slo_engine.catalog.alias_rules import AliasRule, AliasRuleError, compile_rule
from slo_engine.catalog.repository import CatalogRepository
from slo_engine.errors import AliasNotFoundError, ConflictError, InvalidInputError
from slo_engine.graph.change_log import changes_of_write, service_deleted
from slo_engine.graph.model import AlertStatus, DiscoverySource
from slo_engine.graph.realias import RealiasPlan, plan_realias
from slo_engine.graph.snapshot import GraphSnapshot, ReportKey, is_fresh
from slo_engine.infra.db import after_commit
from slo_engine.ingestion.cycle_check import (
    CYCLE_CHECK_FAILED,
    cancelled_on_failure,
    record_cycles,
    start_cycle_check,
)
from slo_engine.live.graph import LiveGraph

# How many aliases the store holds at most: each ingestion reads them all; rules, which
# each name of an ingestion may be matched against, fewer.
MAX_ALIASES = 10_000
MAX_RULES = 500
# Acknowledged cycles an alias change carries over to their renamed cycles, at most.
MAX_ACKNOWLEDGEMENTS_CARRIED = 10_000
# Services, cycles and warnings an answer lists at most (its counts count all).
MAX_LISTED = 200


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
    services_removed: list[str] = field(default_factory=list)
    services_restored: list[str] = field(default_factory=list)
    # How many services each list names in all (the lists stop at MAX_LISTED).
    services_counts: dict[str, int] = field(default_factory=dict)
    cycles_resolved: list[list[str]] = field(default_factory=list)
    cycles_opened: list[list[str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def checked_spec(spec: AliasSpec, pointer: str) -> None:
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


class ConflictCheck:
    """Why an alias cannot join others, or None: one name has one exact alias per
    source, and aliases do not chain: an exact alias's target may not be renamed by
    another alias (exact or rule), nor its name be another's target. Without chains the
    mapping never depends on the order aliases were added in, and a merge done again
    changes nothing. O(1) per exact alias, O(exact aliases) per rule (each a linear
    match)."""

    def __init__(self, aliases: Sequence[Alias | AliasSpec] = ()) -> None:
        self._exact: dict[tuple[str, DiscoverySource | None], str] = {}
        self._alias_names: dict[str, str] = {}  # name -> the target it stands for
        self._targets: dict[str, str] = {}  # target -> a name that stands for it
        self._rules: list[AliasRule] = []
        for alias in aliases:
            self.add(alias)

    def add(self, alias: Alias | AliasSpec) -> None:
        if alias.alias is not None and alias.service_id is not None:
            self._exact[(alias.alias, alias.discovery_source)] = alias.service_id
            self._alias_names.setdefault(alias.alias, alias.service_id)
            self._targets.setdefault(alias.service_id, alias.alias)
        elif alias.pattern is not None and alias.replacement is not None:
            self._rules.append(AliasRule(alias.pattern, alias.replacement, alias.discovery_source))

    def conflict(self, spec: AliasSpec) -> str | None:
        if spec.alias is not None and spec.service_id is not None:
            return self._exact_conflict(spec.alias, spec.service_id, spec.discovery_source)
        if spec.pattern is not None and spec.replacement is not None:
            rule = AliasRule(spec.pattern, spec.replacement, spec.discovery_source)
            for target, name in self._targets.items():
                renamed = rule.apply(target)
                if renamed is not None and renamed != target:
                    return (
                        f"the rule renames '{target}', which '{name}' stands for; aliases "
                        "do not chain: exclude it from the pattern or re-point that alias."
                    )
        return None

    def _exact_conflict(
        self, alias: str, service_id: str, source: DiscoverySource | None
    ) -> str | None:
        if (alias, source) in self._exact:
            scope = source.value if source else "every source"
            return f"'{alias}' already has an alias for {scope}."
        if service_id in self._alias_names:
            canonical = self._alias_names[service_id]
            return (
                f"'{service_id}' is itself an alias of '{canonical}'; aliases do not "
                f"chain: point to '{canonical}'."
            )
        if alias in self._targets:
            return (
                f"'{alias}' is the service id '{self._targets[alias]}' stands for; aliases "
                "do not chain: delete or re-point that alias first."
            )
        for rule in self._rules:
            applies = source is None or rule.discovery_source in (None, source)
            renamed = rule.apply(service_id) if applies else None
            if renamed is not None and renamed != service_id:
                return (
                    f"'{service_id}' is renamed to '{renamed}' by the rule "
                    f"'{rule.pattern}'; aliases do not chain: point to '{renamed}'."
                )
        return None


async def list_aliases(session: AsyncSession) -> list[Alias]:
    return await AliasRepository(session).all()


async def add_alias(
    session: AsyncSession, cache: LiveGraph, spec: AliasSpec, actor: str
) -> tuple[Alias, MergeSummary]:
    """Store an alias and merge what it names, in one transaction."""
    checked_spec(spec, "")
    catalog = CatalogRepository(session)
    revision = await catalog.bump_revision(actor)
    repository = AliasRepository(session)
    stored = await repository.all()
    if len(stored) >= MAX_ALIASES:
        raise ConflictError(f"The store holds {MAX_ALIASES} aliases, the most it keeps.")
    rules = sum(1 for a in stored if a.is_rule)
    if spec.pattern is not None and rules >= MAX_RULES:
        raise ConflictError(f"The store holds {MAX_RULES} rules, the most it keeps.")
    conflict = ConflictCheck(stored).conflict(spec)
    if conflict is not None:
        raise ConflictError(f"The alias cannot be added: {conflict}")
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
    found = next((a for a in stored if a.id == alias_id), None)
    if found is None:
        raise AliasNotFoundError(f"No alias has id '{alias_id}'.")
    if found.origin == FILE_ORIGIN:
        raise ConflictError(
            f"Alias '{alias_id}' comes from the aliases file (ALIASES_FILE); take it out of "
            "the file instead: the next sync would add it again."
        )
    await repository.delete([alias_id])
    remaining = [a for a in stored if a.id != alias_id]
    return await _realias(session, cache, catalog, revision, stored, remaining, actor)


@dataclass(frozen=True, slots=True)
class FileVersion:
    """Which aliases file a sync reads: its digest and when it was last modified."""

    sha256: str
    modified_at: datetime


@dataclass(frozen=True, slots=True)
class FileSync:
    """What a sync of the aliases file did: merged (`summary`), nothing (the store has
    it already), or nothing because the file is older than the one synced last."""

    summary: MergeSummary | None = None
    older_than_synced: datetime | None = None


def _stale_or_same(
    specs: Sequence[AliasSpec],
    stored: Sequence[Alias],
    synced: tuple[str, datetime] | None,
    version: FileVersion | None,
    force: bool,
) -> FileSync | None:
    """The outcome when there is nothing to sync, or None."""
    if version is not None and synced is not None and not force:
        sha256, modified_at = synced
        if sha256 != version.sha256 and modified_at > version.modified_at:
            return FileSync(older_than_synced=modified_at)
    if [_spec_of(a) for a in stored if a.origin == FILE_ORIGIN] == list(specs):
        return FileSync()
    return None


async def sync_aliases_file(
    session: AsyncSession,
    cache: LiveGraph,
    specs: Sequence[AliasSpec],
    actor: str,
    version: FileVersion | None = None,
    *,
    force: bool = False,
) -> FileSync:
    """Make the file's aliases exactly `specs` (the API's stay), merging and unmerging
    what changes. A file older than the one synced last is not synced back (`force`
    does): replicas may see a changed ConfigMap at different times, and an old pod of a
    rolling deploy holds the old one."""
    for index, spec in enumerate(specs):
        checked_spec(spec, f"/{index}")
    catalog = CatalogRepository(session)
    repository = AliasRepository(session)
    synced = await repository.file_state()
    outcome = _stale_or_same(specs, await repository.all(), synced, version, force)
    recorded = version is None or (synced is not None and synced[0] == version.sha256)
    if outcome is not None and (outcome.older_than_synced or recorded):
        return outcome  # nothing to write: no revision for it
    revision = await catalog.bump_revision(actor)
    # Again, under the lock: another replica may have synced meanwhile.
    stored = await repository.all()
    outcome = _stale_or_same(specs, stored, await repository.file_state(), version, force)
    if version is not None and (outcome is None or not outcome.older_than_synced):
        await repository.record_file_state(
            version.sha256, version.modified_at, catalog.change_log().at
        )
    if outcome is not None:
        _nothing_moved(session, cache, revision)
        return outcome
    kept = [a for a in stored if a.origin != FILE_ORIGIN]
    if len(kept) + len(specs) > MAX_ALIASES:
        raise ConflictError(
            f"The file's {len(specs)} aliases and the API's {len(kept)} exceed "
            f"{MAX_ALIASES}, the most the store keeps."
        )
    rules = sum(1 for a in kept if a.is_rule) + sum(1 for s in specs if s.pattern is not None)
    if rules > MAX_RULES:
        raise ConflictError(f"The file's and the API's rules exceed {MAX_RULES}.")
    await repository.delete([a.id for a in stored if a.origin == FILE_ORIGIN])
    position = await repository.next_position()
    added: list[Alias] = []
    check = ConflictCheck(kept)
    for index, spec in enumerate(specs):
        conflict = check.conflict(spec)
        if conflict is not None:
            raise ConflictError(f"Alias {index} of the file cannot be added: {conflict}")
        check.add(spec)
        alias = _alias_of(spec, position + index, FILE_ORIGIN, catalog, actor)
        added.append(alias)
    await repository.add_many(added)
    return FileSync(
        await _realias(session, cache, catalog, revision, stored, [*kept, *added], actor)
    )


def _nothing_moved(session: AsyncSession, cache: LiveGraph, revision: int) -> None:
    """A write that took a revision and moved nothing: the live graph still moves to it."""
    after_commit(session, lambda: cache.apply_committed(revision, [], []))


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


def _fresh_pairs_added(
    base: GraphSnapshot, plan: RealiasPlan, gone: set[tuple[str, str]]
) -> dict[str, list[str]]:
    """The fresh pairs the plan's writes put in the fresh graph: those not fresh before,
    and those its cleared keys take out (`gone`) that a written report keeps fresh."""
    added: dict[str, set[str]] = {}
    for report in plan.reports_written:
        pair = (report.source, report.target)
        stored = base.pairs.get(pair)
        if not report.is_stale and (stored is None or not is_fresh(stored) or pair in gone):
            added.setdefault(report.source, set()).add(report.target)
    return {source: sorted(targets) for source, targets in added.items()}


def _capped(items: list[Any]) -> list[Any]:
    return items[:MAX_LISTED]


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
        lambda: plan_realias(base, table, earlier, report_shadows, service_shadows, now)
    )
    summary = MergeSummary(revision=revision, warnings=_capped(plan.warnings))
    summary.edges_moved = plan.edges_moved()
    summary.edges_set_aside = len(plan.reports_set_aside)
    summary.edges_restored = len(plan.report_shadows_restored)
    aside = [s.service_id for s, _ in plan.services_set_aside]
    merged = sorted(a for a in aside if table.merges_service(a) is not None)
    removed = sorted(a for a in aside if table.merges_service(a) is None)
    restored = sorted(
        s.service_id for s in plan.services_written if s.service_id not in base.services
    )
    summary.services_counts = {
        "merged": len(merged),
        "removed": len(removed),
        "restored": len(restored),
    }
    summary.services_merged = _capped(merged)
    summary.services_removed = _capped(removed)
    summary.services_restored = _capped(restored)
    if not plan:
        _nothing_moved(session, cache, revision)
        return summary

    cleared = plan.keys_cleared
    gone = base.fresh_pairs_lost(cleared)
    check = start_cycle_check(base, _fresh_pairs_added(base, plan, gone), cleared)
    with cancelled_on_failure(check):
        # The first observation of what moves, or is set aside, is kept with it.
        firsts: dict[ReportKey | str, datetime] = {}
        stored_firsts = await catalog.first_observations([*cleared, *plan.set_aside_from])
        for key, first in stored_firsts.items():
            firsts[key] = first
        for shadow in report_shadows:
            if shadow.first_observed is not None:
                firsts[shadow.shadow_id] = shadow.first_observed
        written_firsts = {
            key: firsts[origin] for key, origin in plan.written_from.items() if origin in firsts
        }
        await catalog.delete_reports(cleared)
        await catalog.delete_services([s.service_id for s in plan.services_deleted])
        await catalog.put_services(plan.services_written)
        await catalog.put_reports(plan.reports_written, now, written_firsts)
        await repository.set_aside(
            plan.reports_set_aside,
            [firsts.get(key) for key in plan.set_aside_from],
            plan.services_set_aside,
            now,
        )
        await repository.forget_shadows(
            [
                *plan.report_shadows_restored,
                *plan.service_shadows_restored,
                *plan.report_shadows_forgotten,
                *plan.service_shadows_forgotten,
            ]
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
            summary.cycles_resolved = _capped([c.cycle_path for c in outcome.resolved])
            summary.cycles_opened = _capped([c.cycle_path for c in outcome.opened])
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
