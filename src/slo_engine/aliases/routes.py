"""/api/v1/aliases: the names sources report, mapped to canonical service ids, for keys
with the `admin` scope (docs/identity.md#aliases)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from slo_engine.access.dependencies import admin_read_access, admin_write_access
from slo_engine.access.service import Principal
from slo_engine.aliases import service
from slo_engine.aliases.schemas import AliasCreate, AliasCreated, AliasList, AliasOut, MergeOut
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.json_body import json_body, openapi_body
from slo_engine.live.reads import REVISION_HEADER, LiveGraphDep

router = APIRouter(tags=["aliases"])

AliasId = Annotated[uuid.UUID, Path(description="The alias's id, as `POST` answered it.")]


@router.post(
    "/aliases",
    status_code=201,
    response_model=AliasCreated,
    operation_id="createAlias",
    summary="Map a reported name (or every name a rule matches) to a service id",
    responses=problem_responses(400, 401, 403, 409, 415, 422, 429, 500, 503),
    openapi_extra={"requestBody": openapi_body(AliasCreate)},
)
async def create_alias(
    principal: Annotated[Principal, Depends(admin_write_access)],
    body: Annotated[AliasCreate, Depends(json_body(AliasCreate))],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
) -> AliasCreated:
    """From now on ingestion stores what sources report under the name as the service
    id; what is stored already is merged in the same transaction: edges move to the
    canonical pair, a source's duplicate reports keep the one observed last (the other
    is set aside), the named service is merged into the canonical one, and cycle alerts
    are renamed with their acknowledgement. Deleting the alias undoes it."""
    alias, summary = await database.transaction(
        lambda session: service.add_alias(session, live, body.spec(), principal.name)
    )
    response.headers[REVISION_HEADER] = str(summary.revision)
    return AliasCreated(alias=AliasOut.of(alias), merge=MergeOut.of(summary))


@router.get(
    "/aliases",
    response_model=AliasList,
    operation_id="listAliases",
    summary="List the aliases in the order their rules apply",
    dependencies=[Depends(admin_read_access)],
    responses=problem_responses(401, 403, 429, 500, 503),
)
async def list_aliases(database: DatabaseDep) -> AliasList:
    """Every alias, from the API and from the aliases file (at most 10,000)."""
    found = await database.read(service.list_aliases)
    return AliasList(items=[AliasOut.of(a) for a in found])


@router.delete(
    "/aliases/{alias_id}",
    response_model=MergeOut,
    operation_id="deleteAlias",
    summary="Delete an alias and undo what it merged",
    responses=problem_responses(400, 401, 403, 404, 429, 500, 503),
)
async def delete_alias(
    alias_id: AliasId,
    principal: Annotated[Principal, Depends(admin_write_access)],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
) -> MergeOut:
    """Reports keep the names their sources gave, so the graph goes back to what those
    names give without the alias: edges move back, reports set aside return, merged
    services come back with their own fields. The change log records both."""
    summary = await database.transaction(
        lambda session: service.delete_alias(session, live, alias_id, principal.name)
    )
    response.headers[REVISION_HEADER] = str(summary.revision)
    return MergeOut.of(summary)
