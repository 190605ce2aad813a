"""POST /api/v1/services/dependencies"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from slo_engine.access.dependencies import write_access
from slo_engine.infra.db import DatabaseDep
from slo_engine.infra.http_errors import problem_responses
from slo_engine.infra.json_body import json_body, openapi_body
from slo_engine.ingestion import service
from slo_engine.ingestion.schemas import DetectedCycleOut, IngestionRequest, IngestionResponse
from slo_engine.live.reads import REVISION_HEADER, LiveGraphDep

router = APIRouter(tags=["ingestion"])


@router.post(
    "/services/dependencies",
    dependencies=[Depends(write_access)],
    response_model=IngestionResponse,
    summary="Ingest services and dependencies reported by one discovery source",
    responses=problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
    openapi_extra={"requestBody": openapi_body(IngestionRequest)},
)
async def ingest_dependencies(
    body: Annotated[IngestionRequest, Depends(json_body(IngestionRequest))],
    database: DatabaseDep,
    live: LiveGraphDep,
    response: Response,
) -> IngestionResponse:
    """Upsert the nodes and edges in one transaction: all of it lands or none of it.

    An edge is unique per (source, target, discovery source); ingesting it again
    updates it. Services named only in edges are created as `discovered`.
    """
    result = await database.transaction(lambda session: service.ingest(session, live, body))
    response.headers[REVISION_HEADER] = str(result.revision)
    return IngestionResponse(
        nodes_upserted=result.nodes_upserted,
        edges_upserted=result.edges_upserted,
        revision=result.revision,
        circular_dependencies_detected=[
            DetectedCycleOut(alert_id=c.alert_id, cycle_path=c.cycle_path)
            for c in result.circular_dependencies_detected
        ],
        warnings=result.warnings,
    )
