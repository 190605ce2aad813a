"""create_app(settings): the one place that wires slo-engine together."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from slo_engine import __version__
from slo_engine.alerts.routes import router as alerts_router
from slo_engine.catalog.routes import router as catalog_router
from slo_engine.health.routes import router as health_router
from slo_engine.infra.body_limit import BodySizeLimitMiddleware
from slo_engine.infra.context import AppContext
from slo_engine.infra.correlation import CorrelationIdMiddleware
from slo_engine.infra.db import Database
from slo_engine.infra.http_errors import Problem, install_error_handlers
from slo_engine.infra.memory import tune_garbage_collector
from slo_engine.ingestion.routes import router as ingestion_router
from slo_engine.ingestion.schemas import IngestionRequest
from slo_engine.settings import Settings
from slo_engine.topology.cache import GraphCache
from slo_engine.topology.routes import router as topology_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app. The database engine is created when the app starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_garbage_collector()
        database = Database.from_settings(settings)
        app.state.context = AppContext(
            settings=settings, database=database, graph_cache=GraphCache()
        )
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(
        title="slo-engine",
        version=__version__,
        summary="What does this service depend on, and what depends on it?",
        lifespan=lifespan,
    )
    # Routes are declared in the order that resolves `/services/dependencies` (POST)
    # before `/services/{service_id}`.
    for router in (health_router, ingestion_router, topology_router, catalog_router, alerts_router):
        app.include_router(router, prefix=API_PREFIX)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes)
    app.add_middleware(CorrelationIdMiddleware)  # outermost: every response carries the id

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            # Models the routes use without declaring them as parameters.
            for model in (Problem, IngestionRequest):
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    logging.getLogger("slo_engine").setLevel(settings.log_level.upper())
    return app
