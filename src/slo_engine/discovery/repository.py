"""Reads and writes of source health and job run slots. Callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.discovery.tables import discovery_source_status


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

    async def _record(self, name: str, values: dict[str, Any]) -> None:
        """Update the source's row, made first if the source never ran."""
        exists = await self._session.execute(
            select(discovery_source_status.c.name).where(discovery_source_status.c.name == name)
        )
        if exists.first() is None:
            await self._session.execute(
                discovery_source_status.insert().values(name=name, consecutive_failures=0)
            )
        await self._session.execute(
            update(discovery_source_status)
            .where(discovery_source_status.c.name == name)
            .values(**values)
        )

    async def record_success(self, name: str, at: datetime, nodes: int, edges: int) -> None:
        await self._record(
            name,
            {
                "last_attempt_at": at,
                "last_success_at": at,
                "consecutive_failures": 0,
                "last_nodes": nodes,
                "last_edges": edges,
            },
        )

    async def record_failure(self, name: str, at: datetime, error: str) -> None:
        failures = discovery_source_status.c.consecutive_failures + 1
        await self._record(
            name,
            {
                "last_attempt_at": at,
                "last_error": error[:4000],
                "last_error_at": at,
                "consecutive_failures": failures,
            },
        )
