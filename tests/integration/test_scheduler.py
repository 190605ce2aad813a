"""Scheduled jobs run once per interval across replicas sharing one database."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from slo_engine.infra.db import Database
from slo_engine.jobs.repository import JobRunRepository
from slo_engine.jobs.runner import Job, JobRunner, JobScheduler
from slo_engine.settings import Settings


async def test_two_replicas_run_each_slot_exactly_once(database_url: str) -> None:
    executions: list[tuple[int, str]] = []  # (slot, replica) of every real execution

    def counting_job(replica: str) -> Job:
        async def run(now: datetime) -> str:
            executions.append((int(now.timestamp()), replica))
            await asyncio.sleep(0.05)  # long enough for the other replica to try
            return "counted"

        return Job("count", 1, run)

    databases = [Database.from_settings(Settings(database_url=database_url)) for _ in range(2)]
    runners = [
        JobRunner(db, [counting_job(name)], replica=name)
        for db, name in zip(databases, ("replica-a", "replica-b"), strict=True)
    ]
    schedulers = [JobScheduler(runner) for runner in runners]
    try:
        for scheduler in schedulers:
            scheduler.start()
        await asyncio.sleep(4.5)  # at least three intervals
    finally:
        for scheduler in schedulers:
            scheduler.shutdown()
        await asyncio.sleep(0.2)  # let a run in flight finish
    try:
        async with databases[0].session_scope() as session:
            runs = await JobRunRepository(session).runs("count")
    finally:
        for db in databases:
            await db.dispose()

    per_slot = Counter(slot for slot, _ in executions)
    assert len(per_slot) >= 3, executions
    assert set(per_slot.values()) == {1}, executions  # never twice in one slot
    assert [slot for slot, _, _ in runs] == sorted(per_slot)
    assert {replica for _, replica, _ in runs} <= {"replica-a", "replica-b"}
    assert all(outcome == "success" for _, _, outcome in runs if outcome is not None)


async def test_a_replica_that_dies_mid_run_only_loses_its_slot(database_url: str) -> None:
    ran: list[str] = []

    async def run(now: datetime) -> str:
        ran.append(now.isoformat())
        return "ok"

    database = Database.from_settings(Settings(database_url=database_url))
    try:
        dead = JobRunner(database, [Job("sweep", 60, run)], replica="dead")
        alive = JobRunner(database, [Job("sweep", 60, run)], replica="alive")
        start = datetime(2026, 11, 27, 12, 0, 30, tzinfo=UTC)
        slot = int(start.timestamp()) // 60
        # The dead replica claimed the slot and never finished (killed mid-run).
        async with database.session_scope() as session:
            assert await JobRunRepository(session).claim("sweep", slot, "dead", start)
        assert await alive.run_in_slot("sweep", start) is None  # that slot is gone
        assert await alive.run_in_slot("sweep", start + timedelta(minutes=1)) == "ok"
        assert await dead.run_in_slot("sweep", start + timedelta(minutes=1)) is None
        assert len(ran) == 1
        async with database.session_scope() as session:
            runs = await JobRunRepository(session).runs("sweep")
        assert runs == [(slot, "dead", None), (slot + 1, "alive", "success")]
    finally:
        await database.dispose()
