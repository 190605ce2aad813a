"""POST /api/v1/services/dependencies"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from slo_engine.access.dependencies import write_access
from slo_engine.infra.context import AppContext, app_context
from slo_engine.infra.http_errors import problem_responses
from slo_engine.ingestion import service
from slo_engine.ingestion.schemas import DetectedCycleOut, IngestionRequest, IngestionResponse

router = APIRouter(tags=["ingestion"])

_REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestionRequest"}}},
}


async def _parse(request: Request) -> IngestionRequest:
    # Validated straight from the bytes by pydantic's JSON parser: for a large batch
    # that is much faster than FastAPI's json.loads-then-validate. Errors take the
    # same path (and pointers) as FastAPI's own body validation.
    raw = await request.body()
    try:
        return IngestionRequest.model_validate_json(raw)
    except ValidationError as error:
        located = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        raise RequestValidationError(located) from error


@router.post(
    "/services/dependencies",
    dependencies=[Depends(write_access)],
    response_model=IngestionResponse,
    summary="Ingest services and dependencies reported by one discovery source",
    responses=problem_responses(400, 401, 403, 413, 422, 429, 500),
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def ingest_dependencies(
    request: Request, context: Annotated[AppContext, Depends(app_context)]
) -> IngestionResponse:
    """Upsert the nodes and edges in one transaction: all of it lands or none of it.

    An edge is unique per (source, target, discovery source); ingesting it again
    updates it. Services named only in edges are created as `discovered`.
    """
    body = await _parse(request)
    async with context.database.session_scope() as session:
        result = await service.ingest(session, context.graph_cache, body)
    return IngestionResponse(
        nodes_upserted=result.nodes_upserted,
        edges_upserted=result.edges_upserted,
        circular_dependencies_detected=[
            DetectedCycleOut(alert_id=c.alert_id, cycle_path=c.cycle_path)
            for c in result.circular_dependencies_detected
        ],
        warnings=result.warnings,
    )
