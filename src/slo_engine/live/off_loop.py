"""Heavy reads off the event loop, and the changes that wait for them.

CPU-heavy answers are computed in a worker thread, at most `HEAVY_READS` at once per
process. While such a read runs, the snapshot it reads is not changed under it: the
changes that come meanwhile are held here and applied when the last of them is done.
The live graph (live/graph.py) hands its changes through here; this module holds the
readers' and the waiting changes' bookkeeping, which needs nothing of the graph but a
way to apply a change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from slo_engine.live.loading import Change

# Heavy reads computed at once per process: each holds a worker thread, and with the GIL
# more of them would only take turns with the event loop (docs/reliability.md).
HEAVY_READS = 2
T = TypeVar("T")


class OffLoopReads:
    """The heavy reads running in worker threads, and the changes deferred until they
    are done.

    `apply` applies a change to the snapshot; `apply_failed` is called, from within the
    handler of its exception, when applying a deferred change failed.
    """

    def __init__(self, apply: Callable[[Change], None], apply_failed: Callable[[], None]) -> None:
        self._apply = apply
        self._apply_failed = apply_failed
        self._slots = asyncio.Semaphore(HEAVY_READS)
        self._readers = 0
        self._deferred: list[Change] = []  # changes waiting for the readers
        self._settled = asyncio.Event()  # set while no change waits
        self._settled.set()

    async def run(self, work: Callable[[], T]) -> T:
        """`work()` in a worker thread, holding one of the `HEAVY_READS` slots; no
        change is applied until it is done.

        The slot and the reader count are given back when the thread finishes, not when
        the awaiting request does: a request cancelled meanwhile (a client gone, a
        shutdown) leaves its thread reading, and the snapshot must wait for it still.
        """
        await self._slots.acquire()
        try:
            # Changes first: a read starts only once no change waits, or a steady
            # stream of heavy reads would hold the snapshot back for good.
            while not self._settled.is_set():
                await self._settled.wait()
        except BaseException:
            self._slots.release()
            raise
        loop = asyncio.get_running_loop()
        self._readers += 1

        def read() -> T:
            try:
                return work()
            finally:
                loop.call_soon_threadsafe(self._read_done)

        try:
            pending = loop.run_in_executor(None, read)
        except BaseException:  # the executor refused it: the thread never runs
            self._read_done()
            raise
        return await pending

    def _read_done(self) -> None:
        """On the loop, when a read's thread has finished."""
        self._readers -= 1
        self._slots.release()
        if self._readers:
            return
        deferred, self._deferred = self._deferred, []
        try:
            for change in deferred:
                self._apply(change)
        except Exception:
            self._apply_failed()
        finally:
            self._settled.set()  # nobody waits forever

    async def settled(self) -> None:
        """Return once no change waits for a read."""
        await self._settled.wait()

    async def wait_for_deferred(self, revision: int) -> None:
        """A reader or writer that needs `revision` while the change that brings the
        snapshot there waits for the readers waits too (at most as long as the longest
        heavy read), instead of reading the graph again."""
        while self._deferred and self._deferred[-1].revision >= revision:
            await self._settled.wait()

    def apply_or_defer(self, change: Change) -> None:
        if self._readers:
            self._deferred.append(change)
            self._settled.clear()
            return
        self._apply(change)

    async def apply_when_settled(self, change: Change) -> None:
        self.apply_or_defer(change)
        await self.wait_for_deferred(change.revision)
