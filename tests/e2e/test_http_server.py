"""The HTTP server as clients meet it: an unexpected error is one 500 problem, logged
once, on a connection that stays usable (a pooled client's next request must not fail).

A real uvicorn server (the protocol `slo-cli serve` runs) in a thread, whose listing of
services fails the way a bug would; no client input can cause a 500.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.catalog import service as catalog_service
from tests.e2e.conftest import make_key, settings_for
from tests.local_servers import free_port, wait_until

BROKEN = "/api/v1/services"


@pytest.fixture
def served(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(base URL, admin key) of a real server whose listing of services always fails."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(catalog_service, "list_services", broken)
    app = create_app(settings_for(database_url))

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="slo_engine.infra.http_server:BoundedHeadHttpToolsProtocol",
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/api/v1/health").status_code == 200, 30, url)
        yield url, make_key(database_url, "served-admin", Scope.ADMIN)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_an_unexpected_error_is_one_logged_500_and_the_connection_stays_usable(
    served: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    url, key = served
    with (
        caplog.at_level(logging.ERROR),
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client,
    ):
        failed = client.get(BROKEN)
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.headers.get("connection", "").lower() != "close"
        body = failed.json()
        assert body["status"] == 500
        assert body["correlation_id"] == failed.headers["X-Correlation-ID"]
        assert "a bug in a handler" not in failed.text  # no internals to the client

        # The same pooled connection serves the next request.
        pool = client._transport._pool  # type: ignore[attr-defined]
        connections = list(pool.connections)
        after = client.get("/api/v1/services/nobody")
        assert after.status_code == 404
        assert pool.connections == connections  # reused, not replaced
    time.sleep(0.2)  # the server's own logging of the request, if any, has happened
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1, [r.getMessage() for r in tracebacks]
    assert "unhandled error on GET /api/v1/services" in tracebacks[0].getMessage()
