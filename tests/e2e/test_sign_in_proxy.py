"""People signed in by an authenticating proxy: a real `slo-cli serve` process that
honours the proxy's header from its trusted address only (the connection's peer, never
an address the request claims in X-Forwarded-For)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from slo_engine.access.keys import Scope
from tests.e2e.conftest import make_key
from tests.local_servers import served_env, start_api

SERVICES = "/api/v1/services"
INGEST = "/api/v1/services/dependencies"
SMALL_GRAPH = {"source": "manual", "nodes": [], "edges": [{"source": "web", "target": "db"}]}


def proxy_server(database_url: str, log: Path, trusted: str) -> tuple[object, str]:
    env = served_env(
        database_url,
        AUTH_PROXY_HEADER="X-Forwarded-User",
        AUTH_PROXY_GROUPS_HEADER="X-Forwarded-Groups",
        AUTH_TRUSTED_PROXIES=trusted,
        AUTH_WRITE_GROUPS="sre",
        AUTH_ADMIN_GROUPS="platform-admins",
        RATE_LIMIT_QUERY="3/minute",
    )
    return start_api(env, log)


@pytest.fixture
def behind_proxy(database_url: str, tmp_path: Path) -> Iterator[str]:
    process, url = proxy_server(database_url, tmp_path / "server.log", "127.0.0.1")
    try:
        yield url
    finally:
        process.terminate()  # type: ignore[attr-defined]
        process.wait(timeout=10)  # type: ignore[attr-defined]


def person(user: str, groups: str | None = None, **more: str) -> dict[str, str]:
    headers = {"X-Forwarded-User": user, **more}
    if groups is not None:
        headers["X-Forwarded-Groups"] = groups
    return headers


def test_the_proxy_names_the_person(behind_proxy: str) -> None:
    url = behind_proxy
    assert httpx.get(f"{url}{SERVICES}", headers=person("rita")).status_code == 200
    denied = httpx.post(f"{url}{INGEST}", json=SMALL_GRAPH, headers=person("rita"))
    assert denied.status_code == 403
    assert "'rita' has the scopes [read]" in denied.json()["detail"]
    written = httpx.post(f"{url}{INGEST}", json=SMALL_GRAPH, headers=person("sam", "sre,ops"))
    assert written.status_code == 200, written.text
    admin = person("ada", "platform-admins")
    assert httpx.get(f"{url}/api/v1/api-keys", headers=admin).status_code == 200
    # A claimed client address does not change who the peer is.
    spoofed = person("rita", **{"X-Forwarded-For": "203.0.113.9"})
    assert httpx.get(f"{url}{SERVICES}", headers=spoofed).status_code == 200
    # Without the header the request is anyone's: a key is needed.
    assert httpx.get(f"{url}{SERVICES}").status_code == 401
    blank = httpx.get(f"{url}{SERVICES}", headers=person("x" * 300))
    assert blank.status_code == 401
    assert "does not name a person" in blank.json()["detail"]


def test_limits_are_per_person(behind_proxy: str) -> None:
    url = behind_proxy
    codes = [httpx.get(f"{url}{SERVICES}", headers=person("jane")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert httpx.get(f"{url}{SERVICES}", headers=person("bob")).status_code == 200


def test_the_header_from_an_untrusted_address_is_ignored(database_url: str, tmp_path: Path) -> None:
    process, url = proxy_server(database_url, tmp_path / "server.log", "10.0.0.0/8")
    try:
        # The test connects from 127.0.0.1, which is not the proxy's network.
        ignored = httpx.get(f"{url}{SERVICES}", headers=person("ada", "platform-admins"))
        assert ignored.status_code == 401
        # An API key still works there.
        key = make_key(database_url, "machine", Scope.READ)
        keyed = httpx.get(f"{url}{SERVICES}", headers={"X-API-Key": key, **person("ada")})
        assert keyed.status_code == 200
    finally:
        process.terminate()  # type: ignore[attr-defined]
        process.wait(timeout=10)  # type: ignore[attr-defined]
