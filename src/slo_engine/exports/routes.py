"""GET /api/v1/graph: the whole dependency graph, as JSON pages or one streamed export."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from slo_engine.access.dependencies import read_access
from slo_engine.errors import BadRequestError, BusyError
from slo_engine.exports import service
from slo_engine.exports.schemas import GraphPageOut
from slo_engine.infra.components import AppComponent
from slo_engine.infra.cursor import CursorQuery
from slo_engine.infra.http_errors import problem_responses
from slo_engine.live.reads import NOT_MODIFIED, GraphReadDep
from slo_engine.topology.formats import RENDERERS, ExportFormat
from slo_engine.topology.negotiation import negotiate, openapi_content
from slo_engine.topology.routes import ExportFormatQuery, IncludeStaleQuery

router = APIRouter(tags=["exports"])

DEFAULT_PAGE = 1000
# A page is built on the event loop, and building it is CPU work (a worker thread would
# still hold the GIL): ~45 ms for 1,000 services whose ~5,000 edges are not merged yet,
# ~550 ms for 10,000; a cap of 2,000 bounds how long one request holds every other one
# (docs/exports.md has the figures and how they were measured).
MAX_PAGE = 2000
# Streamed text is sent in pieces of about this size: one per node or edge would cost a
# send (and a chunk header) each.
STREAM_CHUNK_BYTES = 64 * 1024
# When every export slot is taken: a whole-graph stream lasts seconds (docs/exports.md).
BUSY_RETRY_AFTER_SECONDS = 5

# Slots for whole-graph streamed exports (EXPORT_MAX_STREAMS).
EXPORT_STREAMS: AppComponent[asyncio.Semaphore] = AppComponent("export_streams")


async def stream_chunks(chunks: Iterable[str]) -> AsyncIterator[bytes]:
    """Text chunks joined into ~64 KiB pieces. Rendering runs on the event loop (the
    snapshot copy it reads is only safe there) and yields it between pieces."""
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= STREAM_CHUNK_BYTES:
            yield "".join(pending).encode()
            pending, size = [], 0
            await asyncio.sleep(0)
    if pending:
        yield "".join(pending).encode()


@router.get(
    "/graph",
    dependencies=[Depends(read_access)],
    response_model=GraphPageOut,
    operation_id="getGraph",
    summary="The whole dependency graph",
    responses={
        200: {"content": openapi_content(), "description": "A JSON page or a whole export"},
        **NOT_MODIFIED,
        **problem_responses(400, 401, 403, 406, 410, 429, 500, 503),
    },
)
async def get_graph(
    request: Request,
    slots: Annotated[asyncio.Semaphore, Depends(EXPORT_STREAMS)],
    read: GraphReadDep,
    export_format: ExportFormatQuery = None,
    include_stale: IncludeStaleQuery = False,
    cursor: CursorQuery = None,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_PAGE,
            description=(
                f"Services per page, JSON only; default {DEFAULT_PAGE}, at most {MAX_PAGE}: "
                "a page is built in one go on the server's event loop, so larger pages "
                "would delay other requests (docs/exports.md)."
            ),
        ),
    ] = None,
) -> Response:
    """Every service and edge. JSON (the default) comes in pages of services in id
    order, each with every edge whose source is on the page: pass `next_cursor` back as
    `cursor` until it is null. DOT, Mermaid and Cytoscape.js come as one streamed
    document. `X-Graph-Revision` says which graph revision was read."""
    choice = negotiate(export_format, request.headers.get("accept"))
    is_json = choice.export_format is ExportFormat.JSON
    if not is_json and (cursor is not None or limit is not None):
        raise BadRequestError(
            f"cursor and limit page the JSON format only; format={choice.export_format} "
            "answers the whole graph in one streamed document.",
            errors=[
                {"pointer": f"/query/{name}", "detail": "only with the JSON format"}
                for name, value in (("cursor", cursor), ("limit", limit))
                if value is not None
            ],
        )
    snapshot = read.snapshot
    if is_json:
        revision = snapshot.revision  # a page is built on the loop: no change meanwhile
        body = service.graph_page(
            snapshot, include_stale=include_stale, cursor=cursor, limit=limit or DEFAULT_PAGE
        )
        headers = {**read.headers(revision), "Vary": "Accept"}
        return Response(body, media_type=choice.media_type, headers=headers)
    if slots.locked():
        raise BusyError(
            "As many whole-graph exports as this process allows (EXPORT_MAX_STREAMS) are "
            "streaming; try again shortly, or page through the JSON format.",
            retry_after_seconds=BUSY_RETRY_AFTER_SECONDS,
        )
    await slots.acquire()  # free (not locked), so this does not wait
    try:
        copy = await service.graph_copy(snapshot)
        chunks = RENDERERS[choice.export_format](copy.nodes(), copy.edges(include_stale))
    except BaseException:
        slots.release()
        raise
    return SlotStreamingResponse(
        stream_chunks(chunks),
        release=slots.release,
        media_type=choice.media_type,
        headers={**read.headers(copy.revision), "Vary": "Accept"},
    )


class SlotStreamingResponse(StreamingResponse):
    """A streamed answer that gives its export slot back exactly once, when the response
    is over however it ended: sent, failed, or the client gone. Starlette cancels the
    sending task when the client disconnects and leaves the body generator suspended,
    so a `finally` inside the generator would wait for the garbage collector."""

    def __init__(
        self, content: AsyncIterator[bytes], *, release: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self._release: Callable[[], None] | None = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            release, self._release = self._release, None
            try:
                body = self.body_iterator
                if hasattr(body, "aclose"):
                    await body.aclose()  # the renderer's copy is dropped now, not later
            finally:
                if release is not None:
                    release()
