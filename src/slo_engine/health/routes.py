"""GET /api/v1/health (liveness) and GET /api/v1/health/ready (readiness)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from slo_engine import __version__
from slo_engine.access.dependencies import ACCESS_CONTROL, AccessControl
from slo_engine.discovery.repository import DiscoveryRepository, SourceStatus
from slo_engine.discovery.wiring import DISCOVERY, Discovery
from slo_engine.infra.db import Database, DatabaseDep
from slo_engine.infra.http_errors import problem_response, problem_responses
from slo_engine.infra.shutdown import DRAIN, Drain
from slo_engine.live.reads import LiveGraphDep

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

READINESS_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]}
    )

    status: str = Field(description="Always `ok`: the process answers.")
    version: str = Field(description="The running slo-engine's version.")


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "database": "ok",
                        "live_graph": "revision 57, confirmed",
                        "rate_limiter": "redis",
                        "discovery:otel": "ok",
                    },
                }
            ]
        }
    )

    status: str = Field(description="Always `ready` (not ready is a 503 problem).")
    checks: dict[str, str] = Field(
        description="One line per part: the database, the live graph's revision and "
        "whether it is confirmed current, the rate limiter's backend, each configured "
        "discovery source, and Redis when it is failing (reported, not fatal)."
    )


async def _discovery_checks(database: Database, discovery: Discovery) -> dict[str, str]:
    """A line per configured discovery source; a failing source is reported, not fatal
    (the last good graph is still served). The errors themselves are only shown to API
    keys (GET /api/v1/discovery/sources): readiness needs no key."""
    if not discovery.sources:
        return {}

    def statuses() -> Awaitable[dict[str, SourceStatus]]:
        return database.read(lambda session: DiscoveryRepository(session).statuses())

    try:
        found = await asyncio.wait_for(statuses(), READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # the ping passed: report, do not fail readiness here
        logger.warning("readiness: could not read discovery health: %s", error)
        return {f"discovery:{name}": "unknown" for name in discovery.sources}
    checks = {}
    for name in discovery.sources:
        status = found.get(name)
        if status is None or status.last_attempt_at is None:
            checks[f"discovery:{name}"] = "not run yet"
        elif status.consecutive_failures:
            checks[f"discovery:{name}"] = f"failing ({status.consecutive_failures} in a row)"
        else:
            checks[f"discovery:{name}"] = "ok"
    return checks


@router.get(
    "/health",
    response_model=Liveness,
    operation_id="getLiveness",
    summary="Liveness: the process answers",
)
async def liveness() -> Liveness:
    """For a liveness probe: 200 while the process serves requests, whatever the
    database does. Needs no API key."""
    return Liveness(status="ok", version=__version__)


@router.get(
    "/health/ready",
    response_model=Readiness,
    operation_id="getReadiness",
    summary="Readiness: the database answers and the graph is loaded (Redis trouble is "
    "reported, not fatal)",
    responses=problem_responses(503),
)
async def readiness(
    request: Request,
    database: DatabaseDep,
    live: LiveGraphDep,
    access: Annotated[AccessControl, Depends(ACCESS_CONTROL)],
    discovery: Annotated[Discovery, Depends(DISCOVERY)],
    drain: Annotated[Drain, Depends(DRAIN)],
) -> Readiness | Response:
    """For a readiness probe: 200 once the database answers and the live graph is
    loaded; a 503 problem while shutting down, while the database does not answer
    (within 2 s), or while the graph is still loading. A failing Redis or discovery
    source is reported in `checks`, not fatal. Needs no API key."""
    if drain.draining:
        return problem_response(request, 503, "The process is shutting down.", slug="not-ready")
    try:
        await asyncio.wait_for(database.ping(), READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure to reach the database means not ready
        logger.warning("readiness check failed: %s", error)
        return problem_response(
            request,
            503,
            f"The database is not reachable ({type(error).__name__}).",
            slug="not-ready",
        )
    if live.peek() is None:
        # The database answers, but the graph is still being loaded (a large one takes
        # up to a minute): graph reads would answer 503, so no traffic yet.
        return problem_response(
            request, 503, "The graph is still being loaded from the database.", slug="not-ready"
        )
    freshness = live.freshness()
    limiter = access.rate_limiter
    checks = {
        "database": "ok",
        "live_graph": f"revision {freshness.revision}, "
        + ("confirmed" if freshness.confirmed else "catching up"),
        "rate_limiter": str(limiter.backend),
    }
    checks.update(await _discovery_checks(database, discovery))
    if limiter.configured_backend != limiter.backend:
        # Redis is configured but failing: still ready (the in-process buckets answer,
        # design.md's "Redis failure must not take the API down"), and it says so.
        checks["redis"] = "failing: rate limits are per replica until it recovers"
    return Readiness(status="ready", checks=checks)
