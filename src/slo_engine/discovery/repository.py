"""Reads and writes of source health and job run slots. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.discovery.tables import discovery_source_status, job_runs


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    last_nodes: int | None
    last_edges: int | None


class DiscoveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def statuses(self) -> dict[str, SourceStatus]:
        result = await self._session.execute(select(discovery_source_status))
        return {row.name: SourceStatus(**row._mapping) for row in result}

    async def _ensure(self, name: str) -> None:
        exists = await self._session.execute(
            select(discovery_source_status.c.name).where(discovery_source_status.c.name == name)
        )
        if exists.first() is None:
            await self._session.execute(
                discovery_source_status.insert().values(name=name, consecutive_failures=0)
            )

    async def record_success(self, name: str, at: datetime, nodes: int, edges: int) -> None:
        await self._ensure(name)
        await self._session.execute(
            update(discovery_source_status)
            .where(discovery_source_status.c.name == name)
            .values(
                last_attempt_at=at,
                last_success_at=at,
                consecutive_failures=0,
                last_nodes=nodes,
                last_edges=edges,
            )
        )

    async def record_failure(self, name: str, at: datetime, error: str) -> None:
        await self._ensure(name)
        await self._session.execute(
            update(discovery_source_status)
            .where(discovery_source_status.c.name == name)
            .values(
                last_attempt_at=at,
                last_error=error[:4000],
                last_error_at=at,
                consecutive_failures=discovery_source_status.c.consecutive_failures + 1,
            )
        )

    async def claim(self, job: str, slot: int, replica: str, at: datetime) -> bool:
        """Claim the run of `job` for `slot`: True for exactly one caller, cluster-wide."""
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    job_runs.insert().values(job=job, slot=slot, claimed_by=replica, started_at=at)
                )
        except IntegrityError:
            return False
        return True

    async def finish(self, job: str, slot: int, at: datetime, outcome: str, detail: str) -> None:
        await self._session.execute(
            update(job_runs)
            .where(job_runs.c.job == job, job_runs.c.slot == slot)
            .values(finished_at=at, outcome=outcome, detail=detail[:4000])
        )

    async def runs(self, job: str) -> list[tuple[int, str, str | None]]:
        """(slot, claimed_by, outcome) of every recorded run of `job`, by slot."""
        result = await self._session.execute(
            select(job_runs.c.slot, job_runs.c.claimed_by, job_runs.c.outcome)
            .where(job_runs.c.job == job)
            .order_by(job_runs.c.slot)
        )
        return [(int(r.slot), r.claimed_by, r.outcome) for r in result]
