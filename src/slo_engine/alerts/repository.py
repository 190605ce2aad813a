"""All SQL about circular-dependency alerts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.alerts.tables import circular_dependency_alerts as alerts
from slo_engine.graph.model import AlertStatus

_IN_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: uuid.UUID
    canonical_key: str
    members: list[str]
    cycle_path: list[str]
    status: AlertStatus
    first_detected_at: datetime
    last_detected_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewAlert:
    canonical_key: str
    members: list[str]
    cycle_path: list[str]


def _alert_from_row(row: Row[*tuple[Any, ...]]) -> Alert:
    m = dict(row._mapping)
    m["status"] = AlertStatus(m["status"])
    m["alert_id"] = m.pop("id")
    return Alert(**m)


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, alert_id: uuid.UUID) -> Alert | None:
        result = await self._session.execute(select(alerts).where(alerts.c.id == alert_id))
        row = result.one_or_none()
        return _alert_from_row(row) if row is not None else None

    async def count_unresolved(self) -> int:
        """Alerts open or acknowledged (the open-cycles gauge)."""
        result = await self._session.execute(
            select(func.count())
            .select_from(alerts)
            .where(alerts.c.status != AlertStatus.RESOLVED.value)
        )
        return int(result.scalar_one())

    async def list_alerts(
        self, status: AlertStatus | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Alert]:
        """Newest first, keyset-paginated on (first_detected_at, id)."""
        stmt = (
            select(alerts)
            .order_by(alerts.c.first_detected_at.desc(), alerts.c.id.desc())
            .limit(limit)
        )
        if status is not None:
            stmt = stmt.where(alerts.c.status == status.value)
        if after is not None:
            at, alert_id = after
            stmt = stmt.where(
                or_(
                    alerts.c.first_detected_at < at,
                    and_(alerts.c.first_detected_at == at, alerts.c.id < alert_id),
                )
            )
        result = await self._session.execute(stmt)
        return [_alert_from_row(row) for row in result]

    async def statuses_for_reconciliation(self, keys: Sequence[str]) -> dict[str, AlertStatus]:
        """Status by key of every open or acknowledged alert, and of any alert in `keys`."""
        result = await self._session.execute(
            select(alerts.c.canonical_key, alerts.c.status).where(
                alerts.c.status != AlertStatus.RESOLVED.value
            )
        )
        statuses = {row.canonical_key: AlertStatus(row.status) for row in result}
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            result = await self._session.execute(
                select(alerts.c.canonical_key, alerts.c.status).where(
                    alerts.c.canonical_key.in_(chunk)
                )
            )
            statuses.update({row.canonical_key: AlertStatus(row.status) for row in result})
        return statuses

    async def insert_many(self, new_alerts: Sequence[NewAlert], now: datetime) -> list[Alert]:
        if not new_alerts:
            return []
        rows = [
            {
                "id": uuid.uuid4(),
                "canonical_key": a.canonical_key,
                "members": a.members,
                "cycle_path": a.cycle_path,
                "status": AlertStatus.OPEN.value,
                "first_detected_at": now,
                "last_detected_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for a in new_alerts
        ]
        result = await self._session.execute(insert(alerts).returning(*alerts.c), rows)
        return [_alert_from_row(row) for row in result]

    async def set_status_by_keys(
        self,
        keys: Sequence[str],
        status: AlertStatus,
        actor: str,
        now: datetime,
        note: str | None = None,
    ) -> list[Alert]:
        """Move the alerts of `keys` to `status` on behalf of `actor` (with `note`, if
        given); returns them."""
        changed: list[Alert] = []
        values = _status_values(status, actor, now)
        if note is not None:
            values["note"] = note
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            result = await self._session.execute(
                update(alerts)
                .where(alerts.c.canonical_key.in_(chunk))
                .values(**values, last_detected_at=now)
                .returning(*alerts.c)
            )
            changed.extend(_alert_from_row(row) for row in result)
        return changed

    async def touch(self, keys: Sequence[str], now: datetime) -> None:
        """Record that these components were seen again."""
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            await self._session.execute(
                update(alerts).where(alerts.c.canonical_key.in_(chunk)).values(last_detected_at=now)
            )

    async def update_status(
        self, alert_id: uuid.UUID, status: AlertStatus, actor: str, note: str | None, now: datetime
    ) -> Alert:
        values = _status_values(status, actor, now)
        if note is not None:
            values["note"] = note
        result = await self._session.execute(
            update(alerts).where(alerts.c.id == alert_id).values(**values).returning(*alerts.c)
        )
        return _alert_from_row(result.one())

    async def carry_acknowledgement(
        self, alert_id: uuid.UUID, earlier: Alert, now: datetime
    ) -> None:
        """Acknowledge `alert_id` as `earlier` was: by the same person, at the same time,
        with the same note (the same cycle under other names)."""
        await self._session.execute(
            update(alerts)
            .where(alerts.c.id == alert_id)
            .values(
                status=AlertStatus.ACKNOWLEDGED.value,
                acknowledged_by=earlier.acknowledged_by,
                acknowledged_at=earlier.acknowledged_at,
                note=earlier.note,
                updated_at=now,
            )
        )


def _status_values(status: AlertStatus, actor: str, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if status is AlertStatus.ACKNOWLEDGED:
        values.update(acknowledged_by=actor, acknowledged_at=now)
    elif status is AlertStatus.RESOLVED:
        values.update(resolved_by=actor, resolved_at=now)
    else:
        values.update(
            acknowledged_by=None, acknowledged_at=None, resolved_by=None, resolved_at=None
        )
    return values
