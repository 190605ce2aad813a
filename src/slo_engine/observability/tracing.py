"""OpenTelemetry tracing: on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test
hands in a provider).

Spans: FastAPI's own request and operation spans (its native telemetry, given our
provider), one span per SQL statement (SQLAlchemy cursor events on our engine),
and ours around each Redis rate-limit step and each outgoing HTTP request of the
discovery sources (which also carries the trace on in `traceparent`). Sampling:
`OTEL_TRACE_SAMPLE_RATE`, parent-based. Unconfigured, no provider exists: FastAPI's
telemetry is off, the engine is not instrumented, and our spans are the OpenTelemetry
API's no-op spans.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from slo_engine import __version__
from slo_engine.settings import Settings

# The provider of the running app (None: tracing off). Module state, because spans are
# started deep in the Redis and HTTP clients; the last app created in a process wins.
_active_provider: TracerProvider | None = None


def use_provider(provider: TracerProvider | None) -> None:
    global _active_provider  # noqa: PLW0603 - one process, one app
    _active_provider = provider


def span(name: str, **options: Any) -> Any:
    """`start_as_current_span` on the app's provider; a no-op span when tracing is off."""
    provider = _active_provider or trace.get_tracer_provider()
    return provider.get_tracer("slo_engine").start_as_current_span(name, **options)


def tracer_provider_from(settings: Settings) -> TracerProvider | None:
    """An OTLP-exporting provider when an endpoint is configured, else None."""
    if not settings.otel_exporter_otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({"service.name": "slo-engine", "service.version": __version__}),
        sampler=ParentBased(TraceIdRatioBased(settings.otel_trace_sample_rate)),
    )
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def fastapi_telemetry(provider: TracerProvider | None) -> dict[str, Any]:
    """FastAPI's native telemetry settings: request spans on our provider, or all off.
    (Metrics are ours, on /metrics; logs are ours, through structlog.)"""
    if provider is None:
        return {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"tracer_provider": provider, "metrics": False, "logs": False}


def instrument_engine(engine: AsyncEngine, provider: TracerProvider | None) -> None:
    """One CLIENT span per SQL statement of this engine, on `provider`.

    (Written on SQLAlchemy's cursor events: the OpenTelemetry SQLAlchemy
    instrumentation does not support SQLAlchemy 2.1 yet.) The span is named after the
    statement's first word, and carries the statement text without its parameters.
    """
    if provider is None:
        return
    db_tracer = provider.get_tracer("slo_engine.db")
    system = engine.dialect.name

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(
        _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: Any
    ) -> None:
        operation = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = db_tracer.start_span(
            f"{operation} {system}",
            kind=SpanKind.CLIENT,
            attributes={"db.system": system, "db.statement": statement[:2000]},
        )
        if context is not None:
            context._slo_engine_span = span
        else:
            span.end()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(
        _conn: Any, _cursor: Any, _statement: str, _params: Any, context: Any, _many: Any
    ) -> None:
        span = getattr(context, "_slo_engine_span", None)
        if span is not None:
            span.end()

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(exception_context: Any) -> None:
        span = getattr(exception_context.execution_context, "_slo_engine_span", None)
        if span is not None:
            span.set_status(
                Status(StatusCode.ERROR, type(exception_context.original_exception).__name__)
            )
            span.end()


def current_trace_ids() -> dict[str, str]:
    """The current trace and span ids (for log lines), empty outside a sampled span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
