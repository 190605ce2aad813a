"""Use cases of circular-dependency alerts: keep them in step with the graph, list them,
and let people acknowledge or resolve them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.repository import Alert, AlertRepository, NewAlert
from slo_engine.alerts.rules import ALLOWED_TRANSITIONS, SYSTEM_ACTOR, canonical_key, reconcile
from slo_engine.catalog.change_log import ChangeLog
from slo_engine.errors import AlertNotFoundError, ConflictError
from slo_engine.graph.change_log import cycle_change
from slo_engine.graph.cycles import cycle_path
from slo_engine.graph.model import AlertStatus


@dataclass(frozen=True, slots=True)
class DetectedCycle:
    alert_id: uuid.UUID
    cycle_path: list[str]


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """What a reconciliation did: the cycles opened (new or back), the ones resolved."""

    opened: list[DetectedCycle]
    resolved: list[DetectedCycle]


async def reconcile_alerts(
    session: AsyncSession,
    components: Sequence[list[str]],
    adjacency: Mapping[str, Sequence[str]],
    now: datetime,
    change_log: ChangeLog | None = None,
    resolve_reason: str | None = None,
) -> CycleOutcome:
    """Make the alerts on record match `components`, every cyclic component of the graph.

    New components get an open alert, components that came back reopen theirs, and
    open or acknowledged alerts whose component is gone are resolved by the system, with
    `resolve_reason` as their note when the write knows why. Each opening and resolution
    is recorded in `change_log`. Returns the cycles that are new or back (what an
    ingestion "created") and those resolved.
    """
    repository = AlertRepository(session)
    by_key = {canonical_key(members): members for members in components}
    plan = reconcile(by_key, await repository.statuses_for_reconciliation(list(by_key)))
    created = await repository.insert_many(
        [NewAlert(key, by_key[key], cycle_path(by_key[key], adjacency)) for key in plan.create],
        now,
    )
    reopened = await repository.set_status_by_keys(plan.reopen, AlertStatus.OPEN, SYSTEM_ACTOR, now)
    resolved = await repository.set_status_by_keys(
        plan.resolve, AlertStatus.RESOLVED, SYSTEM_ACTOR, now, note=resolve_reason
    )
    await repository.touch(plan.still_present, now)
    if change_log is not None:
        await change_log.record(
            [cycle_change(True, alert.cycle_path) for alert in [*created, *reopened]]
            + [cycle_change(False, alert.cycle_path, resolve_reason) for alert in resolved]
        )
    return CycleOutcome(
        [DetectedCycle(alert.alert_id, alert.cycle_path) for alert in [*created, *reopened]],
        [DetectedCycle(alert.alert_id, alert.cycle_path) for alert in resolved],
    )


async def carry_acknowledgements(
    session: AsyncSession,
    outcome: CycleOutcome,
    acknowledged_before: Sequence[Alert],
    same_service: Callable[[str], str],
    now: datetime,
) -> int:
    """Acknowledge each cycle `outcome` opened that is one of the cycles acknowledged
    before the write (`acknowledged_before`, read before it resolved them: resolving
    replaces the note) under other names (`same_service` maps a name to the one it is
    the same service as: an alias change renames cycles, it does not fix them); returns
    how many. O(acknowledged + opened)."""
    resolved = {cycle.alert_id for cycle in outcome.resolved}
    earlier_by_members = {
        frozenset(map(same_service, alert.members)): alert
        for alert in acknowledged_before
        if alert.alert_id in resolved
    }
    if not earlier_by_members:
        return 0
    repository = AlertRepository(session)
    carried = 0
    for cycle in outcome.opened:
        alert = await repository.get(cycle.alert_id)
        if alert is None:
            continue
        earlier = earlier_by_members.get(frozenset(map(same_service, alert.members)))
        if earlier is not None:
            await repository.carry_acknowledgement(alert.alert_id, earlier, now)
            carried += 1
    return carried


async def list_alerts(
    session: AsyncSession,
    status: AlertStatus | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Alert]:
    return await AlertRepository(session).list_alerts(status, after, limit)


async def get_alert(session: AsyncSession, alert_id: uuid.UUID) -> Alert:
    alert = await AlertRepository(session).get(alert_id)
    if alert is None:
        raise AlertNotFoundError(f"No circular-dependency alert has id '{alert_id}'.")
    return alert


async def change_status(
    session: AsyncSession,
    alert_id: uuid.UUID,
    status: AlertStatus,
    actor: str,
    note: str | None,
) -> Alert:
    """Acknowledge, resolve or reopen an alert. Asking for its current status is a no-op."""
    alert = await get_alert(session, alert_id)
    if alert.status is status and note is None:
        return alert
    if alert.status is not status and status not in ALLOWED_TRANSITIONS[alert.status]:
        raise ConflictError(f"An alert that is {alert.status.value} cannot become {status.value}.")
    return await AlertRepository(session).update_status(
        alert_id, status, actor, note, datetime.now(UTC)
    )
