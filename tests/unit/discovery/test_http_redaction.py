"""A refusal's body that echoes a secret never shows part of it, wherever the error
text is cut (the secret is blanked before the body is shortened)."""

from __future__ import annotations

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
