"""API-key use cases: create, list, revoke, and the per-request authentication.

Every key change (here, whether through the API or the CLI) bumps the access revision
in its transaction and notifies the other processes (catalog/repository.py). Each
process caches the key rows it has looked up for as long as the access revision its
live graph has applied stays the same (live/graph.py), so a request whose key is
cached costs no database work at all. A revocation takes effect at once on the process
that made it, and on every other within LIVE_GRAPH_BACKSTOP_SECONDS (at once when the
notification arrives; the bound holds even if it is lost).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.access import repository
from slo_engine.access.keys import Scope, generate_key, parse_key, secret_matches
from slo_engine.access.repository import ApiKey, ApiKeyRepository, StoredKey
from slo_engine.catalog.repository import bump_access_revision
from slo_engine.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    InvalidInputError,
    NotFoundError,
)
from slo_engine.infra.background import start_in_background
from slo_engine.infra.db import Database, after_commit
from slo_engine.rate_policy import InvalidRateError, parse_rate

logger = logging.getLogger(__name__)

KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
_DURATION = re.compile(r"^(?P<amount>\d+)(?P<unit>[mhdw])$")
_UNIT = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
# `last_used_at` is written at most once per key and replica in this interval.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyNotFoundError(NotFoundError):
    title = "API key not found"


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `2w`.

    >>> parse_duration("90d").days, parse_duration("12h").seconds
    (90, 43200)
    """
    match = _DURATION.match(text.strip())
    if match is None or int(match["amount"]) < 1:
        raise InvalidInputError(
            f"{text!r} is not a duration: write it like '90d', '12h', '30m' or '2w'"
        )
    return int(match["amount"]) * _UNIT[match["unit"]]


def _checked_rate(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    try:
        return str(parse_rate(text))
    except InvalidRateError as error:
        raise InvalidInputError(
            str(error), errors=[{"pointer": f"/{field}", "detail": str(error)}]
        ) from error


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: Sequence[Scope],
    expires_at: datetime | None = None,
    rate_limit_ingestion: str | None = None,
    rate_limit_query: str | None = None,
    on_committed: Callable[[int], None] | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns it with its plaintext, which exists nowhere else.
    `on_committed(access_revision)` runs once the change has committed."""
    if not re.match(KEY_NAME_PATTERN, name):
        raise InvalidInputError(
            f"{name!r} is not a key name: 1-128 of A-Z a-z 0-9 . _ : @ -, starting with a "
            "letter or digit",
            errors=[{"pointer": "/name", "detail": "invalid key name"}],
        )
    if not scopes:
        raise InvalidInputError(
            "A key needs at least one scope (read, write, admin).",
            errors=[{"pointer": "/scopes", "detail": "at least one scope"}],
        )
    now = datetime.now(UTC)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)  # a time without offset is UTC
        try:
            expires_at = expires_at.astimezone(UTC)
        except OverflowError as error:
            raise InvalidInputError(
                "expires_at is out of range.",
                errors=[{"pointer": "/expires_at", "detail": "out of range"}],
            ) from error
        if expires_at <= now:
            raise InvalidInputError(
                "expires_at is in the past.",
                errors=[{"pointer": "/expires_at", "detail": "must be in the future"}],
            )
    new = generate_key()
    _on_commit(session, await bump_access_revision(session), on_committed)
    key = await ApiKeyRepository(session).create(
        name=name,
        key_id=new.key_id,
        secret_digest=new.secret_digest,
        scopes=scopes,
        rate_limit_ingestion=_checked_rate(rate_limit_ingestion, "rate_limit_ingestion"),
        rate_limit_query=_checked_rate(rate_limit_query, "rate_limit_query"),
        created_at=now,
        expires_at=expires_at,
    )
    return key, new.plaintext


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return await ApiKeyRepository(session).list()


def _on_commit(
    session: AsyncSession, access_revision: int, on_committed: Callable[[int], None] | None
) -> None:
    if on_committed is not None:
        after_commit(session, lambda: on_committed(access_revision))


async def revoke_key(
    session: AsyncSession, name: str, on_committed: Callable[[int], None] | None = None
) -> ApiKey:
    """Revoke the key named `name` (idempotent: revoking twice keeps the first time).
    `on_committed(access_revision)` runs once the change has committed."""
    keys = ApiKeyRepository(session)
    # The write first: on SQLite a transaction that read before another connection
    # committed (a key's last-used stamp) cannot start writing ("database is locked",
    # without waiting); one that writes first waits its turn. Rolled back if no key.
    _on_commit(session, await bump_access_revision(session), on_committed)
    if await keys.get(name) is None:
        raise ApiKeyNotFoundError(f"No API key is named '{name}'.")
    await keys.revoke(name, datetime.now(UTC))
    revoked = await keys.get(name)
    assert revoked is not None
    return revoked


async def usable_key_count(session: AsyncSession) -> int:
    return await ApiKeyRepository(session).count_usable(datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name (never its secret), scopes and rate limits."""

    name: str
    key_id: str
    scopes: frozenset[Scope]
    rate_limit_ingestion: str | None = None
    rate_limit_query: str | None = None


ANONYMOUS = Principal(name="anonymous", key_id="anonymous", scopes=frozenset(Scope))


# Key rows cached per process; beyond this, the cache starts over.
_CACHED_KEYS = 10_000


class Authenticator:
    """Checks the key of each request: its row from the cache of the current access
    revision, or from the database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._cache: dict[str, StoredKey] = {}
        self._unknown: set[str] = set()  # key ids without a row, at the same revision
        self._cache_revision = -1
        self._recording: set[str] = set()
        self._last_recorded: dict[str, datetime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.lookups = 0  # database reads of key rows, for tests and metrics

    async def _stored_key(self, key_id: str, access_revision: int) -> StoredKey | None:
        """The key's row as of `access_revision` or later.

        The caller read `access_revision` before calling, so a row read now is at least
        that recent and may be cached under it. A caller holding an older revision than
        the cache's reads the database and leaves the cache alone.
        """
        if access_revision > self._cache_revision:
            self._cache = {}
            self._unknown = set()
            self._cache_revision = access_revision
        if access_revision == self._cache_revision:
            cached = self._cache.get(key_id)
            if cached is not None:
                return cached
            if key_id in self._unknown:
                # Known not to exist at this revision: a key can only appear through a
                # change that moves the revision. (Guessed ids cost no database read.)
                return None
        self.lookups += 1
        stored = await self._database.statement(
            lambda connection: repository.find_by_key_id(connection, key_id)
        )
        if access_revision == self._cache_revision:
            if stored is None:
                if len(self._unknown) >= _CACHED_KEYS:
                    self._unknown = set()
                self._unknown.add(key_id)
            else:
                if len(self._cache) >= _CACHED_KEYS:
                    self._cache = {}
                self._cache[key_id] = stored
        return stored

    async def authenticate(self, presented: str | None, access_revision: int) -> Principal:
        if presented is None:
            raise AuthenticationError(
                "This endpoint needs an API key: send 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'."
            )
        parsed = parse_key(presented.strip())
        if parsed is None:
            raise AuthenticationError("The API key is malformed.", reason="malformed")
        stored = await self._stored_key(parsed.key_id, access_revision)
        # Same answer for an unknown id and a wrong secret: the id alone proves nothing.
        if stored is None:
            raise AuthenticationError("The API key is not valid.", reason="invalid")
        key = stored.key
        if not secret_matches(parsed.secret, stored.secret_digest):
            raise AuthenticationError(
                "The API key is not valid.", reason="invalid", stored_key_id=key.key_id
            )
        now = datetime.now(UTC)
        if key.revoked_at is not None:
            raise AuthenticationError(
                f"The API key '{key.name}' was revoked.",
                reason="revoked",
                stored_key_id=key.key_id,
            )
        if key.expires_at is not None and key.expires_at <= now:
            raise AuthenticationError(
                f"The API key '{key.name}' has expired.",
                reason="expired",
                stored_key_id=key.key_id,
            )
        self._note_use(key, now)
        return Principal(
            name=key.name,
            key_id=key.key_id,
            scopes=key.scopes,
            rate_limit_ingestion=key.rate_limit_ingestion,
            rate_limit_query=key.rate_limit_query,
        )

    def holds_valid(self, presented: str | None) -> bool:
        """Whether `presented` is a key this process has already checked and found
        valid (its cached row, right secret, neither revoked nor expired), with no
        database read. For clients whose failures are being limited: a known good key
        still gets through (and is then checked as usual), anything else costs nothing.
        """
        parsed = parse_key(presented.strip()) if presented is not None else None
        stored = self._cache.get(parsed.key_id) if parsed is not None else None
        if parsed is None or stored is None:
            return False
        key = stored.key
        return (
            secret_matches(parsed.secret, stored.secret_digest)
            and key.revoked_at is None
            and (key.expires_at is None or key.expires_at > datetime.now(UTC))
        )

    def may_exist(self, presented: str | None) -> bool:
        """Whether `presented` is a well-formed key whose id is not known to have no
        row (no database read)."""
        parsed = parse_key(presented.strip()) if presented is not None else None
        return parsed is not None and parsed.key_id not in self._unknown

    def _note_use(self, key: ApiKey, now: datetime) -> None:
        # At most one write per key per LAST_USED_RESOLUTION and process, off the
        # request's path. (The cached row's `last_used_at` does not move, so the time
        # of this process's last write is kept here.)
        last = self._last_recorded.get(key.key_id, key.last_used_at)
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return
        if key.key_id in self._recording:
            return
        self._recording.add(key.key_id)
        self._last_recorded[key.key_id] = now
        task = start_in_background(self._record_use(key.key_id, now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_use(self, key_id: str, now: datetime) -> None:
        try:
            async with self._database.single_statement() as connection:
                await repository.record_use(connection, key_id, now)
        except DatabaseUnavailableError:
            pass  # the outage is logged once by the database; one stamp is not worth more
        except Exception as error:  # losing one last-used stamp must not hurt anyone
            logger.warning("could not record the use of key %s: %s", key_id, error)
        finally:
            self._recording.discard(key_id)

    async def close(self) -> None:
        """Wait for the pending last-used writes (at shutdown, before the pool closes)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
