"""Bounded, retried HTTP GETs of JSON for the discovery sources.

Every call has a timeout, a cap on the response size (read as a stream and abandoned
past the cap), and retries with exponential backoff and full jitter on what may pass
(timeouts, connection errors, 429 and 5xx). Anything else, or the last failure, is a
`SourceError`: the source's run stores nothing.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import orjson
from opentelemetry import trace
from opentelemetry.propagate import inject
from opentelemetry.trace import SpanKind

from slo_engine.errors import SourceError
from slo_engine.observability.tracing import span

logger = logging.getLogger(__name__)

# Query parameters: a mapping, or pairs when a name repeats.
Params = list[tuple[str, str]]
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
BASE_DELAY_SECONDS = 0.5
# Of a refusal's body: how much is read (enough to blank any secret it echoes) and
# how much of it the error shows.
_ERROR_BODY_READ = 64 * 1024
_ERROR_BODY_SHOWN = 500
MAX_DELAY_SECONDS = 8.0


class JsonGetter:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        max_bytes: int,
        retries: int,
        base_delay: float = BASE_DELAY_SECONDS,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._client = client
        self._max_bytes = max_bytes
        self._retries = retries
        self._base_delay = base_delay
        # Blanks the source's secrets in a text (http_auth.HttpAuth.redact).
        self._redact = redact or (lambda text: text)

    async def get(self, url: str, params: Params | None = None) -> Any:
        """The decoded JSON body of a 200 answer to GET `url`."""
        attempt = 0
        while True:
            try:
                return await self._get_once(url, params)
            except _RetryableError as error:
                shown = self._redact(str(error))
                if attempt >= self._retries:
                    raise SourceError(f"{shown} (after {attempt + 1} attempts)") from None
                delay = random.uniform(0, min(MAX_DELAY_SECONDS, self._base_delay * 2**attempt))
                logger.info("%s; retrying in %.2f s", shown, delay)
                await asyncio.sleep(delay)
                attempt += 1

    async def _get_once(self, url: str, params: Params | None) -> Any:
        attributes = {"http.request.method": "GET", "url.full": shown_url(url)}
        with span("GET", kind=SpanKind.CLIENT, attributes=attributes):
            return await self._traced_get(url, params)

    async def _traced_get(self, url: str, params: Params | None) -> Any:
        shown = shown_url(url)
        headers: dict[str, str] = {}
        inject(headers)  # traceparent, when a trace is being recorded
        try:
            query = httpx.QueryParams(tuple(params or ()))
            async with self._client.stream("GET", url, params=query, headers=headers) as response:
                trace.get_current_span().set_attribute(
                    "http.response.status_code", response.status_code
                )
                if response.status_code in _RETRIED_STATUSES:
                    raise _RetryableError(f"GET {shown}: HTTP {response.status_code}")
                if response.status_code != 200:
                    # The start of the refusal's body, read within a bound; the secrets
                    # blanked before it is cut short, so no part of one survives a cut.
                    head = bytearray()
                    async for chunk in response.aiter_bytes():
                        head += chunk
                        if len(head) >= _ERROR_BODY_READ:
                            break
                    body = self._redact(head[:_ERROR_BODY_READ].decode(errors="replace"))
                    raise HttpStatusError(
                        self._redact(f"GET {shown}: HTTP {response.status_code}: ")
                        + body[:_ERROR_BODY_SHOWN],
                        response.status_code,
                    )
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise SourceError(
                            f"GET {shown}: the answer is larger than {self._max_bytes} bytes"
                        )
                    chunks.append(chunk)
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise _RetryableError(f"GET {shown}: {type(error).__name__}: {error}") from error
        except ssl.SSLError as error:
            # Raised as it is, not wrapped by httpx, when a TLS 1.3 server refuses the
            # client's certificate (or its absence) after the handshake, on the first
            # read. A certificate will not be right on a second try: not retried.
            raise SourceError(self._redact(f"GET {shown}: TLS: {error}")) from error
        try:
            return orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as error:
            raise SourceError(f"GET {shown}: the answer is not JSON ({error})") from error


def shown_url(url: str) -> str:
    """`url` without user and password: errors, logs and spans never carry credentials.

    >>> shown_url("https://user:secret@prometheus.example/api/v1/query")
    'https://prometheus.example/api/v1/query'
    """
    try:
        return str(httpx.URL(url).copy_with(userinfo=b""))
    except httpx.InvalidURL:
        return "<invalid url>"


class _RetryableError(Exception):
    pass


class HttpStatusError(SourceError):
    """A final (not retried) HTTP status other than 200."""

    def __init__(self, detail: str, status: int) -> None:
        super().__init__(detail)
        self.status = status
