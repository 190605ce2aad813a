"""The client's retry timing and its reading of refusals, on scripted answers
(httpx.MockTransport), the sleeps recorded instead of slept. The same behaviour against
a real server, with a real rate limit: tests/e2e/test_client.py."""

from __future__ import annotations

import doctest
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

import slo_engine_client._operations
import slo_engine_client.errors
from slo_engine_client import (
    AsyncSloEngineClient,
    BadRequest,
    NotFound,
    ProblemError,
    RateLimited,
    RetryEvent,
    RetryPolicy,
    ServerError,
    SloEngineClient,
    TransportError,
    Unavailable,
)

URL = "http://slo.test"
PROBLEM = {
    "type": "https://slo-engine.dev/problems/rate-limited",
    "title": "Too many requests",
    "status": 429,
    "detail": "The query rate limit of this key is exhausted.",
    "instance": "/api/v1/services",
    "correlation_id": "c0ffee",
}
SUBGRAPH = {
    "service": {
        "service_id": "checkout",
        "display_name": None,
        "team": None,
        "criticality": None,
        "metadata": {},
        "discovered": False,
        "only_stale_edges": False,
        "created_at": None,
        "updated_at": None,
    },
    "nodes": [],
    "edges": [],
    "statistics": {"total_nodes": 0, "total_edges": 0, "max_depth_reached": 0, "truncated": False},
}
INGESTED = {
    "nodes_upserted": 0,
    "edges_upserted": 0,
    "revision": 1,
    "circular_dependencies_detected": [],
    "warnings": [],
}

Answer = httpx.Response | Exception


def scripted(answers: list[Answer]) -> tuple[list[httpx.Request], Callable[..., httpx.Response]]:
    """A handler answering `answers` in order (an exception is raised), and the
    requests it saw."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers[len(seen) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, handle


def refused(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return httpx.Response(status, json={**PROBLEM, "status": status}, headers=headers)


def client(
    answers: list[Answer], **options: Any
) -> tuple[SloEngineClient, list[httpx.Request], list[float]]:
    """A client on `answers`, and the requests it sent and the waits it would make."""
    seen, handle = scripted(answers)
    made = SloEngineClient(URL, "slo_key", transport=httpx.MockTransport(handle), **options)
    slept: list[float] = []
    made._sleep = slept.append
    return made, seen, slept


def test_a_429_is_retried_after_its_retry_after_in_seconds() -> None:
    events: list[RetryEvent] = []
    c, seen, slept = client([refused(429, "2"), httpx.Response(200, json=SUBGRAPH)])
    c.on_retry = events.append
    assert c.dependencies("checkout").service.service_id == "checkout"
    assert slept == [2.0]
    assert len(seen) == 2
    assert seen[0].headers["authorization"] == "Bearer slo_key"
    assert [(e.retry, e.delay, e.status, e.reason) for e in events] == [
        (1, 2.0, 429, "rate limited")
    ]


def test_a_retry_after_http_date_is_read_as_the_seconds_until_then() -> None:
    then = datetime.now(UTC) + timedelta(seconds=30)
    c, _, slept = client(
        [refused(503, format_datetime(then, usegmt=True)), httpx.Response(200, json=SUBGRAPH)]
    )
    c.dependencies("checkout")
    assert len(slept) == 1
    assert 27 <= slept[0] <= 30


def test_without_retry_after_the_backoff_doubles_with_jitter() -> None:
    answers: list[Answer] = [refused(503)] * 4 + [httpx.Response(200, json=SUBGRAPH)]
    c, seen, slept = client(answers, max_retries=4)
    c.dependencies("checkout")
    assert len(seen) == 5
    # 0.5 s doubled each time; each wait within [half, all] of it.
    for wait, ceiling in zip(slept, [0.5, 1.0, 2.0, 4.0], strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_the_backoff_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=3.0)
    rng = random.Random(7)
    assert all(1.5 <= policy.backoff_delay(retry, rng) <= 3.0 for retry in range(2, 20))


def test_when_the_retries_run_out_the_refusal_is_raised() -> None:
    c, seen, slept = client([refused(429, "1")] * 3, max_retries=2)
    with pytest.raises(RateLimited) as caught:
        c.services()
    assert len(seen) == 3
    assert slept == [1.0, 1.0]
    error = caught.value
    assert (error.status, error.retry_after, error.correlation_id) == (429, 1.0, "c0ffee")
    assert str(error) == f"429: {PROBLEM['detail']}"


def test_a_retry_after_beyond_the_wait_left_is_raised_at_once() -> None:
    c, seen, slept = client([refused(503, "1"), refused(503, "10")], max_retry_wait=5)
    with pytest.raises(Unavailable) as caught:
        c.services()
    assert len(seen) == 2
    assert slept == [1.0]  # waited once; the 10 s would have gone beyond 5 s in all
    assert caught.value.retry_after == 10.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
def test_other_refusals_are_not_retried(status: int) -> None:
    c, seen, slept = client([refused(status)])
    with pytest.raises(ProblemError) as caught:
        c.dependencies("checkout")
    assert (len(seen), slept, caught.value.status) == (1, [], status)


def test_each_status_has_its_exception() -> None:
    for status, kind in ((400, BadRequest), (404, NotFound), (500, ServerError)):
        c, _, _ = client([refused(status)])
        with pytest.raises(kind):
            c.service("checkout")


def test_a_post_refused_with_429_or_503_is_sent_again() -> None:
    c, seen, slept = client(
        [refused(429, "0"), refused(503, "0"), httpx.Response(200, json=INGESTED)]
    )
    assert c.ingest({"source": "manual"}).revision == 1
    assert [request.method for request in seen] == ["POST"] * 3
    assert all(request.content == seen[0].content for request in seen)
    assert slept == [0.0, 0.0]


def test_a_write_whose_outcome_is_unknown_is_not_sent_again() -> None:
    """A 503 saying the commit was cut (`outcome_unknown`), or one that is not the
    server's own problem (a proxy's page), may follow a stored write: raised, not
    re-sent; a read is sent again either way."""
    cut = httpx.Response(
        503,
        json={**PROBLEM, "status": 503, "outcome_unknown": True},
        headers={"Content-Type": "application/problem+json", "Retry-After": "0"},
    )
    proxy_page = httpx.Response(
        503, text="<html>upstream reset</html>", headers={"Retry-After": "0"}
    )
    for answer in (cut, proxy_page):
        c, seen, slept = client([answer, httpx.Response(200, json=INGESTED)])
        with pytest.raises(Unavailable) as caught:
            c.ingest({"source": "manual"})
        assert (len(seen), slept) == (1, [])
        assert caught.value.outcome_unknown is (answer is cut)
    c, seen, _ = client([proxy_page, httpx.Response(200, json=SUBGRAPH)])
    c.dependencies("checkout")
    assert len(seen) == 2


def test_a_post_whose_answer_was_lost_is_not_sent_again() -> None:
    c, seen, slept = client([httpx.ReadTimeout("slow"), httpx.Response(200, json=INGESTED)])
    with pytest.raises(TransportError) as caught:
        c.ingest({"source": "manual"})
    assert (len(seen), slept) == (1, [])
    assert str(caught.value).startswith(f"could not reach {URL}")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_a_post_that_could_not_connect_is_sent_again() -> None:
    c, seen, _ = client([httpx.ConnectError("refused"), httpx.Response(200, json=INGESTED)])
    c.ingest({"source": "manual"})
    assert len(seen) == 2


def test_a_get_whose_answer_was_lost_is_sent_again() -> None:
    c, seen, slept = client([httpx.ReadError("reset"), httpx.Response(200, json=SUBGRAPH)])
    c.dependencies("checkout")
    assert len(seen) == 2
    assert 0.25 <= slept[0] <= 0.5


def test_no_retries_when_none_are_allowed() -> None:
    c, seen, _ = client([httpx.ConnectError("refused")], max_retries=0)
    with pytest.raises(TransportError):
        c.liveness()
    assert len(seen) == 1


def test_a_body_that_is_no_problem_document_is_kept_as_text() -> None:
    page = httpx.Response(502, text="<html>Bad gateway</html>\n")
    c, _, _ = client([page])
    with pytest.raises(ServerError) as caught:
        c.liveness()
    error = caught.value
    assert (error.status, error.detail, error.problem, error.errors) == (
        502,
        "<html>Bad gateway</html>",
        None,
        [],
    )


def test_the_query_is_written_as_the_api_reads_it() -> None:
    c, seen, _ = client([httpx.Response(200, json=SUBGRAPH)])
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    c.dependencies("a/b", direction="upstream", depth=2, include_stale=True, as_of=at)
    request = seen[0]
    assert request.url.raw_path.split(b"?")[0] == b"/api/v1/services/a%2Fb/dependencies"
    assert dict(request.url.params) == {
        "direction": "upstream",
        "depth": "2",
        "include_stale": "true",
        "as_of": "2026-12-01T09:00:00+00:00",
    }
    with pytest.raises(ValueError, match="timezone"):
        c.dependencies("checkout", as_of=datetime(2026, 12, 1, 9))


async def test_the_async_client_retries_the_same_way() -> None:
    seen, handle = scripted([refused(429, "3"), refused(503), httpx.Response(200, json=SUBGRAPH)])
    slept: list[float] = []

    async def record(delay: float) -> None:
        slept.append(delay)

    async with AsyncSloEngineClient(URL, transport=httpx.MockTransport(handle)) as c:
        c._sleep = record
        answer = await c.dependencies("checkout")
    assert answer.statistics.total_nodes == 0
    assert len(seen) == 3
    assert slept[0] == 3.0
    assert 0.5 <= slept[1] <= 1.0  # the second retry's backoff: 0.5 s doubled, jittered


async def test_the_async_client_raises_the_problem() -> None:
    _, handle = scripted([refused(404)])
    async with AsyncSloEngineClient(URL, transport=httpx.MockTransport(handle)) as c:
        with pytest.raises(NotFound) as caught:
            await c.service("nope")
    assert caught.value.title == PROBLEM["title"]


def test_the_examples_in_the_docstrings() -> None:
    for module in (slo_engine_client.errors, slo_engine_client._operations):
        assert doctest.testmod(module).failed == 0


def test_transport_errors_can_have_fewer_retries_than_refusals() -> None:
    policy = RetryPolicy(max_retries=5, transport_retries=1)
    answers: list[Answer] = [httpx.ConnectError("refused")] * 3
    c, seen, slept = client(answers, retry=policy)
    with pytest.raises(TransportError):
        c.services()
    assert (len(seen), len(slept)) == (2, 1)
    c, seen, _ = client(
        [refused(429, "0")] * 5 + [httpx.Response(200, json=SUBGRAPH)], retry=policy
    )
    c.dependencies("checkout")
    assert len(seen) == 6


def test_a_redirect_is_not_followed_but_raised() -> None:
    moved = httpx.Response(307, headers={"Location": "http://elsewhere.test/"})
    c, seen, _ = client([moved])
    with pytest.raises(ProblemError) as caught:
        c.services()
    assert (len(seen), caught.value.status) == (1, 307)


def test_a_304_to_a_conditional_request_is_an_answer() -> None:
    c, seen, _ = client([httpx.Response(304)])
    answer = c.request("GET", "/api/v1/graph", headers={"If-None-Match": 'W/"1.2.3"'})
    assert answer.status_code == 304
    assert seen[0].headers["if-none-match"] == 'W/"1.2.3"'
