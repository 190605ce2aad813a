"""HTTP shapes of circular-dependency alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.alerts.repository import Alert
from slo_engine.graph.model import AlertStatus
from slo_engine.infra.storable import STRICT_BODY, TEXT_RULE

_ALERT_EXAMPLE: dict[str, Any] = {
    "alert_id": "0f8c6c7e-5a41-4c36-9d3e-2b7f1c9a4e10",
    "members": ["checkoutservice", "paymentservice"],
    "cycle_path": ["checkoutservice", "paymentservice", "checkoutservice"],
    "status": "acknowledged",
    "first_detected_at": "2026-11-26T10:00:00Z",
    "last_detected_at": "2026-11-26T11:00:00Z",
    "acknowledged_by": "alice",
    "acknowledged_at": "2026-11-26T10:20:00Z",
    "resolved_by": None,
    "resolved_at": None,
    "note": "payment's refund callback; removal planned in PAY-231",
}


class AlertOut(BaseModel):
    # An alert as stored (alerts.repository.Alert), without its bookkeeping.
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_ALERT_EXAMPLE]}
    )

    alert_id: uuid.UUID = Field(description="The alert's id.")
    members: list[str] = Field(
        description="The services of the cycle's strongly connected component."
    )
    cycle_path: list[str] = Field(description="One concrete cycle, first service repeated last.")
    status: AlertStatus = Field(
        description="`open` (the cycle is in the graph and nobody has looked), "
        "`acknowledged` (known, kept quiet), `resolved` (gone, or declared handled)."
    )
    first_detected_at: datetime = Field(description="When the cycle was first found.")
    last_detected_at: datetime = Field(description="When a scan last found it still there.")
    acknowledged_by: str | None = Field(description="Who acknowledged it, if anyone.")
    acknowledged_at: datetime | None = Field(description="When it was acknowledged, if it was.")
    resolved_by: str | None = Field(
        description="Who resolved it: a person, or `system` when the cycle went away."
    )
    resolved_at: datetime | None = Field(description="When it was resolved, if it was.")
    note: str | None = Field(description="The last note given with a status change.")

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls.model_validate(alert)


class AlertPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_ALERT_EXAMPLE], "next_cursor": None}]}
    )

    items: list[AlertOut] = Field(description="The alerts of this page, newest first.")
    next_cursor: str | None = Field(
        description="Pass back as `cursor` for the next page; null on the last page."
    )


class AlertUpdate(BaseModel):
    model_config = ConfigDict(
        **STRICT_BODY,
        json_schema_extra={
            "examples": [
                {
                    "status": "acknowledged",
                    "actor": "alice",
                    "note": "payment's refund callback; removal planned in PAY-231",
                }
            ]
        },
    )

    status: Literal["acknowledged", "resolved", "open"] = Field(
        description="The new status: `acknowledged` keeps a cycle that is still there "
        "quiet, `resolved` closes it (the next scan reopens it if the cycle is still in "
        "the graph), `open` reopens it. A resolved alert can only be reopened (else 409); "
        "the current status again changes only the note."
    )
    actor: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=255, strip_whitespace=True),
            TEXT_RULE,
        ]
        | None
    ) = Field(
        default=None,
        description="Who acknowledges or resolves the alert (a person or a system); "
        "defaults to the name of the API key making the request.",
    )
    note: Annotated[str, StringConstraints(max_length=4000), TEXT_RULE] | None = Field(
        default=None,
        description="Why, for the next reader (at most 4,000 characters); kept with the alert.",
    )
