"""GET /api/v1/health (liveness) and GET /api/v1/health/ready (readiness)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from slo_engine import __version__
from slo_engine.discovery.repository import DiscoveryRepository, SourceStatus
from slo_engine.infra.context import AppContext, app_context
from slo_engine.infra.http_errors import problem_response, problem_responses

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

READINESS_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


async def _discovery_checks(context: AppContext) -> dict[str, str]:
    """A line per configured discovery source; a failing source is reported, not fatal
    (the last good graph is still served). The errors themselves are only shown to API
    keys (GET /api/v1/discovery/sources): readiness needs no key."""
    if not context.discovery.sources:
        return {}

    async def statuses() -> dict[str, SourceStatus]:
        async with context.database.session_scope() as session:
            return await DiscoveryRepository(session).statuses()

    try:
        found = await asyncio.wait_for(statuses(), READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # the ping passed: report, do not fail readiness here
        logger.warning("readiness: could not read discovery health: %s", error)
        return {f"discovery:{name}": "unknown" for name in context.discovery.sources}
    checks = {}
    for name in context.discovery.sources:
        status = found.get(name)
        if status is None or status.last_attempt_at is None:
            checks[f"discovery:{name}"] = "not run yet"
        elif status.consecutive_failures:
            checks[f"discovery:{name}"] = f"failing ({status.consecutive_failures} in a row)"
        else:
            checks[f"discovery:{name}"] = "ok"
    return checks


@router.get("/health", response_model=Liveness, summary="Liveness: the process answers")
async def liveness() -> Liveness:
    return Liveness(status="ok", version=__version__)


@router.get(
    "/health/ready",
    response_model=Readiness,
    summary="Readiness: the database answers and the graph is loaded (Redis trouble is "
    "reported, not fatal)",
    responses=problem_responses(503),
)
async def readiness(
    request: Request, context: Annotated[AppContext, Depends(app_context)]
) -> Readiness | Response:
    if context.drain.draining:
        return problem_response(request, 503, "The process is shutting down.", slug="not-ready")
    try:
        await asyncio.wait_for(context.database.ping(), READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure to reach the database means not ready
        logger.warning("readiness check failed: %s", error)
        return problem_response(
            request,
            503,
            f"The database is not reachable ({type(error).__name__}).",
            slug="not-ready",
        )
    live = context.live_graph
    if live.peek() is None:
        # The database answers, but the graph is still being loaded (a large one takes
        # up to a minute): graph reads would answer 503, so no traffic yet.
        return problem_response(
            request, 503, "The graph is still being loaded from the database.", slug="not-ready"
        )
    freshness = live.freshness()
    limiter = context.rate_limiter
    checks = {
        "database": "ok",
        "live_graph": f"revision {freshness.revision}, "
        + ("confirmed" if freshness.confirmed else "catching up"),
        "rate_limiter": str(limiter.backend),
    }
    checks.update(await _discovery_checks(context))
    if limiter.configured_backend != limiter.backend:
        # Redis is configured but failing: still ready (the in-process buckets answer,
        # design.md's "Redis failure must not take the API down"), and it says so.
        checks["redis"] = "failing: rate limits are per replica until it recovers"
    return Readiness(status="ready", checks=checks)
