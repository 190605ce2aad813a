"""Table of API keys. Rows never leave access/repository.py; no plaintext key is stored."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Uuid

from slo_engine.infra.columns import UtcDateTime, metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    # The public part of the key, used to find its row (see access/keys.py).
    Column("key_id", String(32), nullable=False, unique=True),
    # SHA-256 of the secret part, hex.
    Column("secret_digest", String(64), nullable=False),
    # Space-separated scopes: read, write, admin.
    Column("scopes", String(64), nullable=False),
    # Per-key rate limits (e.g. "600/minute"); NULL: the service-wide setting.
    Column("rate_limit_ingestion", String(32)),
    Column("rate_limit_query", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
)
