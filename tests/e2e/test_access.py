"""API keys end to end: the auth matrix over every route, key management, secrecy."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from slo_engine.access.dependencies import ACCESS_CONTROL
from slo_engine.access.keys import Scope
from slo_engine.access.tables import api_keys
from slo_engine.app import API_PREFIX, create_app
from tests.e2e.conftest import caught_up, ingest, make_key, settings_for

HEALTH = (f"{API_PREFIX}/health", f"{API_PREFIX}/health/ready")
ALERT_ID = "00000000-0000-0000-0000-000000000000"
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/services/dependencies"): {"source": "manual", "nodes": [], "edges": []},
    ("PATCH", "/api/v1/circular-dependencies/{alert_id}"): {"status": "acknowledged"},
    ("POST", "/api/v1/api-keys"): {"name": "made-in-matrix", "scopes": ["read"]},
    ("POST", "/api/v1/webhooks"): {"url": "https://h.example/x", "event_types": ["edge.added"]},
    ("POST", "/api/v1/aliases"): {"alias": "checkoutservice", "service_id": "checkout"},
}
PATH_VALUES = {
    "service_id": "checkout",
    "source_id": "checkout",
    "target_id": "payment",
    "alert_id": ALERT_ID,
    "name": "nobody",
    "webhook_id": "wh_" + "0" * 32,
    "message_id": "msg_" + "0" * 32,
    "alias_id": ALERT_ID,
}


@pytest.fixture
def app_client(database_url: str) -> Iterator[TestClient]:
    """A client that sends no key by default."""
    with TestClient(create_app(settings_for(database_url)), raise_server_exceptions=False) as c:
        yield c


def protected_routes(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, template, concrete path) of every /api/v1 operation in the OpenAPI
    document but health: a route added later is in the matrix without editing it."""
    found = []
    for template, operations in client.get("/openapi.json").json()["paths"].items():
        if not template.startswith(API_PREFIX) or template in HEALTH:
            continue
        for method in sorted(operations):
            found.append((method.upper(), template, template.format(**PATH_VALUES)))
    return found


def call(client: TestClient, method: str, template: str, path: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return client.request(method, path, json=BODIES.get((method, template)), headers=headers)


def needed_scope(method: str, template: str) -> Scope:
    if template.startswith(
        (f"{API_PREFIX}/api-keys", f"{API_PREFIX}/webhooks", f"{API_PREFIX}/aliases")
    ):
        return Scope.ADMIN
    if (method, template) == ("DELETE", f"{API_PREFIX}/services/{{service_id}}"):
        return Scope.ADMIN  # deleting a service
    return Scope.READ if method == "GET" else Scope.WRITE


async def _set_expiry(database_url: str, name: str, moment: datetime) -> None:
    """Back-date a key's expiry (the API refuses to create an already expired key)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(api_keys).where(api_keys.c.name == name).values(expires_at=moment)
            )
    finally:
        await engine.dispose()


def test_every_route_but_health_is_protected_and_the_matrix_holds(
    database_url: str, app_client: TestClient
) -> None:
    keys = {scope: make_key(database_url, f"only-{scope}", scope) for scope in Scope}
    revoked = make_key(database_url, "revoked", Scope.ADMIN)
    expired = make_key(
        database_url, "expired", Scope.ADMIN, expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    asyncio.run(_set_expiry(database_url, "expired", datetime.now(UTC) - timedelta(seconds=1)))
    admin = keys[Scope.ADMIN]
    assert (
        app_client.delete(
            f"{API_PREFIX}/api-keys/revoked", headers={"Authorization": f"Bearer {admin}"}
        ).status_code
        == 200
    )
    unknown = "slo_0123456789ab_" + "A" * 43
    wrong_secret = revoked[:-1] + ("B" if revoked[-1] != "B" else "C")

    routes = protected_routes(app_client)
    assert len(routes) >= 10, routes
    for method, template, path in routes:
        where = f"{method} {template}"
        for bad in (None, "not-a-key", unknown, wrong_secret, revoked, expired):
            response = call(app_client, method, template, path, bad)
            assert response.status_code == 401, (where, bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith('Bearer realm="slo-engine"')
            if bad is not None:
                assert 'error="invalid_token"' in response.headers["www-authenticate"]
                assert bad not in response.text
        for scope, key in keys.items():
            response = call(app_client, method, template, path, key)
            if scope == needed_scope(method, template) or scope == Scope.ADMIN:
                assert response.status_code not in (401, 403), (where, scope, response.text)
                assert response.status_code < 500, (where, scope, response.text)
            else:
                assert response.status_code == 403, (where, scope, response.text)
                assert response.headers["content-type"] == "application/problem+json"


def test_health_needs_no_key_and_is_never_rate_limited(database_url: str) -> None:
    settings = settings_for(database_url, rate_limit_query="1/hour")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for _ in range(5):
            for path in HEALTH:
                response = client.get(path)
                assert response.status_code == 200, response.text
                assert "x-ratelimit-limit" not in response.headers


def test_key_accepted_as_bearer_or_x_api_key_but_not_other_schemes(
    database_url: str, app_client: TestClient
) -> None:
    key = make_key(database_url, "reader", Scope.READ)
    assert app_client.get(f"{API_PREFIX}/services", headers={"X-API-Key": key}).status_code == 200
    bearer = {"Authorization": f"Bearer {key}"}
    assert app_client.get(f"{API_PREFIX}/services", headers=bearer).status_code == 200
    basic = {"Authorization": f"Basic {key}"}
    assert app_client.get(f"{API_PREFIX}/services", headers=basic).status_code == 401


def test_key_management_through_the_api(database_url: str, app_client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {make_key(database_url, 'root', Scope.ADMIN)}"}
    created = app_client.post(
        f"{API_PREFIX}/api-keys",
        json={"name": "backstage", "scopes": ["read"], "rate_limit_query": "600/minute"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    # The answer holds a secret: no cache may keep it, no browser may sniff it.
    assert created.headers["Cache-Control"] == "no-store"
    assert created.headers["X-Content-Type-Options"] == "nosniff"
    body = created.json()
    new_key = body["key"]
    assert new_key.startswith("slo_") and body["scopes"] == ["read"]
    assert body["rate_limit_query"] == "600/minute"
    uses = {"X-API-Key": new_key}
    assert app_client.get(f"{API_PREFIX}/services", headers=uses).status_code == 200

    listed = app_client.get(f"{API_PREFIX}/api-keys", headers=admin)
    assert listed.status_code == 200
    assert [k["name"] for k in listed.json()["items"]] == ["backstage", "root"]
    assert new_key not in listed.text and "key" not in listed.json()["items"][0]

    again = app_client.post(
        f"{API_PREFIX}/api-keys", json={"name": "backstage", "scopes": ["read"]}, headers=admin
    )
    assert again.status_code == 409
    for bad in (
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["root"]},
        {"name": "-x", "scopes": ["read"]},
        {"name": "x", "scopes": ["read"], "rate_limit_query": "lots"},
        {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
        {"name": "x", "scopes": ["read"], "expires_at": "9999-12-31T23:00:00-05:00"},
    ):
        response = app_client.post(f"{API_PREFIX}/api-keys", json=bad, headers=admin)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"], response.text

    revoked = app_client.delete(f"{API_PREFIX}/api-keys/backstage", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = app_client.get(f"{API_PREFIX}/services", headers=uses)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert app_client.delete(f"{API_PREFIX}/api-keys/nobody", headers=admin).status_code == 404


def test_revocation_takes_effect_at_once_here_and_on_another_replica_once_caught_up(
    database_url: str,
) -> None:
    """At once on the replica that revoked; on another once its live graph has caught up
    (within LIVE_GRAPH_BACKSTOP_SECONDS, shown with real processes in
    tests/integration/test_live_graph_replicas.py; here the catch-up is run directly)."""
    key = make_key(database_url, "shared", Scope.ADMIN)
    headers = {"Authorization": f"Bearer {key}"}
    settings = settings_for(database_url)
    with (
        TestClient(create_app(settings), raise_server_exceptions=False) as first,
        TestClient(create_app(settings), raise_server_exceptions=False) as second,
    ):
        assert second.get(f"{API_PREFIX}/services", headers=headers).status_code == 200
        assert first.delete(f"{API_PREFIX}/api-keys/shared", headers=headers).status_code == 200
        assert first.get(f"{API_PREFIX}/services", headers=headers).status_code == 401
        caught_up(second)
        assert second.get(f"{API_PREFIX}/services", headers=headers).status_code == 401


def test_last_used_is_recorded_without_a_write_per_request(
    database_url: str, app_client: TestClient
) -> None:
    key = make_key(database_url, "busy", Scope.ADMIN)
    headers = {"X-API-Key": key}
    for _ in range(20):
        assert app_client.get(f"{API_PREFIX}/services", headers=headers).status_code == 200
    deadline = time.monotonic() + 5
    stamp = None
    while time.monotonic() < deadline and stamp is None:
        listed = app_client.get(f"{API_PREFIX}/api-keys", headers=headers).json()["items"]
        stamp = listed[0]["last_used_at"]
        time.sleep(0.05)
    assert stamp is not None
    # Within the resolution (a minute) later uses do not move it: no write per request.
    for _ in range(5):
        app_client.get(f"{API_PREFIX}/services", headers=headers)
    time.sleep(0.2)
    listed = app_client.get(f"{API_PREFIX}/api-keys", headers=headers).json()["items"]
    assert listed[0]["last_used_at"] == stamp


def test_no_plaintext_key_in_logs_database_or_error_bodies(
    database_url: str, app_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    root = make_key(database_url, "root", Scope.ADMIN)
    created = app_client.post(
        f"{API_PREFIX}/api-keys",
        json={"name": "secretive", "scopes": ["write"]},
        headers={"X-API-Key": root},
    )
    key = created.json()["key"]
    secret = key.split("_", 2)[2]
    bodies = []
    headers = {"X-API-Key": key}
    ingest_response = app_client.post(
        f"{API_PREFIX}/services/dependencies",
        json={"source": "manual", "nodes": [], "edges": [{"source": "a", "target": "b"}]},
        headers=headers,
    )
    assert ingest_response.status_code == 200
    bodies.append(ingest_response.text)
    bodies.append(app_client.get(f"{API_PREFIX}/services", headers=headers).text)  # 403
    bodies.append(app_client.get(f"{API_PREFIX}/services", headers={"X-API-Key": key + "x"}).text)
    app_client.delete(f"{API_PREFIX}/api-keys/secretive", headers={"X-API-Key": root})
    bodies.append(app_client.get(f"{API_PREFIX}/services", headers=headers).text)  # revoked

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "the workload should have logged something to scan"
    for where, content in (("logs", logged), ("bodies", "\n".join(bodies))):
        assert secret not in content, where
    assert secret not in _database_dump(database_url)
    assert root.split("_", 2)[2] not in _database_dump(database_url)


def _database_dump(database_url: str) -> str:
    """Every byte the database holds: the SQLite files, or every api_keys row."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())

    async def rows() -> str:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(text("SELECT * FROM api_keys"))
                return repr(result.all())
        finally:
            await engine.dispose()

    return asyncio.run(rows())


def test_ingest_then_query_with_separate_write_and_read_keys(
    database_url: str, app_client: TestClient
) -> None:
    writer = {"X-API-Key": make_key(database_url, "ci-job", Scope.WRITE)}
    reader = {"X-API-Key": make_key(database_url, "backstage", Scope.READ)}
    app_client.headers.update(writer)
    ingest(app_client, [("a", "b")])
    answer = app_client.get(f"{API_PREFIX}/services/a/dependencies", headers=reader)
    assert answer.status_code == 200
    assert [n["service_id"] for n in answer.json()["nodes"]] == ["b"]


def test_a_known_key_is_checked_from_the_cache_until_a_key_changes(
    database_url: str, app_client: TestClient
) -> None:
    key = {"X-API-Key": make_key(database_url, "cached", Scope.ADMIN)}
    caught_up(app_client)
    authenticator = ACCESS_CONTROL.of(app_client.app).authenticator  # type: ignore[arg-type]
    for _ in range(10):
        assert app_client.get(f"{API_PREFIX}/services", headers=key).status_code == 200
    assert authenticator.lookups == 1

    # Unknown key ids are remembered too: guessing costs no database read after the first.
    guessed = {"X-API-Key": "slo_0123456789ab_" + "A" * 43}
    for _ in range(5):
        assert app_client.get(f"{API_PREFIX}/services", headers=guessed).status_code == 401
    assert authenticator.lookups == 2

    # Any key change (here a new key, made as the CLI would) empties every cache.
    make_key(database_url, "another", Scope.READ)
    caught_up(app_client)  # as the change feed does within LIVE_GRAPH_BACKSTOP_SECONDS
    assert app_client.get(f"{API_PREFIX}/services", headers=key).status_code == 200
    assert authenticator.lookups == 3
