"""Outgoing HTTP (discovery) and Redis (rate limits) get CLIENT spans under the caller's
span, and HTTP requests carry the trace on in `traceparent`."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from slo_engine.access.ratelimit.redis_backend import RedisBuckets
from slo_engine.discovery.http import JsonGetter
from slo_engine.observability.tracing import span, use_provider
from slo_engine.rate_policy import RatePolicy


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    use_provider(provider)
    try:
        yield memory
    finally:
        use_provider(None)


class Echo(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("traceparent"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')


def test_outgoing_http_is_a_client_span_and_carries_traceparent(
    exporter: InMemorySpanExporter,
) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/dependencies"

    async def call() -> Any:
        async with httpx.AsyncClient(timeout=5) as client:
            with span("job discover-jaeger"):
                return await JsonGetter(client, max_bytes=1000, retries=0).get(url)

    try:
        assert asyncio.run(call()) == {"ok": True}
    finally:
        server.shutdown()
        server.server_close()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    parent, client_span = spans["job discover-jaeger"], spans["GET"]
    assert client_span.kind == SpanKind.CLIENT
    assert client_span.parent is not None
    assert client_span.parent.span_id == parent.context.span_id
    assert client_span.attributes is not None
    assert client_span.attributes["url.full"] == url
    assert client_span.attributes["http.response.status_code"] == 200
    (traceparent,) = Echo.seen[-1:]
    assert traceparent is not None
    assert f"{client_span.context.trace_id:032x}" in traceparent


def test_a_redis_rate_limit_step_is_a_client_span(
    exporter: InMemorySpanExporter, redis_url: str
) -> None:
    async def take() -> None:
        client = Redis.from_url(redis_url)
        try:
            with span("request"):
                await RedisBuckets(client).take(f"test:{uuid.uuid4()}", RatePolicy(5, 60))
        finally:
            await client.aclose()

    asyncio.run(take())
    spans = {s.name: s for s in exporter.get_finished_spans()}
    redis_span = spans["redis rate-limit take"]
    assert redis_span.kind == SpanKind.CLIENT
    assert redis_span.attributes is not None and redis_span.attributes["db.system"] == "redis"
    assert redis_span.parent is not None
    assert redis_span.parent.span_id == spans["request"].context.span_id
