"""Opaque pagination cursors: url-safe base64 of a small flat JSON list."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import Query

from slo_engine.errors import BadRequestError
from slo_engine.infra.storable import storable_text

# What a cursor is made of (url-safe base64 without padding), declared on every cursor
# parameter; a cursor that fits it but was not issued here is still a 400.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"
CURSOR_DESCRIPTION = (
    "The `next_cursor` of the previous page, passed back as it was: an opaque token, "
    "so one this service did not issue is a 400. Left out: the first page."
)
# The `cursor` query parameter of a paged listing.
CursorQuery = Annotated[
    str | None, Query(max_length=2048, pattern=CURSOR_PATTERN, description=CURSOR_DESCRIPTION)
]
# The `limit` of a paged listing of stored rows.
PageLimit = Annotated[int, Query(ge=1, le=1000, description="Items per page, 1 to 1000.")]


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def not_issued() -> BadRequestError:
    """The 400 for a cursor this service did not issue, naming the parameter."""
    return BadRequestError(
        "The cursor is not one this service issued.",
        errors=[
            {
                "pointer": "/query/cursor",
                "detail": "pass back a next_cursor of this service, unchanged",
            }
        ],
    )


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The values of a cursor made by `encode_cursor`, or BadRequestError.

    The cursors we issue are flat lists of strings and numbers, so anything nested is
    refused before it is parsed: a crafted cursor of deeply nested brackets would
    otherwise exhaust the parser's recursion (a 500).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode())
        if raw.count(b"[") > 1 or b"{" in raw:
            raise ValueError("nested")
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as error:
        raise not_issued() from error
    if not isinstance(values, list) or len(values) != length:
        raise not_issued()
    for value in values:
        # Issued cursors hold stored text, which keeps the text rule: anything else
        # would reach the database (NUL is a 500 on PostgreSQL).
        if isinstance(value, str):
            try:
                storable_text(value)
            except ValueError as error:
                raise not_issued() from error
    return values


def text_after(cursor: str | None) -> str | None:
    """The key a cursor of one text value (a service id) says to start after, or None
    without a cursor; a 400 for one this service did not issue."""
    if cursor is None:
        return None
    (after,) = decode_cursor(cursor, 1)
    if not isinstance(after, str):
        raise not_issued()
    return after
