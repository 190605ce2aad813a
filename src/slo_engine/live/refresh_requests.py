"""Refresh requests, coalesced: one refresh under way at a time, and one more after it
however many asked meanwhile.

Notifications, the backstop and readers waiting for a revision all ask the live graph
(live/graph.py) to refresh, often many at once; this holds the task under way and
whether it must run again, which needs nothing of the graph but its refresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from slo_engine.catalog.repository import Revisions
from slo_engine.infra.background import start_in_background


class RefreshRequests:
    """`refresh(revisions)` run in a task, once however many ask while one is under way.

    `failed` is called, from within the handler of its exception, when a refresh failed;
    the runs asked for meanwhile are dropped with it.
    """

    def __init__(
        self,
        refresh: Callable[[Revisions | None], Awaitable[None]],
        failed: Callable[[Exception], None],
    ) -> None:
        self._refresh = refresh
        self._failed = failed
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def request(self, revisions: Revisions | None = None) -> None:
        """Refresh soon (from `revisions` if already read)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = start_in_background(self._until_quiet(revisions))

    async def stop(self) -> None:
        """Cancel a refresh under way."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _until_quiet(self, revisions: Revisions | None) -> None:
        """Refresh (from `revisions` if already read), again while more asked meanwhile."""
        while True:
            self._again = False
            try:
                await self._refresh(revisions)
            except Exception as error:
                self._failed(error)
                return
            if not self._again:
                return
            revisions = None  # asked again since: read them anew
