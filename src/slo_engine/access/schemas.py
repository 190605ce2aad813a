"""Request and response bodies of the API-key endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from slo_engine.access.keys import Scope
from slo_engine.access.repository import ApiKey
from slo_engine.access.service import KEY_NAME_PATTERN
from slo_engine.infra.storable import STRICT_BODY, StorableTime
from slo_engine.rate_policy import RATE_PATTERN

RateText = Annotated[str, StringConstraints(max_length=32, pattern=RATE_PATTERN)]


class ApiKeyCreate(BaseModel):
    model_config = STRICT_BODY

    name: Annotated[str, StringConstraints(pattern=KEY_NAME_PATTERN)]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3)]
    expires_at: StorableTime | None = Field(
        default=None,
        description="When the key stops working (RFC 3339; without an offset it is UTC), "
        "in the future; none: never.",
    )
    rate_limit_ingestion: RateText | None = Field(
        default=None, description="This key's own limit, e.g. '600/minute'."
    )
    rate_limit_query: RateText | None = None


class ApiKeyOut(BaseModel):
    """A key as stored: never its secret."""

    # Read from the stored key (access.repository.ApiKey) by field name.
    model_config = ConfigDict(from_attributes=True)

    name: str
    key_id: str = Field(description="The public part of the key (its secret is never shown).")
    scopes: Annotated[list[Scope], AfterValidator(sorted)]
    rate_limit_ingestion: str | None = Field(
        description="This key's own write limit; none: the service's RATE_LIMIT_INGESTION."
    )
    rate_limit_query: str | None = Field(
        description="This key's own read limit; none: the service's RATE_LIMIT_QUERY."
    )
    created_at: datetime
    expires_at: datetime | None = Field(description="After this the key is refused.")
    revoked_at: datetime | None = Field(description="Set once the key is revoked.")
    last_used_at: datetime | None = Field(
        description="The last authenticated use, to within a minute."
    )

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls.model_validate(key)


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. Shown this once: store it now.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
