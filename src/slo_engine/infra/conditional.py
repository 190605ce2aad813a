"""Conditional requests (RFC 9110 section 13): `If-None-Match` against an answer's ETag.

A route's dependency that finds the client's copy current raises `NotModified`; the
handler installed with the error handlers answers 304 with the answer's headers and no
body, so a client that polls pays for its access check and nothing more.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response


class NotModified(Exception):  # noqa: N818 - a response, not an error
    """The client's copy is current: answer 304 with `headers` (ETag among them)."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of `etag` with each tag of an If-None-Match field. `*` matches
    only a resource that exists (RFC 9110 13.1.2), which the caller does not know yet
    (the service asked for may be a 404): it never matches here, and the request is
    answered in full.

    >>> etag_matches('"a", W/"b"', 'W/"b"'), etag_matches('"b"', 'W/"b"'), etag_matches("*", '"x"')
    (True, True, False)
    >>> etag_matches('W/"c"', 'W/"b"'), etag_matches("", '"b"')
    (False, False)
    """
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


async def not_modified_response(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotModified)
    return Response(status_code=304, headers=exc.headers)
