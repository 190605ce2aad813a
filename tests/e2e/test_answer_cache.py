"""The subgraph answer cache: hits for repeated queries, never an answer older than the
revision asked for (also across replicas sharing Redis), and a Redis failure is a miss."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.observability.metrics import ANSWER_CACHE_LOOKUPS
from tests.e2e.conftest import ingest, make_key, settings_for

QUERY = "/api/v1/services/a/dependencies?depth=2"


def hits() -> float:
    return ANSWER_CACHE_LOOKUPS.labels("hit")._value.get()


def nodes(client: TestClient, min_revision: int | None = None) -> list[str]:
    query = QUERY if min_revision is None else f"{QUERY}&min_revision={min_revision}"
    response = client.get(query)
    assert response.status_code == 200, response.text
    return [n["service_id"] for n in response.json()["nodes"]]


@pytest.fixture(params=["memory", "redis"])
def cache_settings(request: pytest.FixtureRequest, database_url: str) -> dict[str, Any]:
    if request.param == "redis":
        return {"query_cache": "redis", "redis_url": request.getfixturevalue("redis_url")}
    return {"query_cache": "memory"}


def test_repeated_queries_hit_and_writes_are_read_back_at_their_revision(
    database_url: str, cache_settings: dict[str, Any]
) -> None:
    key = {"X-API-Key": make_key(database_url, "cached", Scope.ADMIN)}
    settings = settings_for(database_url, **cache_settings)
    with (
        TestClient(create_app(settings), headers=key) as first,
        TestClient(create_app(settings), headers=key) as second,  # another replica
    ):
        ingest(first, [("a", "b")])
        before = hits()
        assert nodes(first) == ["b"]
        body = first.get(QUERY).content
        assert first.get(QUERY).content == body
        assert hits() - before == 2
        wrote = ingest(second, [("b", "c")])  # a write through the other replica
        # Read back through the first replica at the write's revision: not the cached
        # ["b"] (answers are cached per revision); the writer sees its write at once.
        assert nodes(first, min_revision=wrote["revision"]) == ["b", "c"]
        assert nodes(second) == ["b", "c"]


def test_an_unreachable_redis_is_only_a_miss(database_url: str) -> None:
    key = {"X-API-Key": make_key(database_url, "no-redis", Scope.ADMIN)}
    settings = settings_for(
        database_url,
        query_cache="redis",
        redis_url="redis://127.0.0.1:9/0",
        redis_timeout_seconds=0.2,
        rate_limit_query="1000000/minute",
    )
    with TestClient(create_app(settings), headers=key, raise_server_exceptions=False) as client:
        ingest(client, [("a", "b")])
        assert nodes(client) == ["b"]
        assert nodes(client) == ["b"]
