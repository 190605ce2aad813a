"""What client input must be so that both engines store it and give it back unchanged.

One rule for SQLite and PostgreSQL, checked at the door (a 422 naming the field for a
body, a 400 for a parameter), never left to the database (docs/reliability.md):

* **Text** holds no NUL (U+0000) and no unpaired surrogate. PostgreSQL refuses NUL in
  `text` and `jsonb`, SQLite would keep it; neither can store a surrogate as UTF-8.
* **Free-form JSON** (metadata, retry_config) follows the text rule in every key and
  string at any depth, has integers within 64 bits and finite numbers (no NaN, no
  Infinity, no 1e400), and nests no deeper than the encoder allows (orjson's limit), so
  it reads back as it was sent.
* **Times** are instants that exist in UTC within the years 1-9999 (Python's calendar,
  which both engines hold): `0001-01-01T00:00:00+05:00` is a year-0 instant and
  `9999-12-31T23:59:59-05:00` one in year 10000, so both are refused.
* **Numbers and booleans** are strict: `true` is not 1.0 and `"500"` is not 500; request
  models say so with `strict=True` (see `STRICT_BODY`). An integer field takes what JSON
  Schema calls an integer, `500.0` included (`WHOLE_NUMBER`), and nothing else.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue, WithJsonSchema
from pydantic_core import core_schema

# The text rule as a JSON Schema pattern, so the OpenAPI document declares it and
# contract fuzzers generate no text the server refuses. Surrogates cannot be written in
# a pattern; they are refused by `storable_text`.
NO_NUL_PATTERN = r"^[^\x00]*$"

# Request bodies: unknown fields, NaN/Infinity and coerced types are refused.
STRICT_BODY = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)


def storable_text(value: str) -> str:
    """The text itself, or ValueError when a database could not keep it as it is.

    >>> storable_text("checkout")
    'checkout'
    >>> storable_text("a\\x00b")
    Traceback (most recent call last):
    ...
    ValueError: must not contain NUL (U+0000) characters
    """
    if "\x00" in value:
        raise ValueError("must not contain NUL (U+0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("must not contain unpaired surrogates (not valid UTF-8)") from error
    return value


def storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """A free-form JSON object the store keeps as it is, or ValueError saying why not.

    orjson refuses integers beyond 64 bits, surrogates and nesting past its limit; the
    walk then looks for NUL in every key and string. Iterative: the depth is bounded by
    the encoder's limit anyway, but no recursion is needed.

    >>> storable_json({"tier": 1, "owners": ["a", {"b": None}]})
    {'tier': 1, 'owners': ['a', {'b': None}]}
    >>> storable_json({"x": ["ok", "\\x00"]})
    Traceback (most recent call last):
    ...
    ValueError: must not contain NUL (U+0000) characters (at /x/1)
    """
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise ValueError(f"cannot be stored as JSON: {error}") from error
    pending: list[tuple[Any, str]] = [(value, "")]
    while pending:
        item, where = pending.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                pointer = f"{where}/{_escaped(key)}"
                if "\x00" in key:
                    raise ValueError(
                        f"must not contain NUL (U+0000) characters (the key {pointer})"
                    )
                pending.append((child, pointer))
        elif isinstance(item, list):
            pending.extend((child, f"{where}/{index}") for index, child in enumerate(item))
        elif isinstance(item, str) and "\x00" in item:
            raise ValueError(f"must not contain NUL (U+0000) characters (at {where})")
        elif isinstance(item, float) and not math.isfinite(item):
            # NaN, Infinity, and literals beyond the float range such as 1e400, which
            # parse as infinity: JSON has no such number (the encoder writes null).
            raise ValueError(f"numbers must be finite (at {where or '/'})")
        elif (
            isinstance(item, float)
            and item.is_integer()
            and not (_SMALLEST_INTEGER <= item <= _LARGEST_INTEGER)
        ):
            # JSON (and JSON Schema) cannot tell 1e30 from 1000...0: whole numbers have
            # one rule, the 64-bit range, however they are written.
            raise ValueError(f"whole numbers must be within 64 bits (at {where or '/'})")
    return value


# The integers orjson (and so the store) keeps: signed or unsigned 64-bit.
_SMALLEST_INTEGER = -(2**63)
_LARGEST_INTEGER = 2**64 - 1

# The free-form JSON rule as JSON Schema, for the OpenAPI document (app.py adds it to the
# components): contract fuzzers then generate no document the server refuses for a rule
# the schema does not state. Nesting past orjson's limit (254) cannot be stated; it is
# refused all the same.
JSON_VALUE_COMPONENT = "StorableJsonValue"
_VALUE_REF = {"$ref": f"#/components/schemas/{JSON_VALUE_COMPONENT}"}
STORABLE_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Free-form JSON kept exactly as sent: text without NUL, whole numbers "
    "within 64 bits, finite numbers.",
    "propertyNames": {"pattern": NO_NUL_PATTERN},
    "additionalProperties": _VALUE_REF,
}
STORABLE_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "string", "pattern": NO_NUL_PATTERN},
        {"type": "integer", "minimum": _SMALLEST_INTEGER, "maximum": _LARGEST_INTEGER},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "array", "items": _VALUE_REF},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": _VALUE_REF,
        },
    ]
}


def _escaped(key: str) -> str:
    # JSON Pointer (RFC 6901) escaping, so the message names the member exactly.
    return key.replace("~", "~0").replace("/", "~1").replace("\x00", "\\u0000")


def utc_instant(value: datetime) -> datetime:
    """The same instant in UTC (a time without an offset is taken as UTC), or ValueError
    when it does not exist within the years 1-9999 in UTC.

    >>> utc_instant(datetime.fromisoformat("2026-11-26T12:00:00+02:00")).isoformat()
    '2026-11-26T10:00:00+00:00'
    >>> utc_instant(datetime.fromisoformat("0001-01-01T00:00:00+05:00"))
    Traceback (most recent call last):
    ...
    ValueError: is outside the years 1-9999 once converted to UTC
    """
    try:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("is outside the years 1-9999 once converted to UTC") from error


class _TextRule:
    """`Annotated` metadata: the text rule on a string type, after its other constraints
    (`Annotated[str, StringConstraints(max_length=64), TEXT_RULE]`). The pattern is
    declared in the JSON Schema; `storable_text` checks it with a clearer message."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(storable_text, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = NO_NUL_PATTERN
        return json_schema


TEXT_RULE = _TextRule()
StorableText = Annotated[str, TEXT_RULE]


def whole_number(value: Any) -> Any:
    """A float with no fractional part as the integer it is (JSON Schema counts 500.0 as
    an integer, and so does the OpenAPI document); anything else is left to the strict
    integer check, which refuses it.

    >>> whole_number(500.0), whole_number(500.5), whole_number("500")
    (500, 500.5, '500')
    """
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


# Pydantic cannot carry a reference to a component it did not make: the field's schema
# is this marker, which `declare_storable_json` replaces in the OpenAPI document.
_MARKER = "x-storable-json"
StorableJson = Annotated[
    dict[str, Any],
    AfterValidator(storable_json),
    WithJsonSchema({"type": "object", _MARKER: True}),
]


def declare_storable_json(document: dict[str, Any]) -> None:
    """Put the free-form JSON rule into an OpenAPI document: every field marked as
    `StorableJson` gets `STORABLE_OBJECT_SCHEMA`, and the components the value schema.
    Walks the document iteratively, in place."""
    document.setdefault("components", {}).setdefault("schemas", {})[JSON_VALUE_COMPONENT] = (
        STORABLE_VALUE_SCHEMA
    )
    pending: list[Any] = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if node.get(_MARKER) is True:
                del node[_MARKER]
                node.update(STORABLE_OBJECT_SCHEMA)
                continue
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)


# `Annotated` metadata for an integer field, after its bounds:
# `Annotated[int, Field(ge=0), WHOLE_NUMBER]`.
WHOLE_NUMBER = BeforeValidator(whole_number)
# RFC 3339 with an offset (ingestion's observed_at).
StorableAwareTime = Annotated[AwareDatetime, AfterValidator(utc_instant)]
# An offset is optional: a time without one is UTC (an API key's expires_at).
StorableTime = Annotated[datetime, AfterValidator(utc_instant)]

# RFC 3339 (section 5.6): a full date, "T" (or a space, as section 5.6 allows), a full
# time and an offset. Stricter than datetime.fromisoformat, which also takes a date
# alone, a time without an offset or the basic format.
RFC3339_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)


def rfc3339_text(value: Any) -> Any:
    """Only RFC 3339 text with an offset reaches the parser: pydantic would also take
    `0.5` (seconds since 1970) or a date alone for a datetime, which the OpenAPI's
    `date-time` does not allow.

    >>> rfc3339_text("2026-12-01T09:00:00Z")
    '2026-12-01T09:00:00Z'
    >>> rfc3339_text("0.5")
    Traceback (most recent call last):
    ...
    ValueError: expected an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00Z
    """
    if isinstance(value, str) and RFC3339_TIME.fullmatch(value):
        return value
    raise ValueError("expected an RFC 3339 time with an offset, e.g. 2026-12-01T09:00:00Z")


# A time in a query parameter (`as_of`, `since`): RFC 3339 with an offset, as UTC.
QueryTime = Annotated[AwareDatetime, BeforeValidator(rfc3339_text), AfterValidator(utc_instant)]
