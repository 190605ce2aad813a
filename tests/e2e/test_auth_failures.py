"""Failed authentications are limited per client address and per stored key, while
valid keys are never slowed (access/failures.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from slo_engine.access import failures as failures_module
from slo_engine.access.dependencies import ACCESS_CONTROL
from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.observability.metrics import AUTH_FAILURES
from tests.e2e.conftest import caught_up, make_key, settings_for

SERVICES = "/api/v1/services"
LIMIT = 5


@pytest.fixture
def guarded(database_url: str) -> Iterator[TestClient]:
    """An app that allows 5 failed authentications per minute; requests send no key."""
    settings = settings_for(database_url, rate_limit_auth_failures=f"{LIMIT}/minute")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def failures(reason: str, outcome: str) -> float:
    return AUTH_FAILURES.labels(reason, outcome)._value.get()  # type: ignore[no-any-return]


def test_an_address_that_keeps_failing_gets_429_and_valid_keys_still_pass(
    guarded: TestClient, database_url: str
) -> None:
    valid = make_key(database_url, "good", Scope.READ)
    caught_up(guarded)  # the key change reached the app: its key cache is current
    assert guarded.get(SERVICES, headers=bearer(valid)).status_code == 200  # known valid now
    limited_before = failures("invalid", "limited")
    unread_before = failures("limited_address", "limited")

    # Guesses with a new key id each time: 401 while the bucket has tokens, then 429.
    statuses = []
    for attempt in range(LIMIT + 3):
        guess = f"slo_{attempt:012x}_{'x' * 43}"
        statuses.append(guarded.get(SERVICES, headers=bearer(guess)).status_code)
    assert statuses[:LIMIT] == [401] * LIMIT
    assert statuses[LIMIT] == 429
    assert set(statuses[LIMIT + 1 :]) == {429}

    refused = guarded.get(SERVICES, headers=bearer("slo_000000000fff_" + "y" * 43))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    assert "failed authentications" in refused.json()["detail"]
    # No key at all is refused the same way while the address is limited.
    assert guarded.get(SERVICES).status_code == 429

    # The valid key from the same address is not slowed.
    assert guarded.get(SERVICES, headers=bearer(valid)).status_code == 200
    # The guess that hit the empty bucket, and the one key lookup the limited address
    # was allowed in its first second; the other three refused unread.
    assert failures("invalid", "limited") == limited_before + 2
    assert failures("limited_address", "limited") == unread_before + 3


def test_a_limited_address_is_refused_without_reading_the_database(
    guarded: TestClient,
) -> None:
    authenticator = ACCESS_CONTROL.of(guarded.app).authenticator  # type: ignore[arg-type]
    for attempt in range(LIMIT + 1):
        guarded.get(SERVICES, headers=bearer(f"slo_{attempt:012x}_{'x' * 43}"))
    lookups = authenticator.lookups
    for attempt in range(20):
        guess = f"slo_{attempt + 100:012x}_{'x' * 43}"
        assert guarded.get(SERVICES, headers=bearer(guess)).status_code == 429
    # Twenty new key ids, at most one key lookup (one a second is allowed).
    assert authenticator.lookups - lookups <= 1


def test_a_valid_key_not_seen_yet_gets_through_a_limited_address(
    guarded: TestClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a NAT or a proxy, someone else's guessing must not lock out a valid key
    this process has not checked yet: a limited address still gets a key looked up now
    and then (once a second; here sooner, not to wait in a test)."""
    monkeypatch.setattr(failures_module, "LOOKUP_INTERVAL_SECONDS", 0.05)
    for attempt in range(LIMIT + 1):
        guarded.get(SERVICES, headers=bearer(f"slo_{attempt:012x}_{'x' * 43}"))
    fresh = make_key(database_url, "fresh", Scope.READ)  # never presented to this process
    time.sleep(0.06)
    assert guarded.get(SERVICES, headers=bearer(fresh)).status_code == 200
    # Known valid now: no wait at all any more.
    assert guarded.get(SERVICES, headers=bearer(fresh)).status_code == 200


def test_an_unauthenticated_body_is_never_read(guarded: TestClient) -> None:
    """The access check runs before the body is parsed: a 401, not a 415 or 422."""
    for method, path in (
        ("POST", "/api/v1/services/dependencies"),
        ("PATCH", "/api/v1/circular-dependencies/00000000-0000-0000-0000-000000000000"),
        ("POST", "/api/v1/api-keys"),
    ):
        response = guarded.request(
            method, path, content=b"<xml/>", headers={"Content-Type": "text/xml"}
        )
        assert response.status_code == 401, (method, path, response.text)


def from_address(app: ASGIApp) -> ASGIApp:
    """The app, seeing each request come from the address in its `X-Test-Client` header
    (one app, one lifespan, several clients)."""

    async def addressed(scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-client":
                    scope = {**scope, "client": (value.decode(), 1)}
        await app(scope, receive, send)

    return addressed


def test_wrong_secrets_for_one_key_are_limited_per_key_but_the_right_secret_passes(
    database_url: str,
) -> None:
    """Guesses at one key's secret from two addresses: neither address runs out of its
    own budget, the key's bucket does."""
    settings = settings_for(database_url, rate_limit_auth_failures=f"{LIMIT}/minute")
    valid = make_key(database_url, "target", Scope.READ)
    prefix, key_id, _secret = valid.split("_", 2)
    wrong = f"{prefix}_{key_id}_{'z' * 43}"

    def get(client: TestClient, address: str, key: str) -> int:
        headers = {**bearer(key), "X-Test-Client": address}
        return client.get(SERVICES, headers=headers).status_code

    app = from_address(create_app(settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = [get(client, "10.0.0.1", wrong) for _ in range(3)]
        statuses += [get(client, "10.0.0.2", wrong) for _ in range(3)]
        assert statuses == [401] * LIMIT + [429]  # 3 + 2 failures spent the key's 5
        # The holder of the real secret is not locked out by someone guessing it, from
        # a third address or from the ones that guessed.
        assert get(client, "10.0.0.3", valid) == 200
        assert get(client, "10.0.0.2", valid) == 200


def test_valid_requests_spend_no_failure_tokens(guarded: TestClient, database_url: str) -> None:
    valid = make_key(database_url, "busy", Scope.READ)
    for _ in range(LIMIT * 4):
        assert guarded.get(SERVICES, headers=bearer(valid)).status_code == 200
    # The address still has its whole failure budget.
    statuses = [guarded.get(SERVICES).status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
