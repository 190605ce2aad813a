"""What a request handler needs from the running app, built once in `create_app`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import Request

from slo_engine.access.failures import FailedAuthentications
from slo_engine.access.ratelimit.limiter import RateLimiter
from slo_engine.access.service import Authenticator
from slo_engine.discovery.scheduler import JobRunner
from slo_engine.discovery.wiring import Discovery
from slo_engine.infra.db import Database
from slo_engine.infra.shutdown import Drain
from slo_engine.live.graph import LiveGraph
from slo_engine.rate_policy import RateClass, RatePolicy
from slo_engine.settings import Settings
from slo_engine.topology.answer_cache import AnswerCache


@dataclass(slots=True)
class AppContext:
    settings: Settings
    database: Database
    live_graph: LiveGraph
    authenticator: Authenticator
    failed_authentications: FailedAuthentications
    rate_limiter: RateLimiter
    # The service-wide policy of each endpoint class (a key may have its own).
    rate_limits: dict[RateClass, RatePolicy]
    discovery: Discovery
    jobs: JobRunner
    drain: Drain
    answers: AnswerCache | None = None  # the subgraph answer cache (QUERY_CACHE)
    # Slots for whole-graph streamed exports (EXPORT_MAX_STREAMS).
    export_streams: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))


async def app_context(request: Request) -> AppContext:
    """FastAPI dependency: the app's context (set by the lifespan in app.py). A
    coroutine, not a plain function: FastAPI runs a plain-function dependency in a
    worker thread, a thread handoff on every request (seen in a profile under load)."""
    context: AppContext = request.app.state.context
    return context
