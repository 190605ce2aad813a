"""Opaque pagination cursors: url-safe base64 of a small JSON list."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from slo_engine.errors import BadRequestError


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The values of a cursor made by `encode_cursor`, or BadRequestError."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise BadRequestError("The cursor is not one this service issued.") from error
    if not isinstance(values, list) or len(values) != length:
        raise BadRequestError("The cursor is not one this service issued.")
    return values
