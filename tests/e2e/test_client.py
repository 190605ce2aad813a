"""The Python client (clients/python, package slo_engine_client) against a real
`slo-cli serve` process on every database engine, sync and async: each typed answer is
the HTTP API's own answer to the same request, refusals are the server's problems, and
a real rate limit's 429 is waited out after its Retry-After (a POST too: sent again,
applied once). The retry timing on scripted answers: tests/unit/client/."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from slo_engine.access.keys import Scope
from slo_engine_client import (
    AsyncSloEngineClient,
    BadRequest,
    Forbidden,
    NotFound,
    RateLimited,
    RetryEvent,
    SloEngineClient,
    TransportError,
    Unauthorized,
    UnprocessableEntity,
)
from slo_engine_client.models import (
    AlertStatus,
    ChangeType,
    Direction,
    EdgeIn,
    ExportFormat,
    IngestionRequest,
    NodeIn,
)
from tests.e2e.conftest import BOUTIQUE, make_key
from tests.local_servers import free_port, served_env, start_api

# The edge tracing sees and nobody declared: it closes checkout -> payment -> frontend.
CYCLE_EDGE = {"source": "paymentservice", "target": "frontend"}


@dataclass(frozen=True)
class Served:
    url: str
    admin_key: str
    read_key: str
    # The time after Online Boutique was ingested and before the cycle was.
    before_cycle: datetime

    def api(self, path: str, **params: Any) -> Any:
        """The HTTP API's own JSON answer to GET /api/v1`path`."""
        response = httpx.get(
            f"{self.url}/api/v1{path}",
            params=params,
            headers={"X-API-Key": self.admin_key},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


def start(database_url: str, tmp_path: Path, **env: str) -> tuple[Any, str]:
    return start_api(served_env(database_url, **env), tmp_path / "server.log")


@pytest.fixture
def boutique(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """A real server with Online Boutique ingested through the client, then the cycle."""
    admin = make_key(database_url, "client-admin", Scope.ADMIN)
    reader = make_key(database_url, "client-reader", Scope.READ)
    process, url = start(database_url, tmp_path)
    try:
        with SloEngineClient(url, api_key=admin) as client:
            ingested = client.ingest(json.loads(BOUTIQUE.read_text()))
            assert (ingested.nodes_upserted, ingested.edges_upserted) == (12, 16)
            time.sleep(0.01)
            before_cycle = datetime.now(UTC)
            time.sleep(0.01)
            cycle = client.ingest(
                IngestionRequest(source="otel_service_graph", edges=[EdgeIn(**CYCLE_EDGE)])
            )
            assert len(cycle.circular_dependencies_detected) == 1
        yield Served(url, admin, reader, before_cycle)
    finally:
        process.terminate()
        process.wait(timeout=10)


def as_api(model: BaseModel) -> Any:
    """A typed answer written back as JSON (the fields it was given), to compare with
    the API's own answer."""
    return json.loads(model.model_dump_json(by_alias=True, exclude_unset=True))


def same_json(answer: Any, api: Any) -> None:
    """The same JSON, times compared as instants (the server may write them otherwise)."""
    assert normalised(answer) == normalised(api)


def normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: normalised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalised(item) for item in value]
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def test_three_lines_answer_a_subgraph(boutique: Served) -> None:
    c = SloEngineClient(boutique.url, api_key=boutique.read_key)
    nodes = c.dependencies("checkoutservice").nodes
    assert {node.service_id for node in nodes} >= {"paymentservice", "cartservice"}
    c.close()


def test_every_read_is_the_apis_own_answer(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        same_json(
            as_api(client.dependencies("frontend", depth=2, direction=Direction.BOTH)),
            boutique.api("/services/frontend/dependencies", depth=2, direction="both"),
        )
        same_json(
            as_api(client.dependencies("productcatalogservice", direction="upstream", depth=10)),
            boutique.api(
                "/services/productcatalogservice/dependencies", direction="upstream", depth=10
            ),
        )
        same_json(as_api(client.service("cartservice")), boutique.api("/services/cartservice"))
        same_json(
            as_api(client.impact("redis-cart", depth=10)),
            boutique.api("/services/redis-cart/impact", depth=10),
        )
        same_json(
            as_api(client.availability("checkoutservice")),
            boutique.api("/services/checkoutservice/availability"),
        )
        same_json(as_api(client.graph(limit=5)), boutique.api("/graph", limit=5))
        same_json(
            as_api(client.services(search="service", limit=3)),
            boutique.api("/services", search="service", limit=3),
        )
        same_json(
            as_api(client.cycles(status="open")),
            boutique.api("/circular-dependencies", status="open"),
        )
        same_json(
            as_api(client.changes(service="paymentservice", since_revision=1)),
            boutique.api("/changes", service="paymentservice", since_revision=1),
        )
        at = boutique.before_cycle.isoformat()
        same_json(
            as_api(client.diff(boutique.before_cycle)), boutique.api("/graph/diff", **{"from": at})
        )
        assert client.liveness().status == "ok"


def test_pages_iterators_and_typed_fields(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        every = [service.service_id for service in client.iter_services(page_size=5)]
        assert every == sorted(every)
        assert every == [s.service_id for s in client.services(limit=1000).items]
        assert len(every) == 12
        subgraph = client.dependencies("checkoutservice", depth=1)
        assert subgraph.service.created_at is not None
        assert subgraph.service.created_at.tzinfo is not None
        assert subgraph.statistics.max_depth_reached == 1
        (alert,) = list(client.iter_cycles(status=AlertStatus.OPEN, page_size=1))
        assert alert.status is AlertStatus.OPEN
        assert client.cycle(alert.alert_id) == alert
        reported = list(
            client.iter_changes(types=[ChangeType.EDGE_REPORTED], service="paymentservice")
        )
        assert {(c.service_id, c.target_id) for c in reported} >= {("paymentservice", "frontend")}
        assert all(c.type is ChangeType.EDGE_REPORTED for c in reported)


def test_include_adds_the_insights_to_the_answer(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        plain = client.dependencies("checkoutservice", depth=1)
        assert (plain.impact, plain.availability) == (None, None)
        both = client.dependencies("checkoutservice", depth=1, include=["impact", "availability"])
        assert both.availability is not None
        assert both.availability.ceiling == client.availability("checkoutservice").ceiling
        assert both.impact is not None
        assert both.impact.totals == client.impact("checkoutservice").totals
        service = client.service("redis-cart", include="impact")
        assert service.impact is not None
        assert "cartservice" in {a.service_id for a in service.impact.affected}
        assert service.availability is None
        same_json(
            as_api(service),
            boutique.api("/services/redis-cart", include="impact"),
        )


def test_as_of_answers_from_the_graph_as_it_was(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        now = client.dependencies("paymentservice", depth=1)
        then = client.dependencies("paymentservice", depth=1, as_of=boutique.before_cycle)
        assert [n.service_id for n in now.nodes] == ["frontend"]
        assert then.nodes == []
        markdown = client.diff_markdown(boutique.before_cycle)
        assert "paymentservice" in markdown


def test_exports_as_text(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        dot = client.export_dependencies("frontend", ExportFormat.DOT, depth=1)
        assert 'digraph "slo-engine" {' in dot
        assert '"frontend" -> "cartservice"' in dot
        mermaid = "".join(client.export_graph("mermaid"))
        assert mermaid == boutique_text(boutique, "/api/v1/graph", format="mermaid")


def boutique_text(served: Served, path: str, **params: str) -> str:
    response = httpx.get(
        served.url + path, params=params, headers={"X-API-Key": served.read_key}, timeout=30
    )
    assert response.status_code == 200
    return response.text


def test_writes_retract_update_and_delete(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.admin_key) as client:
        (alert,) = client.cycles(status="open").items
        acknowledged = client.update_cycle(alert.alert_id, "acknowledged", actor="alice")
        assert (acknowledged.status, acknowledged.acknowledged_by) == ("acknowledged", "alice")
        retracted = client.retract(
            "paymentservice", "frontend", discovery_source="otel_service_graph"
        )
        assert [(r.source, r.target) for r in retracted.retracted] == [
            ("paymentservice", "frontend")
        ]
        assert retracted.cycles_resolved == [
            ["checkoutservice", "paymentservice", "frontend", "checkoutservice"]
        ]
        added = client.ingest(
            IngestionRequest(source="manual", nodes=[NodeIn(service_id="legacy", team="old")])
        )
        assert added.revision > retracted.revision
        deleted = client.delete_service("legacy")
        assert deleted.deleted_service == "legacy"
        with pytest.raises(NotFound):
            client.service("legacy", min_revision=deleted.revision)


def test_refusals_are_the_servers_problems(boutique: Served) -> None:
    with SloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        with pytest.raises(NotFound) as missing:
            client.dependencies("no-such-service")
        problem = missing.value
        assert problem.status == 404
        assert problem.problem is not None
        assert problem.correlation_id == problem.problem.correlation_id
        assert str(problem) == f"404: {problem.detail}"
        assert "no-such-service" in problem.detail

        with pytest.raises(BadRequest) as bad:
            client.dependencies("frontend", depth=0)
        assert [entry.pointer for entry in bad.value.errors] == ["/query/depth"]

        with pytest.raises(Forbidden):
            client.ingest({"source": "manual", "nodes": [], "edges": []})

    with SloEngineClient(boutique.url, api_key=boutique.admin_key) as client:
        with pytest.raises(UnprocessableEntity) as invalid:
            client.ingest({"source": "manual", "edges": [{"source": "a"}]})
        assert [entry.pointer for entry in invalid.value.errors] == ["/edges/0/target"]

    with (
        SloEngineClient(boutique.url, api_key="slo_0123456789ab_" + "x" * 43) as client,
        pytest.raises(Unauthorized) as unknown,
    ):
        client.services()
    assert unknown.value.detail == "The API key is not valid."


def test_a_server_that_is_not_there() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    events: list[RetryEvent] = []
    with (
        SloEngineClient(url, max_retries=2, on_retry=events.append) as client,
        pytest.raises(TransportError) as caught,
    ):
        client.services()
    assert str(caught.value).startswith(f"could not reach {url}: ")
    assert [event.status for event in events] == [None, None]  # retried twice, then raised


async def test_the_async_client(boutique: Served) -> None:
    async with AsyncSloEngineClient(boutique.url, api_key=boutique.read_key) as client:
        subgraph = await client.dependencies("frontend", depth=2)
        same_json(as_api(subgraph), boutique.api("/services/frontend/dependencies", depth=2))
        impact = await client.impact("redis-cart")
        same_json(as_api(impact), boutique.api("/services/redis-cart/impact"))
        ceiling = await client.availability("checkoutservice")
        assert 0 < ceiling.ceiling < 1
        every = [service.service_id async for service in client.iter_services(page_size=5)]
        assert len(every) == 12
        chunks = [chunk async for chunk in client.export_graph(ExportFormat.DOT)]
        assert 'digraph "slo-engine" {' in "".join(chunks)
        changes = [change async for change in client.iter_changes(since_revision=1)]
        assert changes
        with pytest.raises(NotFound):
            await client.service("no-such-service")
    async with AsyncSloEngineClient(boutique.url, api_key=boutique.admin_key) as client:
        answer = await client.ingest(
            IngestionRequest(source="manual", edges=[EdgeIn(source="frontend", target="new")])
        )
        assert answer.edges_upserted == 1
        assert [
            n.service_id
            for n in (
                await client.dependencies(
                    "new", direction="upstream", depth=1, min_revision=answer.revision
                )
            ).nodes
        ] == ["frontend"]


# ------------------------------------------------------------------ real rate limits


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real server allowing 2 queries a second (a burst of 2) and 1 ingestion a second."""
    key = make_key(database_url, "limited", Scope.ADMIN)
    process, url = start(
        database_url, tmp_path, RATE_LIMIT_QUERY="2/second", RATE_LIMIT_INGESTION="1/second"
    )
    try:
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_real_429_is_waited_out_after_its_retry_after(limited: tuple[str, str]) -> None:
    url, key = limited
    events: list[RetryEvent] = []
    with SloEngineClient(url, api_key=key, on_retry=events.append, max_retries=5) as client:
        started = time.monotonic()
        answers = [client.services() for _ in range(5)]
    assert all(page.items == [] for page in answers)
    assert events, "the limit was never reached"
    assert {event.status for event in events} == {429}
    # The server says whole seconds; the client waited exactly that.
    assert all(event.delay >= 1 and event.delay == int(event.delay) for event in events)
    assert time.monotonic() - started >= sum(event.delay for event in events)


def test_without_retries_the_429_is_raised_with_its_retry_after(limited: tuple[str, str]) -> None:
    url, key = limited
    with (
        SloEngineClient(url, api_key=key, max_retries=0) as client,
        pytest.raises(RateLimited) as caught,
    ):
        for _ in range(10):
            client.services()
    error = caught.value
    assert error.status == 429
    assert error.retry_after is not None
    assert error.retry_after >= 1
    assert error.headers["x-ratelimit-remaining"] == "0"


def test_a_retry_after_beyond_the_allowed_wait_is_raised_at_once(
    limited: tuple[str, str],
) -> None:
    url, key = limited
    with (
        SloEngineClient(url, api_key=key, max_retry_wait=0.5) as client,
        pytest.raises(RateLimited),
    ):
        for _ in range(10):
            started = time.monotonic()
            client.services()
    assert time.monotonic() - started < 0.5  # the 1 s Retry-After was not waited


def test_a_refused_ingestion_is_sent_again_and_applied_once(limited: tuple[str, str]) -> None:
    url, key = limited
    events: list[RetryEvent] = []
    with SloEngineClient(url, api_key=key, on_retry=events.append) as client:
        revisions = [
            client.ingest(
                {"source": "manual", "edges": [{"source": f"s{i}", "target": f"t{i}"}]}
            ).revision
            for i in range(3)
        ]
        listed = [s.service_id for s in client.iter_services()]
    assert events, "the ingestion limit was never reached"
    assert {event.method for event in events} == {"POST"}
    # Each batch committed exactly once: one revision each, in order.
    assert revisions == sorted(set(revisions))
    assert listed == ["s0", "s1", "s2", "t0", "t1", "t2"]


async def test_the_async_client_waits_out_a_real_429(limited: tuple[str, str]) -> None:
    url, key = limited
    events: list[RetryEvent] = []
    async with AsyncSloEngineClient(url, api_key=key, on_retry=events.append) as client:
        for _ in range(5):
            await client.services()
    assert events
    assert {event.status for event in events} == {429}
