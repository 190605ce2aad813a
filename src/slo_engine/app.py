"""create_app(settings): the one place that wires slo-engine together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace import TracerProvider
from redis.asyncio import Redis

from slo_engine import __version__
from slo_engine.access.dependencies import ACCESS_CONTROL, AccessControl
from slo_engine.access.failures import FailedAuthentications
from slo_engine.access.ratelimit.headers import RateLimitHeadersMiddleware
from slo_engine.access.ratelimit.wiring import rate_limiter, rate_limits, redis_client
from slo_engine.access.routes import router as access_router
from slo_engine.access.schemas import ApiKeyCreate
from slo_engine.access.service import Authenticator, usable_key_count
from slo_engine.access.sign_in import sign_in_from
from slo_engine.agents.http import install_mcp, mcp_lifespan
from slo_engine.alerts.routes import router as alerts_router
from slo_engine.alerts.schemas import AlertUpdate
from slo_engine.aliases.file_form import merge_line, sync_from_file
from slo_engine.aliases.routes import router as aliases_router
from slo_engine.aliases.schemas import AliasCreate
from slo_engine.api_docs.routes import install_api_docs
from slo_engine.discovery.routes import router as discovery_router
from slo_engine.discovery.wiring import DISCOVERY, build_discovery
from slo_engine.drift.includes import INCLUDED_DRIFT
from slo_engine.drift.routes import router as drift_router
from slo_engine.drift.service import ScrapeCounts
from slo_engine.errors import SloEngineError, UnavailableError
from slo_engine.explorer.routes import install_explorer
from slo_engine.exports.routes import EXPORT_STREAMS
from slo_engine.exports.routes import router as exports_router
from slo_engine.health.metrics_routes import router as metrics_router
from slo_engine.health.routes import router as health_router
from slo_engine.history.routes import router as history_router
from slo_engine.infra.body_limit import BodySizeLimitMiddleware
from slo_engine.infra.components import SETTINGS
from slo_engine.infra.correlation import CorrelationIdMiddleware
from slo_engine.infra.db import DATABASE, Database
from slo_engine.infra.fast_lane import LANES_OPEN
from slo_engine.infra.http_errors import Problem, UnexpectedErrorMiddleware, install_error_handlers
from slo_engine.infra.http_server import HEADER_LIMIT_STATE_KEY
from slo_engine.infra.interpreter import (
    keep_large_blocks_out_of_the_heap,
    shorten_thread_switches,
    tune_garbage_collector,
)
from slo_engine.infra.openapi_examples import restore_examples
from slo_engine.infra.shutdown import DRAIN, Drain
from slo_engine.infra.storable import declare_storable_json
from slo_engine.ingestion.routes import router as ingestion_router
from slo_engine.ingestion.schemas import IngestionRequest
from slo_engine.insights.includes import INCLUDED_INSIGHTS
from slo_engine.insights.routes import router as insights_router
from slo_engine.jobs.runner import JOBS, JobRunner, JobScheduler
from slo_engine.jobs.wiring import build_jobs
from slo_engine.live.as_of import PastGraphs
from slo_engine.live.change_feed import change_feed
from slo_engine.live.graph import LiveGraph
from slo_engine.live.reads import LIVE_GRAPH, PAST_GRAPHS
from slo_engine.observability.logging import configure_logging
from slo_engine.observability.metrics import DRIFT_ITEMS
from slo_engine.observability.requests import RequestObservationMiddleware
from slo_engine.observability.tracing import (
    fastapi_telemetry,
    instrument_engine,
    tracer_provider_from,
    use_provider,
)
from slo_engine.rate_policy import parse_rate
from slo_engine.settings import Settings
from slo_engine.topology.answer_cache import (
    ANSWERS,
    AnswerCache,
    MemoryAnswerCache,
    RedisAnswerCache,
)
from slo_engine.topology.catalog_routes import router as catalog_router
from slo_engine.topology.includes import INCLUDES
from slo_engine.topology.overview_routes import router as overview_router
from slo_engine.topology.routes import router as topology_router
from slo_engine.webhooks.delivery import DeliveryLimits, WebhookDispatcher
from slo_engine.webhooks.routes import router as webhooks_router
from slo_engine.webhooks.schemas import WebhookCreate

API_PREFIX = "/api/v1"
# The routers under API_PREFIX, in the order that resolves `/services/dependencies`
# (POST) before `/services/{service_id}`.
API_ROUTERS = (
    health_router,
    ingestion_router,
    topology_router,
    insights_router,
    drift_router,
    overview_router,
    exports_router,
    catalog_router,
    alerts_router,
    access_router,
    discovery_router,
    history_router,
    webhooks_router,
    aliases_router,
)
logger = logging.getLogger(__name__)


def answer_cache(settings: Settings, redis: Redis | None) -> AnswerCache | None:
    if settings.query_cache == "off":
        return None
    if settings.query_cache == "redis":
        if redis is not None:
            return RedisAnswerCache(redis, settings.redis_cache_ttl, settings.redis_timeout_seconds)
        logger.warning("QUERY_CACHE=redis without REDIS_URL: caching answers in process")
    return MemoryAnswerCache(settings.query_cache_max_bytes)


async def _explain_first_key(database: Database, settings: Settings) -> None:
    """On a database without a usable key, say how to make the first one (the server
    never makes one itself: its plaintext would have to go to the logs)."""
    if not settings.auth_enabled:
        logger.warning("AUTH_ENABLED=false: every /api/v1 endpoint is open to anyone")
        return
    if settings.auth_oidc_issuer or settings.auth_proxy_header:
        return  # people sign in; keys are for machines and may come later
    try:
        usable = await database.read(usable_key_count)
    except Exception as error:  # not migrated or not reachable: readiness says so
        logger.warning("could not count API keys at start: %s", error)
        return
    if usable == 0:
        logger.warning(
            "No usable API key exists yet, so every /api/v1 endpoint except health answers "
            "401. Create the first one with:  slo-cli api-keys create --name admin "
            "--scope admin  (it prints the key once)"
        )


async def _sync_aliases_at_start(database: Database, live_graph: LiveGraph, path: str) -> None:
    """Sync ALIASES_FILE before the first request. A file that is wrong, or that
    conflicts with the aliases added through the API, stops the start (a configuration
    error, said once, clearly); a database that is not there yet is retried by the
    `aliases-file` job."""
    try:
        logger.info(merge_line(await sync_from_file(database, live_graph, path)))
    except UnavailableError as error:
        logger.warning("could not sync ALIASES_FILE at start (the job retries): %s", error)
    except SloEngineError:
        raise


def create_app(
    settings: Settings | None = None, *, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """Build the ASGI app. The database engine is created when the app starts.

    `tracer_provider`: trace to this provider (tests); by default one is made when
    OTEL_EXPORTER_OTLP_ENDPOINT is set, and none otherwise (tracing off).
    """
    settings = settings or Settings()
    provider = tracer_provider
    owns_provider = False
    if provider is None:
        provider = tracer_provider_from(settings)
        owns_provider = provider is not None
    use_provider(provider)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        tune_garbage_collector()
        shorten_thread_switches()
        keep_large_blocks_out_of_the_heap()
        database = Database.from_settings(settings)
        instrument_engine(database.engine, provider)
        redis = redis_client(settings)
        authenticator = Authenticator(database)
        sign_in = sign_in_from(settings)
        live_graph = LiveGraph(database)
        feed = change_feed(settings, live_graph)
        discovery = build_discovery(settings)
        jobs = JobRunner(database, build_jobs(settings, database, live_graph, discovery))
        scheduler = JobScheduler(jobs)
        limiter = rate_limiter(settings, redis)
        drain = Drain()
        answers = answer_cache(settings, redis)
        # Each part a route may declare (infra/components.py), installed once.
        SETTINGS.install(app, settings)
        DATABASE.install(app, database)
        LIVE_GRAPH.install(app, live_graph)
        PAST_GRAPHS.install(
            app,
            PastGraphs(database, settings.history_snapshots_kept, settings.history_retention_days),
        )
        ACCESS_CONTROL.install(
            app,
            AccessControl(
                enabled=settings.auth_enabled,
                authenticator=authenticator,
                failed_authentications=FailedAuthentications(
                    limiter, parse_rate(settings.rate_limit_auth_failures)
                ),
                rate_limiter=limiter,
                rate_limits=rate_limits(settings),
                sign_in=sign_in,
            ),
        )
        DISCOVERY.install(app, discovery)
        JOBS.install(app, jobs)
        DRAIN.install(app, drain)
        ANSWERS.install(app, answers)
        INCLUDES.install(app, {**INCLUDED_INSIGHTS, **INCLUDED_DRIFT})
        EXPORT_STREAMS.install(app, asyncio.Semaphore(settings.export_max_streams))
        # The hot routes' fast lanes (infra/fast_lane.py) skip FastAPI's operation
        # spans: closed while tracing is on, so traces stay whole.
        LANES_OPEN.install(app, provider is None)
        # /metrics shows this graph's drift counts (judged off the loop, per revision).
        drift_counts = ScrapeCounts(live_graph)
        DRIFT_ITEMS.provide(drift_counts)
        drain.install(settings.shutdown_drain_seconds)
        await _explain_first_key(database, settings)
        # The graph is loaded before the first request (one attempt: a database that is
        # down at start is retried by the feed, and reads answer 503 until it loads).
        await feed.start()
        if settings.aliases_file is not None:
            await _sync_aliases_at_start(database, live_graph, settings.aliases_file)
        if isinstance(answers, RedisAnswerCache):
            answers.epoch = lambda: live_graph.epoch
        if settings.scheduler_enabled:
            scheduler.start()
        webhooks = WebhookDispatcher(
            database,
            DeliveryLimits.of(settings),
            jobs.replica,
            poll_seconds=settings.webhook_poll_seconds,
        )
        if settings.webhook_delivery_enabled:
            webhooks.start()
        try:
            # The lifespan state: what the server reads of the app's settings (the
            # bound on request heads, infra/http_server.py).
            async with mcp_lifespan(app):
                yield {HEADER_LIMIT_STATE_KEY: settings.max_request_header_bytes}
        finally:
            await webhooks.stop()
            DRIFT_ITEMS.release(drift_counts)
            await drift_counts.close()
            scheduler.shutdown()
            await feed.stop()
            await discovery.aclose()
            await authenticator.close()
            await sign_in.aclose()
            if redis is not None:
                await redis.aclose()
            await database.dispose()
            if owns_provider and provider is not None:
                provider.shutdown()  # flush the spans still batched

    app = FastAPI(
        title="slo-engine",
        version=__version__,
        summary="What does this service depend on, and what depends on it?",
        lifespan=lifespan,
        telemetry=fastapi_telemetry(provider),  # type: ignore[arg-type]
        # FastAPI's own /docs and /redoc load their files from a CDN; ours are served
        # from an installed package (api_docs/routes.py).
        docs_url=None,
        redoc_url=None,
    )
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if settings.metrics_enabled:
        app.include_router(metrics_router)
    if settings.explorer_enabled:
        install_explorer(app, settings)
    if settings.api_docs_enabled:
        install_api_docs(app)
    # MCP tools for AI agents at /mcp, behind the same access check as the API.
    install_mcp(app)
    install_error_handlers(app)
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    # Inside the observation and the correlation id: a 500 is logged and carries the id.
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(RequestObservationMiddleware)  # a log line and metrics per request
    app.add_middleware(CorrelationIdMiddleware)  # outermost: every response carries the id

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            # Models the routes use without declaring them as parameters (JSON bodies
            # are read by infra/json_body.py, not by FastAPI).
            bodies = (
                Problem,
                IngestionRequest,
                AlertUpdate,
                ApiKeyCreate,
                WebhookCreate,
                AliasCreate,
            )
            for model in bodies:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            # FastAPI documents a 422 for every operation with parameters; here bad
            # parameters are 400s, and 422 only answers a body (declared per route).
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if "requestBody" not in operation:
                        operation.get("responses", {}).pop("422", None)
            if "HTTPValidationError" not in orjson.dumps(schema["paths"]).decode():
                components.pop("HTTPValidationError", None)
                components.pop("ValidationError", None)
            declare_storable_json(schema)  # metadata and retry_config: the stated rule
            answers = [
                route.response_model
                for router in (*API_ROUTERS, metrics_router)
                for route in router.routes
                if isinstance(route, APIRoute) and route.response_model is not None
            ]
            restore_examples(schema, [*bodies, *answers])  # with their nulls, as written
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    configure_logging(settings.log_level, json_lines=settings.log_json)
    return app
