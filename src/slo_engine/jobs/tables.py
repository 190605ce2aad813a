"""The table of job runs: which replica ran which job in which slot."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, Text

from slo_engine.infra.columns import UtcDateTime, metadata

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
