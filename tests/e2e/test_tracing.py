"""Tracing with an in-memory exporter: a query produces one trace whose SQL spans hang
under the request's span, and its log line carries the trace id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import ingest, make_key, settings_for


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


def test_a_query_is_one_trace_with_its_sql_under_the_request(
    capsys: pytest.CaptureFixture[str], sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "traced.db"
    shutil.copyfile(sqlite_template, path)
    database_url = f"sqlite+aiosqlite:///{path}"
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    key = make_key(database_url, "tracer", Scope.ADMIN)
    app = create_app(settings_for(database_url, log_json=True), tracer_provider=provider)
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
        ingest(client, [("checkout", "payments")])
        exporter.clear()
        # A listing reads the database (graph reads are answered by the live graph).
        response = client.get("/api/v1/services", headers={"X-Correlation-ID": "traced-1"})
        assert response.status_code == 200
    spans = exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    servers = [s for s in spans if s.kind == SpanKind.SERVER and s.name.startswith("GET ")]
    assert len(servers) == 1, [s.name for s in spans]
    (request_span,) = servers
    # (Work the earlier ingestion left running, its last-used stamp, may end in this
    # window too: it belongs to the ingestion's trace, so only this trace is examined.)
    spans = [s for s in spans if s.context.trace_id == request_span.context.trace_id]
    assert request_span.attributes is not None
    assert request_span.attributes.get("http.route") == "/api/v1/services"
    for span in spans:
        assert span is request_span or request_span in _ancestors(span, by_id), span.name
    sql = [s for s in spans if s.attributes and s.attributes.get("db.system")]
    assert sql, [s.name for s in spans]  # the page's SELECT at least
    for span in sql:
        assert request_span in _ancestors(span, by_id), span.name

    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    (log_line,) = [line for line in lines if line.get("correlation_id") == "traced-1"]
    assert log_line["trace_id"] == f"{request_span.context.trace_id:032x}"


def test_without_an_endpoint_nothing_is_traced(
    capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    key = make_key(database_url, "untraced", Scope.ADMIN)
    app = create_app(settings_for(database_url, log_json=True))
    with TestClient(app, headers={"X-API-Key": key}) as client:
        response = client.get("/api/v1/services", headers={"X-Correlation-ID": "untraced-1"})
        assert response.status_code == 200
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # no SDK provider
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    (log_line,) = [line for line in lines if line.get("correlation_id") == "untraced-1"]
    assert "trace_id" not in log_line  # no span was ever started
