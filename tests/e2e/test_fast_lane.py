"""The subgraph route's fast lane (infra/fast_lane.py) answers exactly as FastAPI's full
path does: the same status, headers and bytes for every request of a corpus of good,
odd and bad ones, on every engine; and it is really taken for the common shapes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from slo_engine.access.dependencies import read_access
from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.infra.fast_lane import FastLaneRoute, fast_lane
from tests.e2e.conftest import caught_up, edge, ingest, make_key, settings_for
from tests.e2e.test_exports import add_stale_edge

DEPENDENCIES = "/api/v1/services/{}/dependencies"
# Headers that differ between any two requests, whichever path answers them.
VOLATILE = {"x-correlation-id", "x-ratelimit-remaining", "ratelimit", "x-ratelimit-reset"}

# Requests the lane answers itself: (service, query, extra headers).
LANE_SHAPES: list[tuple[str, str, dict[str, str]]] = [
    ("checkout", "", {}),
    ("checkout", "direction=upstream&depth=2&include_stale=true&max_nodes=5", {}),
    ("payments", "direction=both&depth=10&max_nodes=100000&include_stale=false", {}),
    ("checkout", "max_nodes=1", {}),
    ("checkout", "include_stale=true", {}),
    ("checkout", "format=dot", {}),
    ("checkout", "format=mermaid&direction=both", {}),
    ("checkout", "format=json", {}),
    ("checkout", "format=cytoscape", {}),
    ("checkout", "", {"Accept": "text/vnd.graphviz"}),
    ("checkout", "", {"Accept": "image/png"}),  # 406
    ("checkout", "min_revision=1", {}),
    ("checkout", "min_revision=999999999", {}),  # never committed: 400
    ("nobody", "", {}),  # 404
    ("checkout", "%64epth=2&include%5Fstale=true", {}),  # names percent-encoded
    ("nobody", "depth=2", {"If-None-Match": 'W/"x"'}),
]
# Requests the lane leaves to FastAPI: odd spellings, bad values, unknown or repeated names.
FULL_PATH_SHAPES: list[tuple[str, str, dict[str, str]]] = [
    ("checkout", "depth=03", {}),
    ("checkout", "depth=%2B3", {}),
    ("checkout", "depth=0", {}),
    ("checkout", "depth=11", {}),
    ("checkout", "depth=abc", {}),
    ("checkout", "depth=", {}),
    ("checkout", "depth=2&depth=3", {}),
    ("checkout", "include_stale=yes", {}),
    ("checkout", "include_stale=1", {}),
    ("checkout", "include_stale=True", {}),
    ("checkout", "direction=DOWNSTREAM", {}),
    ("checkout", "max_nodes=0", {}),
    ("checkout", "max_nodes=100001", {}),
    ("checkout", "format=svg", {}),
    ("checkout", "min_revision=-1", {}),
    ("checkout", "min_revision=", {}),
    ("checkout", "unknown=1", {}),
    ("checkout", "depth=" + "1" * 5000, {}),  # past what int() parses
    ("checkout", "min_revision=" + "9" * 20, {}),
    ("bad%20id", "", {}),
    ("-leading-dash", "", {}),
    ("x" * 256, "", {}),
]


@contextmanager
def full_path_only(app: FastAPI) -> Iterator[None]:
    """FastAPI's full path for every request: a dependency override (of a function no
    route uses) switches the lanes off, as any override in a test does."""

    def unused() -> None:
        return None

    app.dependency_overrides[unused] = unused
    try:
        yield
    finally:
        app.dependency_overrides.pop(unused)


def comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str], set[str]]:
    """Status, body (a problem's correlation id taken out), stable headers, and the
    names of the volatile ones."""
    headers = {name: value for name, value in response.headers.items() if name not in VOLATILE}
    body = response.content.replace(response.headers["x-correlation-id"].encode(), b"<id>")
    return response.status_code, body, headers, set(response.headers) & VOLATILE


@pytest.fixture
def lane_client(database_url: str) -> Iterator[TestClient]:
    key = make_key(database_url, "lane-reader", Scope.READ)
    app = create_app(settings_for(database_url))
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
        writer = make_key(database_url, "lane-writer", Scope.ADMIN)
        caught_up(client)
        client.headers["Authorization"] = f"Bearer {writer}"
        ingest(
            client,
            [
                edge("web", "checkout", criticality="hard"),
                edge("checkout", "payments", communication_mode="sync"),
                edge("payments", "ledger"),
                edge("ledger", "checkout"),
                ("checkout", "catalog"),
            ],
        )
        ingest(client, [("checkout", "payments")], source="otel_service_graph")
        add_stale_edge(client, "checkout", "fraud")  # include_stale changes answers
        del client.headers["Authorization"]
        yield client


def _send(client: TestClient, service: str, query: str, headers: dict[str, str]) -> httpx.Response:
    url = DEPENDENCIES.format(service) + (f"?{query}" if query else "")
    return client.get(url, headers=headers)


@pytest.mark.parametrize(("service", "query", "headers"), LANE_SHAPES + FULL_PATH_SHAPES)
def test_both_paths_give_the_same_answer(
    lane_client: TestClient, service: str, query: str, headers: dict[str, str]
) -> None:
    before = FastLaneRoute.lane_answers
    by_lane = _send(lane_client, service, query, headers)
    taken = FastLaneRoute.lane_answers - before
    with full_path_only(lane_client.app):  # type: ignore[arg-type]
        by_fastapi = _send(lane_client, service, query, headers)
    assert FastLaneRoute.lane_answers - before == taken  # the override kept the lane off
    assert comparable(by_lane) == comparable(by_fastapi)
    assert taken == (1 if (service, query, headers) in LANE_SHAPES else 0)


def test_conditional_reads_and_refusals_match(lane_client: TestClient) -> None:
    first = _send(lane_client, "checkout", "", {})
    assert first.status_code == 200
    etag = first.headers["ETag"]
    answers: list[Any] = []
    for lane_on in (True, False):
        with _no_change() if lane_on else full_path_only(lane_client.app):  # type: ignore[arg-type]
            conditional = _send(lane_client, "checkout", "", {"If-None-Match": etag})
            no_key = _send(lane_client, "checkout", "", {"X-API-Key": ""})
            wrong_key = _send(lane_client, "checkout", "", {"X-API-Key": "slo_000000000000_nope"})
        responses = (conditional, no_key, wrong_key)
        assert [r.status_code for r in responses] == [304, 401, 401]
        answers.append([comparable(r) for r in responses])
    assert answers[0] == answers[1]


@pytest.mark.parametrize("query", ["", "depth=03"])
def test_rate_limited_answers_match(database_url: str, query: str) -> None:
    """A key over its own limit gets the same 429 from either path, and a request takes
    one token whichever path answers it (the lane's or, for a shape the lane leaves to
    FastAPI, the full path's alone): the second request of each is refused."""
    app = create_app(settings_for(database_url))
    refusals = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for name in ("lane", "full"):
            key = make_key(database_url, f"limited-{name}", Scope.READ, rate_limit_query="1/minute")
            caught_up(client)
            with full_path_only(app) if name == "full" else _no_change():
                statuses = [_send(client, "checkout", query, {"X-API-Key": key}) for _ in range(2)]
            assert [r.status_code for r in statuses] == [404, 429]
            refusals.append(comparable(statuses[1]))
    assert refusals[0][0] == refusals[1][0] == 429
    assert refusals[0][2:] == refusals[1][2:]
    # The problem bodies name the key, which differs; their shape does not.
    assert refusals[0][1].replace(b"limited-lane", b"K") == refusals[1][1].replace(
        b"limited-full", b"K"
    )


def test_lanes_are_closed_while_tracing_is_on(database_url: str) -> None:
    """FastAPI's operation spans belong to the trace: with a tracer provider, the route
    takes FastAPI's path, and its spans are there."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    key = make_key(database_url, "traced", Scope.READ)
    app = create_app(settings_for(database_url), tracer_provider=provider)
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as client:
        before = FastLaneRoute.lane_answers
        assert _send(client, "nobody", "", {}).status_code == 404
        assert FastLaneRoute.lane_answers == before
    assert len(exporter.get_finished_spans()) > 1  # the request's and its operations'


def test_a_lane_must_call_what_its_route_declares() -> None:
    async def lane(request: Request) -> Response | None:
        return None

    async def other_check() -> None:
        return None

    router = APIRouter(route_class=FastLaneRoute)
    with pytest.raises(RuntimeError, match="must be the same"):

        @router.get("/x", dependencies=[Depends(other_check)])
        @fast_lane(lane, calls=(read_access,))
        async def endpoint() -> None:
            return None


def test_the_app_adds_no_dependencies_the_lane_would_skip(database_url: str) -> None:
    """The route as the app serves it (with what `FastAPI(dependencies=...)` and
    `include_router(dependencies=...)` add) has exactly the dependencies its lane calls.
    FastAPI 0.165 keeps an included route's effective dependencies on a route context;
    if that changes, this test fails rather than passing unchecked."""
    app = create_app(settings_for(database_url))
    served = [
        candidate
        for included in app.routes
        if hasattr(included, "effective_candidates")
        for candidate in included.effective_candidates()
        if getattr(candidate, "path_format", "") == "/api/v1/services/{service_id}/dependencies"
    ]
    assert len(served) == 1
    assert [depends.dependency for depends in served[0].dependencies] == [read_access]


@contextmanager
def _no_change() -> Iterator[None]:
    yield
