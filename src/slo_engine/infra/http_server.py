"""The HTTP/1.1 protocol `slo-cli serve` runs: uvicorn's httptools protocol with a bound
on the request line and headers.

uvicorn's httptools protocol has no such bound: a single request with a 200 MiB header
was read whole (the parser accumulates a header value before handing it over) and
answered. Here the bytes of a request's head are counted as they arrive, before the
parser sees them; past `MAX_REQUEST_HEADER_BYTES` the server answers 431 (RFC 6585) with
a problem body and closes the connection, having buffered at most the limit plus one
read from the socket. Only the head is bounded; bodies have their own limit
(`MAX_REQUEST_BODY_BYTES`, infra/body_limit.py).

The running app tells its server the bound through the lifespan state (app.py), so every
worker process uses the value of its own settings.
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
_HEAD_END = b"\r\n\r\n"


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_limit = int(
            self.app_state.get(HEADER_LIMIT_STATE_KEY, DEFAULT_MAX_REQUEST_HEADER_BYTES)
        )
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""  # the last bytes seen, for a head end split across reads
        self._first_bytes = b""  # the start of the head, to name the target in a refusal
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:
            if not self._first_bytes:
                self._first_bytes = data[:1024]
            window = self._tail + data
            end = window.find(_HEAD_END)
            if end < 0:
                seen = self._head_bytes + len(data)
            else:
                seen = self._head_bytes + end + len(_HEAD_END) - len(self._tail)
            if seen > self._head_limit:
                self._refuse_head()
                return
            self._head_bytes = seen
            self._tail = window[-(len(_HEAD_END) - 1) :]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # The next request on this connection starts its own count. (Pipelined bytes
        # that came in the same read as this request's end are not counted: at most one
        # read, as above.)
        self._reading_head = True
        self._head_bytes = 0
        self._tail = b""
        self._first_bytes = b""

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
        framed two ways), as a problem like every other error, not plain text."""
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
