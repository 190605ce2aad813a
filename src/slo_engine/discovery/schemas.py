"""Response bodies of the discovery endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SourceHealth(BaseModel):
    name: str = Field(
        description="The source: `otel`, `mesh`, `jaeger`, `backstage` or `kubernetes`."
    )
    configured: bool = Field(description="Whether this process's settings enable it.")
    interval_minutes: int | None = Field(description="How often it runs, when configured.")
    healthy: bool = Field(description="Its last run succeeded (or it never failed).")
    last_attempt_at: datetime | None = Field(
        description="When its last run started, on any replica; null if it never ran."
    )
    last_success_at: datetime | None = Field(
        description="When its last successful run ended; null if none succeeded."
    )
    last_error: str | None = Field(description="Why the last failed run failed.")
    last_error_at: datetime | None = Field(description="When its last failed run failed.")
    consecutive_failures: int = Field(description="Failed runs since the last success.")
    last_nodes: int | None = Field(description="Services the last successful run found.")
    last_edges: int | None = Field(description="Edges the last successful run found.")


class SourceHealthList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "name": "otel",
                            "configured": True,
                            "interval_minutes": 5,
                            "healthy": False,
                            "last_attempt_at": "2026-11-26T10:05:00Z",
                            "last_success_at": "2026-11-26T09:55:01Z",
                            "last_error": "Prometheus answered 503",
                            "last_error_at": "2026-11-26T10:05:02Z",
                            "consecutive_failures": 2,
                            "last_nodes": 12,
                            "last_edges": 16,
                        },
                        {
                            "name": "backstage",
                            "configured": False,
                            "interval_minutes": None,
                            "healthy": True,
                            "last_attempt_at": None,
                            "last_success_at": None,
                            "last_error": None,
                            "last_error_at": None,
                            "consecutive_failures": 0,
                            "last_nodes": None,
                            "last_edges": None,
                        },
                    ]
                }
            ]
        }
    )

    items: list[SourceHealth] = Field(description="Every known source, configured or not.")
