"""Request and response bodies of the API-key endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.access.keys import Scope
from slo_engine.access.repository import ApiKey
from slo_engine.access.service import KEY_NAME_PATTERN
from slo_engine.infra.storable import STRICT_BODY, StorableTime
from slo_engine.rate_policy import RATE_PATTERN

RateText = Annotated[str, StringConstraints(max_length=32, pattern=RATE_PATTERN)]

_NAME_DESCRIPTION = (
    "The key's unique name, naming who uses it: 1-128 of [A-Za-z0-9._:@-], starting with "
    "a letter or digit."
)
_SCOPES_DESCRIPTION = (
    "What the key may do: `read` (queries), `write` (ingestion, alert updates), `admin` "
    "(keys, webhooks, deleting services; every other scope too)."
)
# A key as listed (never its secret), and the answer that creates it (its secret, once).
_KEY_EXAMPLE: dict[str, Any] = {
    "name": "backstage",
    "key_id": "3f9a1c0b7d2e",
    "scopes": ["read"],
    "rate_limit_ingestion": None,
    "rate_limit_query": "600/minute",
    "created_at": "2026-11-26T10:00:00Z",
    "expires_at": "2027-03-01T00:00:00Z",
    "revoked_at": None,
    "last_used_at": "2026-11-26T10:05:00Z",
}


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        **STRICT_BODY,
        json_schema_extra={
            "examples": [
                {
                    "name": "backstage",
                    "scopes": ["read"],
                    "expires_at": "2027-03-01T00:00:00Z",
                    "rate_limit_query": "600/minute",
                }
            ]
        },
    )

    name: Annotated[str, StringConstraints(pattern=KEY_NAME_PATTERN)] = Field(
        description=_NAME_DESCRIPTION
    )
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)] = Field(
        description=_SCOPES_DESCRIPTION
    )
    expires_at: StorableTime | None = Field(
        default=None,
        description="When the key stops working (RFC 3339; without an offset it is UTC), "
        "in the future; none: never.",
    )
    rate_limit_ingestion: RateText | None = Field(
        default=None,
        description="This key's own write limit, e.g. '600/minute' (a count, per second, "
        "minute, hour or day); none: the service's RATE_LIMIT_INGESTION.",
    )
    rate_limit_query: RateText | None = Field(
        default=None,
        description="This key's own read limit, e.g. '600/minute'; none: the service's "
        "RATE_LIMIT_QUERY.",
    )


class ApiKeyOut(BaseModel):
    """A key as stored: never its secret."""

    # Read from the stored key (access.repository.ApiKey) by field name.
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_KEY_EXAMPLE]})

    name: str = Field(description=_NAME_DESCRIPTION)
    key_id: str = Field(description="The public part of the key (its secret is never shown).")
    scopes: Annotated[list[Scope], AfterValidator(sorted)] = Field(description=_SCOPES_DESCRIPTION)
    rate_limit_ingestion: str | None = Field(
        description="This key's own write limit; none: the service's RATE_LIMIT_INGESTION."
    )
    rate_limit_query: str | None = Field(
        description="This key's own read limit; none: the service's RATE_LIMIT_QUERY."
    )
    created_at: datetime = Field(description="When the key was made.")
    expires_at: datetime | None = Field(description="After this the key is refused.")
    revoked_at: datetime | None = Field(description="Set once the key is revoked.")
    last_used_at: datetime | None = Field(
        description="The last authenticated use, to within a minute."
    )

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls.model_validate(key)


class ApiKeyCreated(ApiKeyOut):
    # Its own example: the inherited one lacks the secret this shape requires.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_KEY_EXAMPLE, "last_used_at": None, "key": "slo_3f9a1c0b7d2e_" + "x" * 43}
            ]
        }
    )

    key: str = Field(description="The key itself. Shown this once: store it now.")


class ApiKeyList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_KEY_EXAMPLE]}]})

    items: list[ApiKeyOut] = Field(description="Every key, revoked ones included, by name.")
