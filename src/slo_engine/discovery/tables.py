"""Tables of discovery: each source's health, and the run slots of scheduled jobs.
Rows never leave discovery/repository.py."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from slo_engine.infra.columns import UtcDateTime, metadata

# One row per source that ever ran: the last outcome, kept across restarts and shared
# by every replica.
discovery_source_status = Table(
    "discovery_source_status",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_attempt_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime),
    Column("consecutive_failures", Integer, nullable=False),
    Column("last_nodes", Integer),
    Column("last_edges", Integer),
)

# One row per (job, slot) that some replica claimed: the primary key is what makes a
# run happen once cluster-wide per interval (slot = start of the interval, in epoch
# seconds divided by the interval).
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("slot", BigInteger, primary_key=True, autoincrement=False),
    Column("claimed_by", String(255), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("outcome", String(16)),
    Column("detail", Text),
)
