"""/api/v1/api-keys: key management, for keys with the `admin` scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from slo_engine.access import service
from slo_engine.access.dependencies import admin_read_access, admin_write_access
from slo_engine.access.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut
from slo_engine.access.service import KEY_NAME_PATTERN
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.json_body import json_body, openapi_body
from slo_engine.live.reads import LiveGraphDep

router = APIRouter(tags=["api-keys"])


@router.post(
    "/api-keys",
    dependencies=[Depends(admin_write_access)],
    status_code=201,
    response_model=ApiKeyCreated,
    operation_id="createApiKey",
    summary="Create an API key (its secret is returned once)",
    responses=problem_responses(400, 401, 403, 409, 415, 422, 429, 500, 503),
    openapi_extra={"requestBody": openapi_body(ApiKeyCreate)},
)
async def create_api_key(
    body: Annotated[ApiKeyCreate, Depends(json_body(ApiKeyCreate))],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
) -> ApiKeyCreated:
    """Make a key with the given scopes, expiry and rate limits. The answer holds the
    key's secret, shown this once (only its digest is stored): no cache may keep it
    (`Cache-Control: no-store`). A name already taken is a 409."""
    response.headers["Cache-Control"] = "no-store"
    key, plaintext = await database.transaction(
        lambda session: service.create_key(
            session,
            name=body.name,
            scopes=body.scopes,
            expires_at=body.expires_at,
            rate_limit_ingestion=body.rate_limit_ingestion,
            rate_limit_query=body.rate_limit_query,
            on_committed=live.note_access_revision,
        )
    )
    return ApiKeyCreated(**ApiKeyOut.of(key).model_dump(), key=plaintext)


@router.get(
    "/api-keys",
    dependencies=[Depends(admin_read_access)],
    response_model=ApiKeyList,
    operation_id="listApiKeys",
    summary="List API keys (never their secrets)",
    responses=problem_responses(401, 403, 429, 500),
)
async def list_api_keys(database: DatabaseDep) -> ApiKeyList:
    """Every key by name, revoked and expired ones included, with its scopes, limits and
    when it was last used."""
    keys = await database.read(service.list_keys)
    return ApiKeyList(items=[ApiKeyOut.of(k) for k in keys])


@router.delete(
    "/api-keys/{name}",
    dependencies=[Depends(admin_write_access)],
    response_model=ApiKeyOut,
    operation_id="revokeApiKey",
    summary="Revoke an API key (at once on this replica, within a second on the others)",
    responses=problem_responses(400, 401, 403, 404, 429, 500),
)
async def revoke_api_key(
    name: Annotated[
        str, Path(pattern=KEY_NAME_PATTERN, description="The key's name (404 if no key has it).")
    ],
    database: DatabaseDep,
    live: LiveGraphDep,
) -> ApiKeyOut:
    """The key stays listed, with `revoked_at`, for the audit trail."""
    key = await database.transaction(
        lambda session: service.revoke_key(session, name, on_committed=live.note_access_revision)
    )
    return ApiKeyOut.of(key)
