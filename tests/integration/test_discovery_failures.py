"""A failing source changes nothing in the stored graph, and its failure is recorded."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest
from sqlalchemy import text

from slo_engine.discovery import service
from slo_engine.discovery.http import JsonGetter
from slo_engine.discovery.prometheus import PrometheusClient
from slo_engine.discovery.repository import DiscoveryRepository, SourceStatus
from slo_engine.discovery.sources.otel import OtelServiceGraphSource
from slo_engine.errors import SourceError
from slo_engine.infra.db import Database
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings


class FakePrometheus(BaseHTTPRequestHandler):
    mode = "good"
    queries = 0

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query).get("query", [""])[0]
        type(self).queries += 1
        mode = type(self).mode
        vector: dict[str, Any] = {"resultType": "vector", "result": []}
        if "request_total" in query and "failed" not in query:
            vector["result"] = [
                {"metric": {"client": "a", "server": "b"}, "value": [time.time(), "90"]}
            ]
        answer: dict[str, Any] = {"status": "success", "data": vector}
        if mode == "slow":
            time.sleep(1.5)
        if mode == "error" or (mode == "partial" and type(self).queries > 1):
            self._send(500, b'{"status":"error","error":"internal"}')
        elif mode == "garbage":
            self._send(200, b"<html>not json</html>")
        elif mode == "warnings":
            self._send(200, orjson.dumps({**answer, "warnings": ["remote store down"]}))
        elif mode == "bad_query":
            self._send(400, b'{"status":"error","errorType":"bad_data","error":"parse error"}')
        else:
            self._send(200, orjson.dumps(answer))


@pytest.fixture
def fake_prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakePrometheus.mode, FakePrometheus.queries = "good", 0
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def _dump(database: Database) -> list[Any]:
    async with database.session_scope() as session:
        rows = []
        for table, order in (
            ("services", "service_id"),
            ("service_dependencies", "discovery_source, last_observed_at"),
            ("circular_dependency_alerts", "canonical_key"),
        ):
            result = await session.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            rows.append([tuple(map(str, row)) for row in result])
        return rows


async def _run(database: Database, url: str) -> None:
    async with httpx.AsyncClient(timeout=0.5) as client:
        getter = JsonGetter(client, max_bytes=1_000_000, retries=1, base_delay=0.01)
        source = OtelServiceGraphSource(PrometheusClient(url, getter), 15)
        await service.run_source(database, LiveGraph(), source, datetime.now(UTC))


async def _status(database: Database) -> SourceStatus:
    async with database.session_scope() as session:
        return (await DiscoveryRepository(session).statuses())["otel"]


@pytest.mark.parametrize(
    "mode", ["down", "slow", "error", "garbage", "warnings", "partial", "bad_query"]
)
def test_a_failing_source_leaves_the_graph_as_it_was(
    database_url: str, fake_prometheus: str, mode: str
) -> None:
    async def scenario() -> None:
        database = Database.from_settings(Settings(database_url=database_url))
        try:
            await _run(database, fake_prometheus)  # a good run stores a -> b
            before = await _dump(database)
            assert len(before[1]) == 1
            FakePrometheus.mode, FakePrometheus.queries = mode, 0
            url = "http://127.0.0.1:9" if mode == "down" else fake_prometheus
            with pytest.raises(SourceError):
                await _run(database, url)
            assert await _dump(database) == before
            status = await _status(database)
            assert status.consecutive_failures == 1
            assert status.last_error
            assert status.last_success_at is not None  # the last good run is still known
            FakePrometheus.mode = "good"
            await _run(database, fake_prometheus)
            assert (await _status(database)).consecutive_failures == 0
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_an_answer_above_the_size_limit_is_refused(fake_prometheus: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            getter = JsonGetter(client, max_bytes=50, retries=0)
            with pytest.raises(SourceError, match="larger than"):
                await PrometheusClient(fake_prometheus, getter).query(
                    "traces_service_graph_request_total"
                )

    asyncio.run(scenario())


def test_transient_errors_are_retried(fake_prometheus: str) -> None:
    async def scenario() -> None:
        FakePrometheus.mode = "partial"  # the first query answers, the next ones fail
        async with httpx.AsyncClient(timeout=2) as client:
            getter = JsonGetter(client, max_bytes=1_000_000, retries=2, base_delay=0.01)
            prometheus = PrometheusClient(fake_prometheus, getter)
            await prometheus.query("traces_service_graph_request_total")
            with pytest.raises(SourceError, match="after 3 attempts"):
                await prometheus.query("anything")
        assert FakePrometheus.queries == 4

    asyncio.run(scenario())
