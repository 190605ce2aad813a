"""Response bodies of the discovery endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class SourceHealth(BaseModel):
    name: str
    configured: bool
    interval_minutes: int | None
    healthy: bool
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    last_nodes: int | None
    last_edges: int | None


class SourceHealthList(BaseModel):
    items: list[SourceHealth]
