"""Reads and writes of `api_keys`. Callers own the transaction (except `find_by_key_id`,
which the per-request check runs on an autocommit connection: one round trip)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from slo_engine.access.keys import Scope
from slo_engine.access.tables import api_keys
from slo_engine.errors import ConflictError


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret."""

    name: str
    key_id: str
    scopes: frozenset[Scope]
    rate_limit_ingestion: str | None
    rate_limit_query: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredKey:
    key: ApiKey
    secret_digest: str


_COLUMNS = (
    api_keys.c.name,
    api_keys.c.key_id,
    api_keys.c.scopes,
    api_keys.c.rate_limit_ingestion,
    api_keys.c.rate_limit_query,
    api_keys.c.created_at,
    api_keys.c.expires_at,
    api_keys.c.revoked_at,
    api_keys.c.last_used_at,
)


def _key_from_row(row: Row[*tuple[Any, ...]]) -> ApiKey:
    mapping = row._mapping
    return ApiKey(
        name=mapping["name"],
        key_id=mapping["key_id"],
        scopes=frozenset(Scope(s) for s in mapping["scopes"].split()),
        rate_limit_ingestion=mapping["rate_limit_ingestion"],
        rate_limit_query=mapping["rate_limit_query"],
        created_at=mapping["created_at"],
        expires_at=mapping["expires_at"],
        revoked_at=mapping["revoked_at"],
        last_used_at=mapping["last_used_at"],
    )


async def find_by_key_id(connection: AsyncConnection, key_id: str) -> StoredKey | None:
    result = await connection.execute(
        select(*_COLUMNS, api_keys.c.secret_digest).where(api_keys.c.key_id == key_id)
    )
    row = result.first()
    if row is None:
        return None
    return StoredKey(_key_from_row(row), row.secret_digest)


async def record_use(connection: AsyncConnection, key_id: str, used_at: datetime) -> None:
    """Move `last_used_at` forward (never back)."""
    await connection.execute(
        update(api_keys)
        .where(api_keys.c.key_id == key_id)
        .where(or_(api_keys.c.last_used_at.is_(None), api_keys.c.last_used_at < used_at))
        .values(last_used_at=used_at)
    )


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        name: str,
        key_id: str,
        secret_digest: str,
        scopes: Sequence[Scope],
        rate_limit_ingestion: str | None,
        rate_limit_query: str | None,
        created_at: datetime,
        expires_at: datetime | None,
    ) -> ApiKey:
        ordered = sorted(set(scopes))
        try:
            async with self._session.begin_nested():
                await self._session.execute(
                    api_keys.insert().values(
                        id=uuid.uuid4(),
                        name=name,
                        key_id=key_id,
                        secret_digest=secret_digest,
                        scopes=" ".join(ordered),
                        rate_limit_ingestion=rate_limit_ingestion,
                        rate_limit_query=rate_limit_query,
                        created_at=created_at,
                        expires_at=expires_at,
                    )
                )
        except IntegrityError as error:
            raise ConflictError(f"An API key named '{name}' already exists.") from error
        return ApiKey(
            name=name,
            key_id=key_id,
            scopes=frozenset(ordered),
            rate_limit_ingestion=rate_limit_ingestion,
            rate_limit_query=rate_limit_query,
            created_at=created_at,
            expires_at=expires_at,
            revoked_at=None,
            last_used_at=None,
        )

    async def list(self) -> list[ApiKey]:
        result = await self._session.execute(select(*_COLUMNS).order_by(api_keys.c.name))
        return [_key_from_row(row) for row in result]

    async def get(self, name: str) -> ApiKey | None:
        result = await self._session.execute(select(*_COLUMNS).where(api_keys.c.name == name))
        row = result.first()
        return None if row is None else _key_from_row(row)

    async def revoke(self, name: str, revoked_at: datetime) -> None:
        """Revoke the key now, unless it already was (the first revocation time stays)."""
        await self._session.execute(
            update(api_keys)
            .where(api_keys.c.name == name)
            .where(api_keys.c.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )

    async def count_usable(self, now: datetime) -> int:
        """Keys neither revoked nor expired."""
        result = await self._session.execute(
            select(func.count())
            .select_from(api_keys)
            .where(api_keys.c.revoked_at.is_(None))
            .where(or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now))
        )
        return int(result.scalar_one())
