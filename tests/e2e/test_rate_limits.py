"""Rate limits through the HTTP API: headers, refusals, retries, classes, per-key limits.

These run on the in-process buckets; tests/integration/test_rate_limit_redis.py runs the
shared Redis buckets across processes and through a Redis outage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import API_PREFIX, create_app
from tests.e2e.conftest import make_key, settings_for

SERVICES = f"{API_PREFIX}/services"
INGEST = f"{API_PREFIX}/services/dependencies"
EMPTY_BATCH = {"source": "manual", "nodes": [], "edges": []}


@pytest.fixture
def limited(database_url: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client and admin-key headers, with 3 queries per hour and 2 ingestions per hour."""
    key = make_key(database_url, "limited", Scope.ADMIN)
    settings = settings_for(database_url, rate_limit_query="3/hour", rate_limit_ingestion="2/hour")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, {"X-API-Key": key}


def test_headers_count_down_then_a_refusal_says_when_to_retry(
    limited: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = limited
    remaining = []
    for _ in range(3):
        response = client.get(SERVICES, headers=headers)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["ratelimit-policy"] == '"query";q=3;w=3600'
        assert re.fullmatch(r'"query";r=\d+;t=\d+', response.headers["ratelimit"])
        assert int(response.headers["x-ratelimit-reset"]) > 0
        assert "retry-after" not in response.headers
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [2, 1, 0]

    refused = client.get(SERVICES, headers=headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert refused.headers["retry-after"].isdigit()
    # One token every 1,200 s: the first comes back in (at most) that long.
    assert 0 < int(refused.headers["retry-after"]) <= 1200
    assert refused.headers["x-ratelimit-remaining"] == "0"


def test_ingestion_and_query_have_separate_buckets(
    limited: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = limited
    for _ in range(3):
        assert client.get(SERVICES, headers=headers).status_code == 200
    assert client.get(SERVICES, headers=headers).status_code == 429
    for _ in range(2):
        response = client.post(INGEST, json=EMPTY_BATCH, headers=headers)
        assert response.status_code == 200
        assert response.headers["ratelimit-policy"] == '"ingestion";q=2;w=3600'
    assert client.post(INGEST, json=EMPTY_BATCH, headers=headers).status_code == 429


def test_each_key_has_its_own_bucket(
    database_url: str, limited: tuple[TestClient, dict[str, str]]
) -> None:
    client, headers = limited
    other = {"X-API-Key": make_key(database_url, "other", Scope.READ)}
    for _ in range(3):
        client.get(SERVICES, headers=headers)
    assert client.get(SERVICES, headers=headers).status_code == 429
    assert client.get(SERVICES, headers=other).status_code == 200


def test_a_key_can_carry_its_own_limit(database_url: str) -> None:
    generous = make_key(database_url, "scheduler", Scope.READ, rate_limit_query="50/hour")
    settings = settings_for(database_url, rate_limit_query="1/hour")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        statuses = [
            client.get(SERVICES, headers={"X-API-Key": generous}).status_code for _ in range(50)
        ]
        assert statuses == [200] * 50
        refused = client.get(SERVICES, headers={"X-API-Key": generous})
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-limit"] == "50"


def test_retrying_after_retry_after_succeeds(database_url: str) -> None:
    key = {"X-API-Key": make_key(database_url, "fast", Scope.READ)}
    settings = settings_for(database_url, rate_limit_query="2/second")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        while (response := client.get(SERVICES, headers=key)).status_code == 200:
            pass
        assert response.status_code == 429
        delay = int(response.headers["retry-after"])
        assert delay >= 1
        time.sleep(delay)
        assert client.get(SERVICES, headers=key).status_code == 200


def test_refused_requests_change_nothing(limited: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = limited
    batch = {"source": "manual", "nodes": [], "edges": [{"source": "a", "target": "b"}]}
    for _ in range(2):
        client.post(INGEST, json=EMPTY_BATCH, headers=headers)
    refused = client.post(INGEST, json=batch, headers=headers)
    assert refused.status_code == 429
    assert client.get(f"{SERVICES}/a", headers=headers).status_code == 404
