"""Response bodies of the discovery endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SourceHealth(BaseModel):
    name: str
    configured: bool = Field(description="Whether this process's settings enable it.")
    interval_minutes: int | None = Field(description="How often it runs, when configured.")
    healthy: bool = Field(description="Its last run succeeded (or it never failed).")
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None = Field(description="Why the last failed run failed.")
    last_error_at: datetime | None
    consecutive_failures: int = Field(description="Failed runs since the last success.")
    last_nodes: int | None = Field(description="Services the last successful run found.")
    last_edges: int | None = Field(description="Edges the last successful run found.")


class SourceHealthList(BaseModel):
    items: list[SourceHealth]
