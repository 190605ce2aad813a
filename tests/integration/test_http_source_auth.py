"""The HTTP sources' credentials, end to end: the OTel source, built from the settings as
the app builds it, reads the REAL Prometheus of prometheus_fixture.py through a reverse
proxy on 127.0.0.1 that demands a bearer token, basic auth, a tenant header or TLS with
a CA made for this run (and a client certificate). With the right settings the run
gets the six edges; with wrong or missing ones it fails with a `SourceError` that names
the problem and never carries a secret, nor do the logs or the stored status.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from slo_engine.discovery import service
from slo_engine.discovery.repository import DiscoveryRepository
from slo_engine.discovery.sources.base import Discovered
from slo_engine.discovery.wiring import build_discovery
from slo_engine.errors import SourceError
from slo_engine.infra.db import Database
from slo_engine.live.graph import LiveGraph
from slo_engine.settings import Settings
from tests.tls_fixtures import Pki, make_pki

TOKEN = "tok-3f9a1c-very-secret"
PASSWORD = "pa55-w0rd-e7b2"
SIX_EDGES = {
    ("frontend", "checkout"),
    ("checkout", "orders"),
    ("checkout", "postgres"),
    ("user", "frontend"),
    ("cart", "redis"),
    ("checkout", "payments"),
}


@dataclass
class Gate:
    """What the proxy demands of each request: header values (exact)."""

    required: dict[str, str] = field(default_factory=dict)
    seen: list[dict[str, str]] = field(default_factory=list)
    # Like some servers do, answer a refusal with the credentials received.
    echo_on_refusal: bool = True


def _handler(upstream: str, gate: Gate) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            gate.seen.append(headers)
            wrong = [
                name for name, value in gate.required.items() if headers.get(name.lower()) != value
            ]
            if wrong:
                echoed = headers.get("authorization", "") if gate.echo_on_refusal else ""
                body = f'{{"status":"error","error":"unauthorized; got {echoed!s}"}}'.encode()
                self._answer(401, body)
                return
            answer = httpx.get(upstream + self.path, timeout=10)
            self._answer(answer.status_code, answer.content)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Proxy


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def proxy(prometheus_url: str) -> Iterator[Callable[..., tuple[str, Gate]]]:
    """Starts proxies: `proxy(required={...}, tls=pki, mutual=False)` -> (url, gate)."""
    servers: list[ThreadingHTTPServer] = []

    def start(
        required: dict[str, str] | None = None, tls: Pki | None = None, mutual: bool = False
    ) -> tuple[str, Gate]:
        gate = Gate(required or {})
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(prometheus_url, gate))
        if tls is not None:
            context = tls.server_context(require_client_cert=mutual)
            server.socket = context.wrap_socket(server.socket, server_side=True)
            # A refused handshake is the test's point, not a traceback on stderr.
            server.handle_error = lambda *args: None  # type: ignore[method-assign]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        scheme = "https" if tls is not None else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}", gate

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _settings(url: str, **more: Any) -> Settings:
    return Settings(prometheus_url=url, discovery_retries=0, prometheus_timeout_seconds=5, **more)


def _run(settings: Settings) -> Discovered:
    async def run() -> Discovered:
        discovery = build_discovery(settings, only="otel")
        try:
            return await discovery.sources["otel"].discover()
        finally:
            await discovery.aclose()

    return asyncio.run(run())


def _edges(found: Discovered) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in found.request.edges}


def _fails(settings: Settings, *secrets: str) -> str:
    with pytest.raises(SourceError) as caught:
        _run(settings)
    text = str(caught.value)
    for secret in secrets:
        assert secret not in text
    return text


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bearer_token(proxy: Callable[..., tuple[str, Gate]]) -> None:
    url, gate = proxy({"Authorization": f"Bearer {TOKEN}"})

    assert _edges(_run(_settings(url, prometheus_bearer_token=TOKEN))) == SIX_EDGES
    assert all(seen["authorization"] == f"Bearer {TOKEN}" for seen in gate.seen)

    text = _fails(_settings(url, prometheus_bearer_token="wrong-" + TOKEN), TOKEN)
    assert "HTTP 401" in text and "***" in text  # the echoed token is blanked
    assert "HTTP 401" in _fails(_settings(url), TOKEN)


def test_bearer_token_file_is_read_on_every_request(
    proxy: Callable[..., tuple[str, Gate]], tmp_path: Path
) -> None:
    url, gate = proxy({"Authorization": f"Bearer {TOKEN}"})
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")  # as Kubernetes writes it
    settings = _settings(url, prometheus_bearer_token_file=str(token_file))
    assert _edges(_run(settings)) == SIX_EDGES

    rotated = TOKEN + "-rotated"
    token_file.write_text(rotated)
    gate.required["Authorization"] = f"Bearer {rotated}"
    assert _edges(_run(settings)) == SIX_EDGES  # the same settings, the new token

    token_file.unlink()
    text = _fails(settings, TOKEN, rotated)
    assert "PROMETHEUS_BEARER_TOKEN_FILE" in text and str(token_file) in text


def test_basic_auth_with_a_password_or_a_password_file(
    proxy: Callable[..., tuple[str, Gate]], tmp_path: Path
) -> None:
    url, _ = proxy({"Authorization": _basic("mimir", PASSWORD)})
    password_file = tmp_path / "password"
    password_file.write_text(PASSWORD)

    assert (
        _edges(
            _run(
                _settings(
                    url,
                    prometheus_basic_auth_username="mimir",
                    prometheus_basic_auth_password=PASSWORD,
                )
            )
        )
        == SIX_EDGES
    )
    assert (
        _edges(
            _run(
                _settings(
                    url,
                    prometheus_basic_auth_username="mimir",
                    prometheus_basic_auth_password_file=str(password_file),
                )
            )
        )
        == SIX_EDGES
    )
    wrong = _settings(
        url, prometheus_basic_auth_username="mimir", prometheus_basic_auth_password="nope-nope"
    )
    text = _fails(wrong, PASSWORD, "nope-nope", base64.b64encode(b"mimir:nope-nope").decode())
    assert "HTTP 401" in text


def test_tenant_and_custom_headers(proxy: Callable[..., tuple[str, Gate]]) -> None:
    url, _ = proxy({"X-Scope-OrgID": "team-a", "X-Api-Key": TOKEN})
    headers = f'{{"X-Api-Key": "{TOKEN}"}}'

    found = _run(_settings(url, prometheus_tenant="team-a", prometheus_headers=headers))
    assert _edges(found) == SIX_EDGES
    assert "HTTP 401" in _fails(_settings(url, prometheus_headers=headers), TOKEN)
    assert "HTTP 401" in _fails(_settings(url, prometheus_tenant="team-b"), TOKEN)


def test_tls_with_the_run_s_ca_and_a_client_certificate(
    proxy: Callable[..., tuple[str, Gate]], pki: Pki
) -> None:
    url, _ = proxy({"Authorization": f"Bearer {TOKEN}"}, tls=pki, mutual=True)
    mutual = {
        "prometheus_bearer_token": TOKEN,
        "prometheus_ca_file": str(pki.ca_file),
        "prometheus_client_cert_file": str(pki.client_cert_file),
        "prometheus_client_key_file": str(pki.client_key_file),
    }
    assert _edges(_run(_settings(url, **mutual))) == SIX_EDGES

    # Trusting another CA (or only the system's): the server is not believed.
    untrusted = _fails(_settings(url, **{**mutual, "prometheus_ca_file": str(pki.other_ca_file)}))
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted and TOKEN not in untrusted
    system = _settings(url, prometheus_bearer_token=TOKEN)
    assert "CERTIFICATE_VERIFY_FAILED" in _fails(system, TOKEN)
    # No client certificate: the server ends the handshake.
    no_client_cert = _settings(
        url, prometheus_bearer_token=TOKEN, prometheus_ca_file=str(pki.ca_file)
    )
    _fails(no_client_cert, TOKEN)


def test_tls_server_certificate_only(proxy: Callable[..., tuple[str, Gate]], pki: Pki) -> None:
    url, _ = proxy({"Authorization": _basic("u", PASSWORD)}, tls=pki)
    settings = _settings(
        url,
        prometheus_ca_file=str(pki.ca_file),
        prometheus_basic_auth_username="u",
        prometheus_basic_auth_password=PASSWORD,
    )
    assert _edges(_run(settings)) == SIX_EDGES


def test_a_failed_scheduled_run_keeps_secrets_out_of_status_and_logs(
    proxy: Callable[..., tuple[str, Gate]], database_url: str
) -> None:
    url, _ = proxy({"Authorization": f"Bearer {TOKEN}"})
    wrong = "wrong-" + TOKEN
    settings = _settings(url, database_url=database_url, prometheus_bearer_token=wrong)
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    async def run() -> Any:
        database = Database.from_settings(settings)
        discovery = build_discovery(settings, only="otel")
        try:
            with pytest.raises(SourceError):
                await service.run_source(
                    database, LiveGraph(), discovery.sources["otel"], datetime.now(UTC)
                )
            async with database.session_scope() as session:
                return (await DiscoveryRepository(session).statuses())["otel"]
        finally:
            await discovery.aclose()
            await database.dispose()

    try:
        status = asyncio.run(run())
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    assert status.consecutive_failures == 1 and "HTTP 401" in (status.last_error or "")
    logs = captured.getvalue()
    assert "discovery otel failed" in logs
    for text in (status.last_error or "", logs):
        assert wrong not in text and TOKEN not in text
