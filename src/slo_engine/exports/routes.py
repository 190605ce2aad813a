"""GET /api/v1/graph (scaffold: filled in by the exports work)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["exports"])
