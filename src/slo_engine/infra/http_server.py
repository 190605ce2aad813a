"""The HTTP/1.1 protocol `slo-cli serve` runs: uvicorn's httptools protocol with a bound
on everything of a request that is not its body.

uvicorn's httptools protocol has no such bound: a single request with a 200 MiB header
was read whole (the parser accumulates a header value before handing it over) and
answered. Here the bytes of each request are counted as they arrive:

* while its head (request line and headers) is incomplete, a read that would take it
  past `MAX_REQUEST_HEADER_BYTES` is not given to the parser: the server answers 431
  (RFC 6585) with a problem body and closes the connection, having buffered at most the
  limit plus one read from the socket (asyncio reads up to 256 KiB);
* a complete head over the limit (it arrived in one read) is refused the same way
  before the app sees the request;
* after the head, what is not body (chunk framing, trailers, which the parser also
  collects as headers) may not exceed the limit plus the body received so far: trailers
  cannot grow without bound either, and a body in sensible chunks is never refused.

Bodies have their own limit (`MAX_REQUEST_BODY_BYTES`, infra/body_limit.py). A request
the parser cannot read is answered 400 with a problem body (uvicorn's own answer is
plain text). The running app tells its server the bound through the lifespan state
(app.py), so every worker process uses the value of its own settings.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from slo_engine.infra.http_errors import PROBLEM_TYPE_BASE

# Where the lifespan state carries the bound (app.py puts it there).
HEADER_LIMIT_STATE_KEY = "max_request_header_bytes"
DEFAULT_MAX_REQUEST_HEADER_BYTES = 32 * 1024
# Bytes of a header line besides its name and value (": " and CRLF), and of the request
# line besides its target ("GET " ... " HTTP/1.1" CRLF, generously), and the blank line.
_HEADER_LINE_OVERHEAD = 4
_REQUEST_LINE_OVERHEAD = 32


class _HeadTooLargeError(Exception):
    """Raised from a parser callback to stop a request whose head is over the bound."""


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_limit = int(
            self.app_state.get(HEADER_LIMIT_STATE_KEY, DEFAULT_MAX_REQUEST_HEADER_BYTES)
        )
        self._in_head = True  # the current request's head is not complete yet
        self._received = 0  # bytes of the current request received so far
        self._body = 0  # of which body
        self._first_bytes = b""  # the start of the request, to name its target
        self._head_too_large = False
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._received:
            self._first_bytes = data[:1024]
        if self._in_head and self._received > self._head_limit:
            # Everything received of this request is head, and already too much.
            self._refuse_head()
            return
        self._received += len(data)
        super().data_received(data)
        if not self._refused and not self._in_head:
            non_body = self._received - self._body
            if non_body > self._head_limit + self._body:
                self._refuse_head()

    def on_headers_complete(self) -> None:
        self._in_head = False
        head = len(self.url) + _REQUEST_LINE_OVERHEAD
        head += sum(len(name) + len(value) + _HEADER_LINE_OVERHEAD for name, value in self.headers)
        if head > self._head_limit:
            self._head_too_large = True
            raise _HeadTooLargeError  # the parser stops; uvicorn calls send_400_response
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next request on this connection starts its own count. (Pipelined bytes
        # that came in the same read as this request's end are not counted: at most one
        # read.)
        self._in_head = True
        self._received = self._body = 0

    def _refuse_head(self) -> None:
        self.logger.warning("Refused a request whose head is over %d bytes.", self._head_limit)
        self._answer_and_close(
            431,
            b"Request Header Fields Too Large",
            "header-fields-too-large",
            "Request header fields too large",
            f"The request line and headers are larger than the limit of {self._head_limit} "
            "bytes (MAX_REQUEST_HEADER_BYTES).",
        )
        self._refused = True  # nothing more is read on this connection

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse (a malformed head, a body
        framed two ways), as a problem like every other error, not plain text; or the
        431 of a head found too large once complete."""
        if self._head_too_large:
            self._refuse_head()
            return
        self._answer_and_close(
            400,
            b"Bad Request",
            "malformed-request",
            "Bad request",
            "The request is not valid HTTP/1.1; the connection is closed.",
        )

    def _target(self) -> str:
        """The path of the request being refused, as far as it was read."""
        method_and_rest = self._first_bytes.split(b" ", 1)
        target = method_and_rest[1].split(b" ", 1)[0] if len(method_and_rest) == 2 else b""
        return target.split(b"?", 1)[0][:256].decode("latin-1")

    def _answer_and_close(
        self, status: int, reason: bytes, slug: str, title: str, detail: str
    ) -> None:
        correlation_id = str(uuid.uuid4())
        body = orjson.dumps(
            {
                "type": f"{PROBLEM_TYPE_BASE}{slug}",
                "title": title,
                "status": status,
                "detail": detail,
                "instance": self._target(),
                "correlation_id": correlation_id,
            }
        )
        head = b"HTTP/1.1 %d %b\r\n" % (status, reason)
        head += b"content-type: application/problem+json\r\nx-content-type-options: nosniff\r\n"
        head += b"x-correlation-id: %b\r\n" % correlation_id.encode()
        head += b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        self.transport.write(head + body)
        self.transport.close()
