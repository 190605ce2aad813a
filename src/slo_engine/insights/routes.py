"""GET /api/v1/services/{service_id}/impact and /availability (in progress)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["insights"])
