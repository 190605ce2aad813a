"""Tables of the aliases and of what their merges set aside. Rows never leave
aliases/repository.py."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Uuid

from slo_engine.infra.columns import JsonDocument, UtcDateTime, metadata

aliases = Table(
    "aliases",
    metadata,
    Column("id", Uuid, primary_key=True),
    # An exact alias: the reported name and the service id it stands for.
    Column("alias", String(255)),
    Column("service_id", String(255)),
    # A rule: a regular expression over the whole name, and its replacement.
    Column("pattern", String(1024)),
    Column("replacement", String(255)),
    # NULL: every source's reports.
    Column("discovery_source", String(32)),
    # Rules apply in this order; exact aliases list in it.
    Column("position", Integer, nullable=False),
    # `api` (POST /aliases) or `file` (ALIASES_FILE, replaced whole by each sync).
    Column("origin", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(255)),
)

# Reports and services a merge set aside (graph/realias.py), brought back when the
# aliases no longer merge them. `state`: the change log's recorded state of the thing.
alias_shadows = Table(
    "alias_shadows",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("thing", String(16), nullable=False),  # "report" | "service"
    Column("service_id", String(255), nullable=False),  # the caller, for a report
    Column("target_id", String(255)),
    Column("discovery_source", String(32)),
    Column("copied_as", String(255)),  # a service: the copy the merge made of it
    Column("state", JsonDocument, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_alias_shadows_service_id", "service_id"),
)

# The aliases file synced last (one row): a replica whose file is older (a ConfigMap
# change still on its way, an old pod of a rolling deploy) does not sync it back.
alias_file_state = Table(
    "alias_file_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("synced_at", UtcDateTime, nullable=False),
)
