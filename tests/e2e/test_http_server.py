"""The HTTP server as clients meet it: an unexpected error is one 500 problem, logged
once, on a connection that stays usable (a pooled client's next request must not fail).

A real uvicorn server (the protocol `slo-cli serve` runs) in a thread, whose listing of
services fails the way a bug would; no client input can cause a 500.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import orjson
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


def _exchange(url: str, request: bytes, *more: bytes) -> tuple[bytes, int]:
    """Send raw bytes to the server; (what it answered, bytes it let us send)."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        try:
            for part in (request, *more):
                connection.sendall(part)
                sent += len(part)
        except OSError:
            pass  # the server closed the connection: what it answered is still there
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except OSError:
            pass
    return answer, sent


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_chunked_trailers_are_bounded_like_headers(served: tuple[str, str]) -> None:
    """The parser collects trailers as headers: a chunked request may not hide an
    unbounded header after its body."""
    url, key = served
    head = (
        b"POST /api/v1/services/dependencies HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    body = b'{"source":"manual","edges":[{"source":"t1","target":"t2"}]}'
    chunk = b"%x\r\n%b\r\n" % (len(body), body)
    answer, sent = _exchange(
        url, head, chunk, b"0\r\nX-Trailer: ", *([b"t" * 65536] * 160), b"\r\n\r\n"
    )
    assert _status(answer) == 431, answer[:300]
    assert sent < 10 * 1024 * 1024  # cut off long before the 10 MiB trailer ended

    # A body sent in ordinary chunks (their framing is not head) is read whole.
    document = orjson.dumps(
        {
            "source": "manual",
            "edges": [
                {"source": f"c{i}", "target": f"c{i + 1}"} for i in range(1000)
            ],  # < 64 KiB, the test bound,
        }
    )
    chunks = [
        b"%x\r\n%b\r\n" % (len(document[i : i + 4096]), document[i : i + 4096])
        for i in range(0, len(document), 4096)
    ]
    answer, _ = _exchange(
        url, head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), *chunks, b"0\r\n\r\n"
    )
    assert _status(answer) == 200, answer[:300]


def test_a_request_that_is_not_http_is_a_problem_too(served: tuple[str, str]) -> None:
    url, _ = served
    answer, _ = _exchange(
        url,
        b"GET /api/v1/health HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert _status(answer) == 400
    assert b"content-type: application/problem+json" in head.lower()
    assert b"x-correlation-id:" in head.lower()
    assert orjson.loads(body)["type"].endswith("/malformed-request")


def test_pipelined_requests_are_each_bounded_on_their_own(served: tuple[str, str]) -> None:
    """Two requests of 20 KiB heads each, in one write: together over the bound, each
    under it; both answered."""
    url, _ = served
    one = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 20_000 + b"\r\n\r\n"
    last = one.replace(b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    answer, _ = _exchange(url, one + last)
    assert answer.count(b"HTTP/1.1 200 OK") == 2, answer[:300]
