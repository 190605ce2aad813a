"""Opaque pagination cursors: url-safe base64 of a small flat JSON list."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from slo_engine.errors import BadRequestError


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


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
        raise BadRequestError("The cursor is not one this service issued.") from error
    if not isinstance(values, list) or len(values) != length:
        raise BadRequestError("The cursor is not one this service issued.")
    return values
