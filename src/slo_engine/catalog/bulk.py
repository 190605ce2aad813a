"""Bulk upserts of services and dependency reports, one implementation per engine.

SQLAlchemy's generic executemany spends ~100 µs of Python per row on parameter
processing, which alone would make a 250,000-edge ingestion take half a minute. So the
hot writes go to the driver directly, in each engine's native bulk form:

* PostgreSQL: binary COPY of the rows into a temporary table, then one
  ``INSERT … SELECT … ON CONFLICT DO UPDATE`` per table: one round trip per table per
  batch, and the fastest upsert measured on this kind of machine (design.md).
* SQLite: one prepared ``INSERT … ON CONFLICT DO UPDATE`` stepped over all rows by the
  driver's C ``executemany``: in-process, so there is no round trip to save.

Both write exactly the same values as the table definitions in catalog/tables.py would
(ids, UTC timestamps, JSON text). Services come as prepared `ServiceRow` tuples,
reports as domain `DependencyReport`s with the row ids of their services.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

import orjson
from asyncpg.pgproto import pgproto
from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.identity import service_uuid
from slo_engine.graph.model import (
    DECLARED_ATTRIBUTES,
    OBSERVED_ATTRIBUTES,
    REPORTED_NAMES,
    DependencyReport,
)
from slo_engine.graph.stored_rows import REPORT_FIELDS_REPLACED, SERVICE_FIELDS_KEPT_WHEN_ABSENT

# Columns written, in order. Kept next to the SQL that uses them.
_SERVICE_COLUMNS = (
    "id",
    "service_id",
    "display_name",
    "team",
    "criticality",
    "metadata",
    "discovered",
    "created_at",
    "updated_at",
    "kind",
    "kind_declared",
    "revision",
)
_REPORT_COLUMNS = (
    "id",
    "source_service_id",
    "target_service_id",
    "discovery_source",
    *DECLARED_ATTRIBUTES,
    "confidence_score",
    *OBSERVED_ATTRIBUTES,
    *REPORTED_NAMES,
    "first_observed_at",
    "last_observed_at",
    "is_stale",
    "created_at",
    "updated_at",
    "revision",
)
# Columns a report seen again takes from the new report (graph/stored_rows.py).
_REPORT_REPLACED = (*REPORT_FIELDS_REPLACED, "updated_at", "revision")


class ServiceRow(NamedTuple):
    id: uuid.UUID
    service_id: str
    display_name: str | None
    team: str | None
    criticality: str | None
    metadata: dict[str, Any] | None  # None: keep the stored metadata on conflict
    discovered: bool
    created_at: datetime
    updated_at: datetime
    kind: str | None  # None: a service, or keep the stored kind on conflict
    kind_declared: bool


class BulkWriter(Protocol):
    """Every method takes the graph revision of the write: each row it inserts or
    updates records it (`revision` column), which is how another process's live graph
    finds what changed."""

    async def upsert_declared_services(self, rows: Sequence[ServiceRow], revision: int) -> None: ...
    async def insert_missing_services(self, rows: Sequence[ServiceRow], revision: int) -> None: ...
    async def upsert_reports(
        self, reports: Sequence[DependencyReport], now: datetime, revision: int
    ) -> None: ...


def _json(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _report_attributes(r: DependencyReport) -> tuple[Any, ...]:
    """The columns from `discovery_source` to `target_reported_as`, in `_REPORT_COLUMNS`
    order.

    The enums are `StrEnum`s, which both drivers write as their text value.
    """
    return (
        r.discovery_source,
        r.communication_mode,
        r.criticality,
        r.protocol,
        r.timeout_ms,
        None if r.retry_config is None else _json(r.retry_config),
        r.confidence_score,
        r.request_rate,
        r.error_rate,
        r.latency_p95_ms,
        r.source_reported_as,
        r.target_reported_as,
    )


@functools.lru_cache(maxsize=262_144)
def _pg_service_uuid(service_id: str) -> pgproto.UUID:
    # asyncpg's own UUID type: COPY writes its 16 bytes as they are, where a
    # `uuid.UUID` costs a Python `.bytes` call per value.
    return pgproto.UUID(service_uuid(service_id).bytes)


@functools.lru_cache(maxsize=262_144)
def _sqlite_service_uuid(service_id: str) -> str:
    # How SQLAlchemy's Uuid stores a uuid on SQLite: 32 hex digits.
    return service_uuid(service_id).hex


def _declared_update_sql(table: str, replace_metadata: bool) -> str:
    """The SET clause of a declared service's upsert (graph/stored_rows.py's rules)."""
    kept = "".join(
        f"{name} = COALESCE(excluded.{name}, {table}.{name}), "
        for name in SERVICE_FIELDS_KEPT_WHEN_ABSENT
    )
    metadata = "metadata = excluded.metadata, " if replace_metadata else ""
    return (
        f"{kept}{metadata}discovered = false, updated_at = excluded.updated_at, "
        f"kind_declared = {table}.kind_declared OR excluded.kind_declared, "
        "revision = excluded.revision"
    )


_REPORT_UPDATE_SQL = (
    ", ".join(f"{name} = excluded.{name}" for name in _REPORT_REPLACED)
    + ", is_stale = false"
    + ", last_observed_at = CASE WHEN excluded.last_observed_at > "
    "service_dependencies.last_observed_at THEN excluded.last_observed_at "
    "ELSE service_dependencies.last_observed_at END"
)
_REPORT_CONFLICT = "(source_service_id, target_service_id, discovery_source)"


async def driver_connection(session: AsyncSession) -> Any:
    """The session's asyncpg connection, inside the session's transaction."""
    connection = await session.connection()
    # The driver's transaction starts lazily with the first statement SQLAlchemy
    # sends; send one, so that what follows on the raw connection is inside it.
    await connection.exec_driver_sql("SELECT 1")
    raw = await connection.get_raw_connection()
    return raw.driver_connection


class PostgresBulkWriter:
    """COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _driver(self) -> Any:
        return await driver_connection(self._session)

    async def _copy_then_insert(
        self,
        staging_ddl: str,
        staging: str,
        records: list[tuple[Any, ...]],
        insert_sql: str,
    ) -> None:
        driver = await self._driver()
        await driver.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ({staging_ddl}) ON COMMIT DROP"
        )
        await driver.execute(f"TRUNCATE {staging}")
        await driver.copy_records_to_table(staging, records=records)
        await driver.execute(insert_sql)

    _SERVICE_STAGING = (
        "id uuid, service_id text, display_name text, team text, criticality text, "
        "metadata text, discovered boolean, created_at timestamptz, updated_at timestamptz, "
        "kind text, kind_declared boolean"
    )

    def _service_records(self, rows: Sequence[ServiceRow]) -> list[tuple[Any, ...]]:
        return [(*row[:5], _json(row.metadata) or "{}", *row[6:]) for row in rows]

    def _service_select(self, revision: int) -> str:
        columns = ", ".join(_SERVICE_COLUMNS)
        return (
            f"INSERT INTO services ({columns}) SELECT id, service_id, display_name, team, "
            "criticality, metadata::json, discovered, created_at, updated_at, kind, "
            f"kind_declared, {int(revision)} "
            "FROM _staged_services ORDER BY service_id "
        )

    async def upsert_declared_services(self, rows: Sequence[ServiceRow], revision: int) -> None:
        for replace_metadata in (True, False):
            batch = [r for r in rows if (r.metadata is not None) == replace_metadata]
            if batch:
                await self._copy_then_insert(
                    self._SERVICE_STAGING,
                    "_staged_services",
                    self._service_records(batch),
                    self._service_select(revision)
                    + "ON CONFLICT (service_id) DO UPDATE SET "
                    + _declared_update_sql("services", replace_metadata),
                )

    async def insert_missing_services(self, rows: Sequence[ServiceRow], revision: int) -> None:
        if rows:
            await self._copy_then_insert(
                self._SERVICE_STAGING,
                "_staged_services",
                self._service_records(rows),
                self._service_select(revision) + "ON CONFLICT (service_id) DO NOTHING",
            )

    async def upsert_reports(
        self, reports: Sequence[DependencyReport], now: datetime, revision: int
    ) -> None:
        if not reports:
            return
        staging_ddl = (
            "source_service_id uuid, target_service_id uuid, discovery_source text, "
            "communication_mode text, criticality text, protocol text, timeout_ms integer, "
            "retry_config text, confidence_score double precision, request_rate double precision, "
            "error_rate double precision, latency_p95_ms double precision, "
            "source_reported_as text, target_reported_as text, "
            "observed_at timestamptz, now timestamptz"
        )
        records = [
            (
                _pg_service_uuid(r.source),
                _pg_service_uuid(r.target),
                *_report_attributes(r),
                r.last_observed_at,
                now,
            )
            for r in reports
        ]
        columns = ", ".join(_REPORT_COLUMNS)
        insert_sql = (
            f"INSERT INTO service_dependencies ({columns}) "
            "SELECT gen_random_uuid(), source_service_id, target_service_id, discovery_source, "
            "communication_mode, criticality, protocol, timeout_ms, retry_config::json, "
            "confidence_score, request_rate, error_rate, latency_p95_ms, "
            "source_reported_as, target_reported_as, "
            f"observed_at, observed_at, false, now, now, {int(revision)} FROM _staged_reports "
            # A stable order keeps concurrent writers from deadlocking on row locks.
            "ORDER BY source_service_id, target_service_id "
            f"ON CONFLICT {_REPORT_CONFLICT} DO UPDATE SET {_REPORT_UPDATE_SQL}"
        )
        await self._copy_then_insert(staging_ddl, "_staged_reports", records, insert_sql)


def sqlite_time(value: datetime) -> str:
    """The text form SQLAlchemy's SQLite DateTime writes and reads back (naive UTC,
    the year in four digits: `strftime("%Y")` writes year 92 as `92`, which reads back
    as nothing at all).

    >>> sqlite_time(datetime(92, 1, 4, 15, 33, 40, tzinfo=UTC))
    '0092-01-04 15:33:40.000000'
    """
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class SqliteBulkWriter:
    """One prepared upsert, stepped over every row by the driver's executemany."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _executemany(self, sql: str, records: list[tuple[Any, ...]]) -> None:
        connection = await self._session.connection()
        await connection.exec_driver_sql(sql, records)

    def _service_records(self, rows: Sequence[ServiceRow], revision: int) -> list[tuple[Any, ...]]:
        return [
            (
                row.id.hex,
                row.service_id,
                row.display_name,
                row.team,
                row.criticality,
                _json(row.metadata) or "{}",
                1 if row.discovered else 0,
                sqlite_time(row.created_at),
                sqlite_time(row.updated_at),
                row.kind,
                1 if row.kind_declared else 0,
                revision,
            )
            for row in rows
        ]

    def _service_insert(self) -> str:
        columns = ", ".join(_SERVICE_COLUMNS)
        marks = ", ".join("?" for _ in _SERVICE_COLUMNS)
        return f"INSERT INTO services ({columns}) VALUES ({marks}) "

    async def upsert_declared_services(self, rows: Sequence[ServiceRow], revision: int) -> None:
        for replace_metadata in (True, False):
            batch = [r for r in rows if (r.metadata is not None) == replace_metadata]
            if batch:
                await self._executemany(
                    self._service_insert()
                    + "ON CONFLICT (service_id) DO UPDATE SET "
                    + _declared_update_sql("services", replace_metadata),
                    self._service_records(batch, revision),
                )

    async def insert_missing_services(self, rows: Sequence[ServiceRow], revision: int) -> None:
        if rows:
            await self._executemany(
                self._service_insert() + "ON CONFLICT (service_id) DO NOTHING",
                self._service_records(rows, revision),
            )

    async def upsert_reports(
        self, reports: Sequence[DependencyReport], now: datetime, revision: int
    ) -> None:
        if not reports:
            return
        columns = ", ".join(_REPORT_COLUMNS)
        marks = ", ".join("?" for _ in _REPORT_COLUMNS)
        sql = (
            f"INSERT INTO service_dependencies ({columns}) VALUES ({marks}) "
            f"ON CONFLICT {_REPORT_CONFLICT} DO UPDATE SET {_REPORT_UPDATE_SQL}"
        )
        written_at = sqlite_time(now)
        observed_text: dict[datetime, str] = {}
        records = []
        for r in reports:
            observed = observed_text.get(r.last_observed_at)
            if observed is None:
                observed = observed_text[r.last_observed_at] = sqlite_time(r.last_observed_at)
            records.append(
                (
                    # Row ids of reports are internal: random 128 bits as SQLAlchemy's
                    # Uuid stores them on SQLite (32 hex digits), cheaper than uuid4().
                    os.urandom(16).hex(),
                    _sqlite_service_uuid(r.source),
                    _sqlite_service_uuid(r.target),
                    *_report_attributes(r),
                    observed,
                    observed,
                    0,
                    written_at,
                    written_at,
                    revision,
                )
            )
        await self._executemany(sql, records)


def bulk_writer(session: AsyncSession) -> BulkWriter:
    if session.get_bind().dialect.name == "postgresql":
        return PostgresBulkWriter(session)
    return SqliteBulkWriter(session)
