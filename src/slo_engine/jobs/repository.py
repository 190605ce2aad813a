"""All SQL about job runs (`job_runs`): claiming a slot, recording its end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.jobs.tables import job_runs


class JobRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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
