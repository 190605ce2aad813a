"""Use cases of the catalog read side: a filtered page of services (one service is
answered from the live graph: topology/catalog_routes.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.repository import CatalogRepository, ServiceFilter
from slo_engine.graph.model import Service
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.infra.cursor import encode_cursor, text_after


def _matches(service: Service, wanted: ServiceFilter) -> bool:
    """The repository's filter, in memory (the same rules as `list_services`' SQL)."""
    if wanted.team is not None and service.team != wanted.team:
        return False
    if wanted.criticality is not None and service.criticality != wanted.criticality:
        return False
    if wanted.discovered is not None and service.discovered != wanted.discovered:
        return False
    if wanted.kind is not None and service.kind is not wanted.kind:
        return False
    if wanted.search:
        needle = wanted.search.casefold()
        names = (service.service_id, service.display_name or "")
        return any(needle in name.casefold() for name in names)
    return True


def list_services_of(
    snapshot: GraphSnapshot, service_filter: ServiceFilter, cursor: str | None, limit: int
) -> tuple[list[Service], set[str], str | None]:
    """`list_services` over a snapshot (a past graph: "as of"). O(V log V)."""
    after = text_after(cursor)
    ordered = sorted(
        (
            s
            for s in snapshot.services.values()
            if (after is None or s.service_id > after) and _matches(s, service_filter)
        ),
        key=lambda s: s.service_id,
    )
    page = ordered[:limit]
    next_cursor = encode_cursor([page[-1].service_id]) if len(ordered) > limit else None
    stale_only = {s.service_id for s in page if snapshot.only_stale_edges(s.service_id)}
    return page, stale_only, next_cursor


async def list_services(
    session: AsyncSession, service_filter: ServiceFilter, cursor: str | None, limit: int
) -> tuple[list[Service], set[str], str | None]:
    """A page of services ordered by service id, those of them seen only through stale
    edges, and the cursor of the next page."""
    after = text_after(cursor)
    repository = CatalogRepository(session)
    page = await repository.list_services(service_filter, after, limit + 1)
    next_cursor = encode_cursor([page[limit - 1].service_id]) if len(page) > limit else None
    page = page[:limit]
    stale_only = await repository.only_stale_edges([s.service_id for s in page])
    return page, stale_only, next_cursor
