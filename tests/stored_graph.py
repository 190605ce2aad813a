"""Everything a test database holds, as bytes, read straight from the engine.

For tests that must prove a refused request changed nothing: take `dump()` before and
after and compare. Every table of the schema (found in the engine's own catalog, so a
table a later migration adds is included without editing this file) is read whole,
ordered by its primary key, with the engine's plain driver (sqlite3, asyncpg), never
through the service's code or its API. The bytes are the repr of the rows as the driver
returns them: text, numbers, JSON documents (as their text) and timestamps exactly as
stored.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy.engine import make_url

# The tables of the schema (src/slo_engine/migrations/versions); a dump insists they
# are all there, so a test never compares two dumps that miss one.
EXPECTED_TABLES = frozenset(
    {
        "alembic_version",
        "api_keys",
        "circular_dependency_alerts",
        "discovery_source_status",
        "graph_identity",
        "graph_state",
        "job_runs",
        "service_dependencies",
        "services",
    }
)

_PG_TABLES = """
SELECT c.relname,
       COALESCE(
         (SELECT array_agg(a.attname ORDER BY k.ord)
            FROM pg_constraint p
            CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = p.conrelid AND a.attnum = k.attnum
           WHERE p.conrelid = c.oid AND p.contype = 'p'),
         '{}'::name[]) AS key
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind = 'r'
 ORDER BY c.relname
"""
_PG_COLUMNS = """
SELECT attname FROM pg_attribute
 WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select(table: str, key: list[str], columns: list[str]) -> str:
    # Without a primary key (alembic_version has one; this is for safety) every column
    # orders the rows, so the dump is still deterministic.
    order = key or columns
    return f"SELECT * FROM {_quoted(table)} ORDER BY {', '.join(_quoted(c) for c in order)}"


class StoredGraph:
    """A reader of one database (a SQLAlchemy URL of the service: sqlite+aiosqlite or
    postgresql+asyncpg). Keeps one connection open; `close()` it when done."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.engine = url.get_backend_name()
        self._sqlite: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pg: Any = None
        self._pg_catalog: list[tuple[str, tuple[str, ...], str]] | None = None
        if self.engine == "sqlite":
            assert url.database, database_url
            # Autocommit: no read transaction is left open between dumps, so each one
            # sees everything committed so far.
            self._sqlite = sqlite3.connect(url.database, isolation_level=None)
        elif self.engine == "postgresql":
            import asyncpg

            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._loop = asyncio.new_event_loop()
            self._pg = self._loop.run_until_complete(asyncpg.connect(dsn, timeout=10))
        else:
            raise ValueError(f"no reader for {self.engine}")

    def rows(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        """{table: (column names, rows ordered by primary key)} of every table."""
        if self._sqlite is not None:
            return self._sqlite_rows(self._sqlite)
        assert self._loop is not None
        result: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]
        result = self._loop.run_until_complete(self._pg_rows())
        return result

    def dump(self) -> bytes:
        """Every row of every table, as bytes: equal dumps are equal databases."""
        tables = self.rows()
        missing = EXPECTED_TABLES - tables.keys()
        assert not missing, f"tables missing from the database: {sorted(missing)}"
        return repr(sorted(tables.items())).encode()

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None and self._loop is not None:
            self._loop.run_until_complete(self._pg.close())
            self._loop.close()

    @staticmethod
    def _sqlite_rows(
        connection: sqlite3.Connection,
    ) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        result = {}
        for table in names:
            info = connection.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
            columns = [row[1] for row in info]
            key = [row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            cursor = connection.execute(_select(table, key, columns))
            result[table] = (tuple(columns), [tuple(row) for row in cursor.fetchall()])
        return result

    async def _pg_rows(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        result = {}
        # One snapshot for all tables.
        async with self._pg.transaction(isolation="repeatable_read", readonly=True):
            if self._pg_catalog is None:  # the schema does not change under a test
                catalog = []
                for record in await self._pg.fetch(_PG_TABLES):
                    table, key = record["relname"], list(record["key"])
                    columns = [
                        r["attname"] for r in await self._pg.fetch(_PG_COLUMNS, _quoted(table))
                    ]
                    catalog.append((table, tuple(columns), _select(table, key, columns)))
                self._pg_catalog = catalog
            for table, columns, select in self._pg_catalog:
                rows = await self._pg.fetch(select)
                result[table] = (columns, [tuple(row.values()) for row in rows])
        return result
