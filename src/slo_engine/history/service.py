"""Use cases of the change feed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from slo_engine.catalog.change_log import ChangeEntry, ChangeFilter, list_changes, revision_at
from slo_engine.infra.cursor import decode_cursor, encode_cursor, not_issued


async def change_page(
    session: AsyncSession,
    wanted: ChangeFilter,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ChangeEntry], str | None]:
    """A page of the change log in revision order, and the cursor of the next page.

    `since`/`until` are times: changes of the revisions committed after `since`, up to
    the last one committed at or before `until`.
    """
    if cursor is not None:
        (after,) = decode_cursor(cursor, 1)
        if not isinstance(after, int) or isinstance(after, bool):
            raise not_issued()
        wanted = replace(wanted, after_id=after)
    if since is not None:
        before = await revision_at(session, since)
        if before is not None:
            floor = wanted.since_revision
            wanted = replace(wanted, since_revision=before if floor is None else max(before, floor))
    if until is not None:
        last = await revision_at(session, until)
        if last is None:
            return [], None  # nothing kept was committed by then
        upper = min(last, wanted.until_revision) if wanted.until_revision is not None else last
        wanted = replace(wanted, until_revision=upper)
    page = await list_changes(session, wanted, limit + 1)
    next_cursor = encode_cursor([page[limit - 1].id]) if len(page) > limit else None
    return page[:limit], next_cursor
