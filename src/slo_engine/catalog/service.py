"""Use cases of the catalog read side: a filtered page of services (one service is
answered from the live graph: topology/catalog_routes.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository, ServiceFilter
from slo_engine.graph.model import Service
from slo_engine.infra.cursor import decode_cursor, encode_cursor, not_issued


async def list_services(
    session: AsyncSession, service_filter: ServiceFilter, cursor: str | None, limit: int
) -> tuple[list[Service], set[str], str | None]:
    """A page of services ordered by service id, those of them seen only through stale
    edges, and the cursor of the next page."""
    after = None
    if cursor is not None:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, str):
            raise not_issued()
    repository = CatalogRepository(session)
    page = await repository.list_services(service_filter, after, limit + 1)
    next_cursor = encode_cursor([page[limit - 1].service_id]) if len(page) > limit else None
    page = page[:limit]
    stale_only = await repository.only_stale_edges([s.service_id for s in page])
    return page, stale_only, next_cursor
