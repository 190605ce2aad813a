"""Use cases of the catalog read side: one service, a filtered page of services."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository, ServiceFilter
from slo_engine.errors import ServiceNotFoundError
from slo_engine.graph.model import Service
from slo_engine.infra.cursor import decode_cursor, encode_cursor, not_issued


async def get_service(session: AsyncSession, service_id: str) -> tuple[Service, bool]:
    """The service, and whether it is seen only through stale edges."""
    repository = CatalogRepository(session)
    service = await repository.get_service(service_id)
    if service is None:
        raise ServiceNotFoundError(f"No service has service_id '{service_id}'.")
    return service, bool(await repository.only_stale_edges([service_id]))


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
