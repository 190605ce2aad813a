"""Failed authentications are limited per client address and per stored key, while
valid keys are never slowed (access/failures.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.observability.metrics import AUTH_FAILURES
from tests.e2e.conftest import make_key, settings_for

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
    assert failures("invalid", "limited") == limited_before + 1
    assert failures("limited_address", "limited") == unread_before + 4  # 2 + 1 + no key


def test_a_limited_address_is_refused_without_reading_the_database(
    guarded: TestClient,
) -> None:
    authenticator = guarded.app.state.context.authenticator  # type: ignore[attr-defined]
    for attempt in range(LIMIT + 1):
        guarded.get(SERVICES, headers=bearer(f"slo_{attempt:012x}_{'x' * 43}"))
    lookups = authenticator.lookups
    for attempt in range(20):
        guess = f"slo_{attempt + 100:012x}_{'x' * 43}"
        assert guarded.get(SERVICES, headers=bearer(guess)).status_code == 429
    assert authenticator.lookups == lookups  # new key ids, no key lookup


def test_wrong_secrets_for_one_key_are_limited_per_key_but_the_right_secret_passes(
    database_url: str,
) -> None:
    # Per address the budget is large; the key's own bucket is what runs out.
    settings = settings_for(database_url, rate_limit_auth_failures=f"{LIMIT}/minute")
    valid = make_key(database_url, "target", Scope.READ)
    prefix, key_id, _secret = valid.split("_", 2)
    wrong = f"{prefix}_{key_id}_{'z' * 43}"
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        statuses = [
            client.get(SERVICES, headers=bearer(wrong)).status_code for _ in range(LIMIT + 1)
        ]
        assert statuses == [401] * LIMIT + [429]
        # The holder of the real secret is not locked out by someone guessing it.
        assert client.get(SERVICES, headers=bearer(valid)).status_code == 200


def test_valid_requests_spend_no_failure_tokens(guarded: TestClient, database_url: str) -> None:
    valid = make_key(database_url, "busy", Scope.READ)
    for _ in range(LIMIT * 4):
        assert guarded.get(SERVICES, headers=bearer(valid)).status_code == 200
    # The address still has its whole failure budget.
    statuses = [guarded.get(SERVICES).status_code for _ in range(LIMIT)]
    assert statuses == [401] * LIMIT
