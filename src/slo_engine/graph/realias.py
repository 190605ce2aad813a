"""What a change of the aliases does to a stored graph: the plan of one merge or unmerge.
Pure, no I/O.

Every stored report remembers how its source named the edge's ends
(`source_reported_as`, `target_reported_as`), so the graph under any set of aliases is
a function of the reports as reported: resolve each report's reported names through the
table, and the report belongs at the pair that comes out. Adding an alias, deleting one
or syncing a whole file is then the same operation: compare where every report is with
where it belongs, and move what differs.

When two reports of one source come to the same pair (a source reported both
`checkoutservice -> payment` and `checkout -> payment`), the one observed last is kept
and the other is **set aside** (a shadow), not lost: a later plan that gives it a pair
of its own again brings it back, so deleting the alias restores the graph as it was.
A call between two names of one service (`checkoutservice -> checkout`) is set aside
the same way: merged, it would be a service calling itself, which is a cycle.

Services follow: a service whose id every source's aliases map elsewhere is merged
into that service (set aside, and copied to the canonical id when nothing holds that
id yet), a discovered service no report names any more after the move is set aside,
and a service set aside comes back when the aliases no longer merge it and a report
names it again (or it was declared). The canonical service keeps its own declared
fields.

O(E + V + S) for E stored reports, V services and S shadows, with the table's
remembered resolutions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple

from slo_engine.graph.aliases import AliasTable
from slo_engine.graph.model import DependencyReport, Service
from slo_engine.graph.snapshot import GraphSnapshot, ReportKey, report_key, reports_of
from slo_engine.graph.stored_rows import discovered_service

# The fields of a service a copy to its canonical id takes over (and is compared on, to
# know the copy is still untouched when an unmerge would remove it again).
_COPIED_FIELDS = ("display_name", "team", "criticality", "metadata", "discovered", "kind")


class ShadowedReport(NamedTuple):
    """A report set aside by an earlier plan (`shadow_id`: its stored row), with its
    first observation when known."""

    shadow_id: str
    report: DependencyReport
    first_observed: datetime | None = None


class ShadowedService(NamedTuple):
    """A service set aside by an earlier plan; `copied_as`: the canonical id the plan
    created as its copy (None when that id existed)."""

    shadow_id: str
    service: Service
    copied_as: str | None


@dataclass(slots=True)
class RealiasPlan:
    """The writes that put a graph under a table of aliases."""

    # Reports to store exactly as given, after deleting `keys_cleared`.
    reports_written: list[DependencyReport] = field(default_factory=list)
    # Every stored key the plan rewrites or empties.
    keys_cleared: list[ReportKey] = field(default_factory=list)
    # Stored reports whose pair no report holds any more (retracted from the graph).
    reports_gone: list[DependencyReport] = field(default_factory=list)
    reports_set_aside: list[DependencyReport] = field(default_factory=list)
    # Where each report set aside was stored, in `reports_set_aside` order.
    set_aside_from: list[ReportKey] = field(default_factory=list)
    report_shadows_restored: list[str] = field(default_factory=list)
    # Shadows a report of the same source and names in the graph supersedes.
    report_shadows_forgotten: list[str] = field(default_factory=list)
    # Where each written report was before: its stored key, or the shadow it comes from
    # (so that its first observation is kept).
    written_from: dict[ReportKey, ReportKey | str] = field(default_factory=dict)
    services_written: list[Service] = field(default_factory=list)
    services_deleted: list[Service] = field(default_factory=list)
    services_set_aside: list[tuple[Service, str | None]] = field(default_factory=list)
    service_shadows_restored: list[str] = field(default_factory=list)
    service_shadows_forgotten: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.reports_written
            or self.keys_cleared
            or self.reports_set_aside
            or self.report_shadows_restored
            or self.services_written
            or self.services_deleted
            or self.service_shadows_restored
            or self.report_shadows_forgotten
            or self.service_shadows_forgotten
        )

    def edges_moved(self) -> int:
        """Stored reports written at another pair (not counting those set aside)."""
        return sum(
            1
            for key, origin in self.written_from.items()
            if isinstance(origin, tuple) and origin != key
        )


def reported_ends(report: DependencyReport) -> tuple[str, str]:
    """The edge's ends as its source named them."""
    return (report.source_reported_as or report.source, report.target_reported_as or report.target)


def as_named(report: DependencyReport, source: str, target: str) -> DependencyReport:
    """`report` stored at (source, target), remembering the names its source gave."""
    reported_source, reported_target = reported_ends(report)
    return report._replace(
        source=source,
        target=target,
        source_reported_as=None if reported_source == source else reported_source,
        target_reported_as=None if reported_target == target else reported_target,
    )


class _Candidate(NamedTuple):
    report: DependencyReport  # at the pair it belongs to
    stored_key: ReportKey | None  # where it is stored now; None for a shadow
    shadow_id: str | None


def _placed(report: DependencyReport, table: AliasTable) -> tuple[DependencyReport, bool]:
    """The report at the pair its reported names resolve to, and whether it may stay in
    the graph there (a call between two names of one service may not)."""
    reported_source, reported_target = reported_ends(report)
    source = table.resolve(reported_source, report.discovery_source)
    target = table.resolve(reported_target, report.discovery_source)
    placed = as_named(report, source, target)
    return placed, source != target or reported_source == reported_target


def _preference(candidate: _Candidate) -> tuple[datetime, bool, bool, tuple[str, str]]:
    """Orders the reports of one source for one pair: the last observed wins; then one
    in the graph over one set aside, one already there over one moving in, and the
    reported names, so that the choice never depends on the input order."""
    report = candidate.report
    return (
        report.last_observed_at,
        candidate.shadow_id is None,
        candidate.stored_key == report_key(report),
        reported_ends(report),
    )


def plan_realias(
    base: GraphSnapshot,
    table: AliasTable,
    previous: AliasTable,
    report_shadows: Sequence[ShadowedReport],
    service_shadows: Sequence[ShadowedService],
    now: datetime,
) -> RealiasPlan:
    """The writes that put `base`, stored under the aliases `previous` (with what
    earlier plans set aside), under `table`.

    A report set aside comes back when its pair is free again, or when it is observed
    later than the report there. A shadow whose source reports the same names again in
    the graph is forgotten (superseded); so is one whose pair is retracted (by the
    retraction itself: catalog/alias_repository.py `forget_shadows_at`), so a report
    set aside never returns through an unrelated change.
    """
    plan = RealiasPlan()
    stored: list[DependencyReport] = [r for pair in base.pairs.values() for r in reports_of(pair)]
    by_key: dict[ReportKey, list[_Candidate]] = {}
    for report in stored:
        placed, keeps = _placed(report, table)
        if keeps:
            by_key.setdefault(report_key(placed), []).append(
                _Candidate(placed, report_key(report), None)
            )
        else:
            plan.reports_set_aside.append(placed)
            plan.set_aside_from.append(report_key(report))
    reported_in_graph = {(r.discovery_source, reported_ends(r)) for r in stored}
    for shadow in report_shadows:
        identity = (shadow.report.discovery_source, reported_ends(shadow.report))
        placed, keeps = _placed(shadow.report, table)
        if identity in reported_in_graph:
            plan.report_shadows_forgotten.append(shadow.shadow_id)
        elif keeps:
            by_key.setdefault(report_key(placed), []).append(
                _Candidate(placed, None, shadow.shadow_id)
            )

    kept_keys: set[ReportKey] = set()
    for key, candidates in by_key.items():
        winner = max(candidates, key=_preference)
        kept_keys.add(key)
        for loser in candidates:
            if loser is not winner and loser.stored_key is not None:
                plan.reports_set_aside.append(loser.report)
                plan.set_aside_from.append(loser.stored_key)
        if winner.shadow_id is not None:
            plan.report_shadows_restored.append(winner.shadow_id)
        current = base.report((key[0], key[1]), key[2])
        if winner.report != current:
            plan.reports_written.append(winner.report)
            origin = winner.stored_key if winner.shadow_id is None else winner.shadow_id
            assert origin is not None
            plan.written_from[key] = origin
    stored_keys = {report_key(r): r for r in stored}
    written_keys = {report_key(r) for r in plan.reports_written}
    plan.reports_gone = [r for key, r in stored_keys.items() if key not in kept_keys]
    plan.keys_cleared = [
        *(report_key(r) for r in plan.reports_gone),
        *(key for key in written_keys if key in stored_keys),
    ]
    _plan_services(base, table, previous, service_shadows, stored, plan, now)
    return plan


def _names(reports: Iterable[DependencyReport]) -> set[str]:
    return {name for r in reports for name in (r.source, r.target)}


def _plan_services(
    base: GraphSnapshot,
    table: AliasTable,
    previous: AliasTable,
    shadows: Sequence[ShadowedService],
    stored: Sequence[DependencyReport],
    plan: RealiasPlan,
    now: datetime,
) -> None:
    cleared = set(plan.keys_cleared)
    remaining = [r for r in stored if report_key(r) not in cleared]
    named_after = _names(remaining) | _names(plan.reports_written)
    # Services whose reports this plan moves away: they may be left named by nothing.
    moved_from = _names(r for r in stored if report_key(r) in cleared)

    deleted: dict[str, Service] = {}
    copies: dict[str, Service] = {}
    for service_id, service in base.services.items():
        canonical = table.merges_service(service_id)
        if canonical is not None and service_id in named_after:
            # A report still lands on it: some source's alias points at this very name
            # (a rule's output is not resolved again), so merging it would orphan that.
            plan.warnings.append(
                f"service {service_id} is not merged into {canonical}: a source's alias "
                f"still maps reported names to {service_id}"
            )
        elif canonical is not None:
            deleted[service_id] = service
            copied_as = None
            # A declaration is kept under the canonical id; a discovered node is not
            # worth a node of its own there unless a report names it.
            wanted = not service.discovered or canonical in named_after
            copy_is_new = canonical not in base.services and canonical not in copies
            # (the canonical id itself renamed elsewhere cannot hold a copy: a rule's
            # output may be one that another rule renames)
            if wanted and copy_is_new and table.merges_service(canonical) is None:
                copies[canonical] = replace(service, service_id=canonical, updated_at=now)
                copied_as = canonical
            plan.services_set_aside.append((service, copied_as))
        elif service.discovered and service_id in moved_from and service_id not in named_after:
            deleted[service_id] = service
            plan.services_set_aside.append((service, None))

    kept = {s for s in base.services if s not in deleted}
    restored: dict[str, Service] = {}
    for shadow in shadows:
        service = shadow.service
        service_id = service.service_id
        if table.merges_service(service_id) is not None:
            continue  # still merged
        if service_id in base.services or service_id in restored:
            # Something holds the id again and keeps its own fields: the shadow is spent.
            plan.service_shadows_forgotten.append(shadow.shadow_id)
            continue
        unmerged = previous.merges_service(service_id) is not None
        if service_id not in named_after and (service.discovered or not unmerged):
            continue  # nothing brings it back: it stays aside
        restored[service_id] = replace(service, updated_at=now)
        plan.service_shadows_restored.append(shadow.shadow_id)
        copy = shadow.copied_as
        if copy is not None and copy in kept and copy not in named_after:
            untouched = all(
                getattr(base.services[copy], name) == getattr(service, name)
                for name in _COPIED_FIELDS
            )
            if untouched:
                deleted[copy] = base.services[copy]
                kept.discard(copy)

    created = {**copies, **restored}
    missing = named_after - kept - created.keys()
    plan.services_written = [
        *created.values(),
        *(discovered_service(name, now) for name in sorted(missing)),
    ]
    plan.services_deleted = list(deleted.values())
