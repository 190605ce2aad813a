"""The discovery getter's errors: a refusal's body that echoes a secret never shows part
of it, wherever the error text is cut (the secret is blanked before the body is
shortened); a TLS refusal that httpx does not wrap is still a SourceError."""

from __future__ import annotations

import ssl

import httpx
import pytest

from slo_engine.discovery.http import JsonGetter
from slo_engine.errors import SourceError

SECRET = "tok-" + "s3cr3t" * 8


@pytest.mark.parametrize("offset", [480, 490, 499, 500, 520])
async def test_a_secret_across_the_cut_is_blanked_whole(offset: int) -> None:
    body = "x" * offset + SECRET + "y" * 200

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, text=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        getter = JsonGetter(
            client,
            max_bytes=1_000_000,
            retries=0,
            redact=lambda text: text.replace(SECRET, "***"),
        )
        with pytest.raises(SourceError) as caught:
            await getter.get("http://prometheus.test/api/v1/query")
    text = str(caught.value)
    assert "HTTP 401" in text
    assert SECRET[:6] not in text.replace("x", "")


async def test_a_tls_refusal_after_the_handshake_is_a_source_error() -> None:
    """A TLS 1.3 server that refuses the client's certificate says so on the first
    read, as an ssl.SSLError httpx does not wrap: still the run's one SourceError."""

    def answer(request: httpx.Request) -> httpx.Response:
        raise ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] certificate required")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        getter = JsonGetter(client, max_bytes=1_000, retries=2, base_delay=0)
        with pytest.raises(SourceError) as caught:
            await getter.get("https://prometheus.test/api/v1/query")
    assert "TLS" in str(caught.value) and "CERTIFICATE_REQUIRED" in str(caught.value)
