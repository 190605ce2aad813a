"""HTTP shapes of circular-dependency alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.alerts.repository import Alert
from slo_engine.graph.model import AlertStatus
from slo_engine.infra.storable import STRICT_BODY, TEXT_RULE


class AlertOut(BaseModel):
    # An alert as stored (alerts.repository.Alert), without its bookkeeping.
    model_config = ConfigDict(from_attributes=True)

    alert_id: uuid.UUID
    members: list[str] = Field(
        description="The services of the cycle's strongly connected component."
    )
    cycle_path: list[str] = Field(description="One concrete cycle, first service repeated last.")
    status: AlertStatus
    first_detected_at: datetime = Field(description="When the cycle was first found.")
    last_detected_at: datetime = Field(description="When a scan last found it still there.")
    acknowledged_by: str | None = Field(description="Who acknowledged it, if anyone.")
    acknowledged_at: datetime | None
    resolved_by: str | None = Field(
        description="Who resolved it: a person, or `system` when the cycle went away."
    )
    resolved_at: datetime | None
    note: str | None = Field(description="The last note given with a status change.")

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls.model_validate(alert)


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class AlertUpdate(BaseModel):
    model_config = STRICT_BODY

    status: Literal["acknowledged", "resolved", "open"]
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
    note: Annotated[str, StringConstraints(max_length=4000), TEXT_RULE] | None = None
