"""POST /api/v1/services/dependencies (ingest), DELETE
/api/v1/services/{source_id}/dependencies/{target_id} (retract an edge) and DELETE
/api/v1/services/{service_id} (delete a service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from slo_engine.access.dependencies import admin_write_access, write_access
from slo_engine.access.service import Principal
from slo_engine.graph.model import SERVICE_ID_PATTERN, DiscoverySource
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.json_body import json_body, openapi_body
from slo_engine.ingestion import retraction, service
from slo_engine.ingestion.retraction import RetractionResult
from slo_engine.ingestion.schemas import (
    DetectedCycleOut,
    IngestionRequest,
    IngestionResponse,
    RetractionResponse,
)
from slo_engine.live.reads import REVISION_HEADER, LiveGraphDep

router = APIRouter(tags=["ingestion"])


@router.post(
    "/services/dependencies",
    response_model=IngestionResponse,
    operation_id="ingestGraph",
    summary="Ingest services and dependencies reported by one discovery source",
    responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
    openapi_extra={"requestBody": openapi_body(IngestionRequest)},
)
async def ingest_dependencies(
    principal: Annotated[Principal, Depends(write_access)],
    body: Annotated[IngestionRequest, Depends(json_body(IngestionRequest))],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
) -> IngestionResponse:
    """Upsert the nodes and edges in one transaction: all of it lands or none of it.

    An edge is unique per (source, target, discovery source); ingesting it again
    updates it. Services named only in edges are created as `discovered`. With
    `"mode": "replace"` the request is the source's complete picture of its scope: what
    the source reported there before and not now is retracted in the same transaction.
    """
    result = await database.transaction(
        lambda session: service.ingest(session, live, body, principal.name)
    )
    response.headers[REVISION_HEADER] = str(result.revision)
    return IngestionResponse(
        nodes_upserted=result.nodes_upserted,
        edges_upserted=result.edges_upserted,
        revision=result.revision,
        edges_retracted=result.edges_retracted,
        circular_dependencies_detected=[
            DetectedCycleOut(alert_id=c.alert_id, cycle_path=c.cycle_path)
            for c in result.circular_dependencies_detected
        ],
        warnings=result.warnings,
    )


def _retraction_response(result: RetractionResult, response: Response) -> RetractionResponse:
    response.headers[REVISION_HEADER] = str(result.revision)
    return RetractionResponse.of(result)


@router.delete(
    "/services/{source_id}/dependencies/{target_id}",
    response_model=RetractionResponse,
    operation_id="retractDependency",
    summary="Retract an edge: a source no longer reports it",
    responses=problem_responses(400, 401, 403, 404, 422, 429, 500, 503),
)
async def retract_dependency(
    principal: Annotated[Principal, Depends(write_access)],
    source_id: Annotated[
        str,
        Path(pattern=SERVICE_ID_PATTERN, max_length=255, description="The edge's caller."),
    ],
    target_id: Annotated[
        str,
        Path(pattern=SERVICE_ID_PATTERN, max_length=255, description="The edge's callee."),
    ],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
    discovery_source: Annotated[
        DiscoverySource | None,
        Query(
            description="The source that no longer reports the edge. Without it, every "
            "declared source (manual, backstage): observed edges go stale on their own."
        ),
    ] = None,
) -> RetractionResponse:
    """The named source stops reporting source -> target; the merged edge leaves the
    graph when no source reports it any more. Cycle alerts the edge closed resolve,
    with the reason. 404 if the source (or no declared source) reports it."""
    result = await database.transaction(
        lambda session: retraction.retract_edge(
            session, live, source_id, target_id, discovery_source, principal.name
        )
    )
    return _retraction_response(result, response)


@router.delete(
    "/services/{service_id}",
    response_model=RetractionResponse,
    operation_id="deleteService",
    summary="Delete a service (admin)",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 429, 500, 503),
)
async def delete_service(
    principal: Annotated[Principal, Depends(admin_write_access)],
    service_id: Annotated[
        str,
        Path(
            pattern=SERVICE_ID_PATTERN,
            max_length=255,
            description="The service to delete (404 if unknown).",
        ),
    ],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
    cascade: Annotated[
        bool,
        Query(description="Also retract, in the same transaction, every edge that names it."),
    ] = False,
) -> RetractionResponse:
    """Delete the service. While an edge report still names it this is a 409 problem
    listing them, unless `cascade=true`."""
    result = await database.transaction(
        lambda session: retraction.delete_service(
            session, live, service_id, cascade, principal.name
        )
    )
    return _retraction_response(result, response)
