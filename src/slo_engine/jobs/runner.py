"""Scheduled jobs: each runs in every API process, and each run happens once per
interval cluster-wide.

Time is cut into slots of the job's interval (slot = epoch seconds // interval). When a
job fires, the replica first claims (job, slot) by inserting that row into `job_runs`;
the primary key lets exactly one insert win, on PostgreSQL across replicas as on SQLite.
The losers skip. A claim stays, so a replica that starts later in the same interval
skips too (what an advisory lock alone would not give), and a replica killed mid-run
only loses that slot: the next interval's slot is free for whoever fires first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from slo_engine.infra.components import AppComponent
from slo_engine.infra.db import Database
from slo_engine.jobs.repository import JobRunRepository
from slo_engine.observability.metrics import JOB_DURATION, JOB_RUNS

logger = logging.getLogger(__name__)

JobBody = Callable[[datetime], Awaitable[str]]  # returns a one-line summary


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    interval_seconds: int
    run: JobBody


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobRunner:
    """Claims a job's slot and runs it; used by the scheduler and by `slo-cli jobs run`."""

    def __init__(self, database: Database, jobs: list[Job], replica: str | None = None) -> None:
        self._database = database
        self.jobs = {job.name: job for job in jobs}
        self.replica = replica or replica_id()

    async def run_in_slot(self, name: str, now: datetime | None = None) -> str | None:
        """Run `name` for the slot of `now` if this replica wins it; its summary, or
        None when another replica has the slot."""
        job = self.jobs[name]
        now = now or datetime.now(UTC)
        slot = int(now.timestamp()) // job.interval_seconds
        async with self._database.session_scope() as session:
            won = await JobRunRepository(session).claim(name, slot, self.replica, now)
        if not won:
            logger.debug("job %s slot %d: another replica has it", name, slot)
            JOB_RUNS.labels(name, "skipped").inc()
            return None
        outcome, summary = "success", ""
        started = time.perf_counter()
        try:
            summary = await job.run(now)
            return summary
        except asyncio.CancelledError:  # shutdown stopped it mid-run
            outcome, summary = "cancelled", "stopped by the process shutting down"
            raise
        except Exception as error:
            outcome, summary = "failure", f"{type(error).__name__}: {error}"
            logger.warning("job %s slot %d failed: %s", name, slot, summary)
            return summary
        finally:
            JOB_RUNS.labels(name, outcome).inc()
            JOB_DURATION.labels(name, outcome).observe(time.perf_counter() - started)
            try:
                async with self._database.session_scope() as session:
                    await JobRunRepository(session).finish(
                        name, slot, datetime.now(UTC), outcome, summary
                    )
            except Exception:
                logger.exception("could not record the end of job %s slot %d", name, slot)

    async def run_now(self, name: str) -> str:
        """Run `name` at once, outside the slots (operators, tests)."""
        return await self.jobs[name].run(datetime.now(UTC))


class JobScheduler:
    """APScheduler 3 in the app's event loop, firing each job at its interval."""

    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        for job in self._runner.jobs.values():
            self._scheduler.add_job(
                self._runner.run_in_slot,
                IntervalTrigger(seconds=job.interval_seconds, timezone=UTC),
                args=[job.name],
                id=job.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=job.interval_seconds,
            )
        self._scheduler.start()
        logger.info(
            "scheduler started on %s: %s",
            self._runner.replica,
            ", ".join(f"{j.name} every {j.interval_seconds} s" for j in self._runner.jobs.values()),
        )

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)


# The jobs this process runs in their slots (and `run_now` for operators and tests).
JOBS: AppComponent[JobRunner] = AppComponent("jobs")
