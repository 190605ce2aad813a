"""Heavy reads run off the event loop on a snapshot that no write changes under them
(live/graph.py `LiveGraph.off_loop`)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from slo_engine.graph.model import DependencyReport, DiscoverySource, Service
from slo_engine.graph.snapshot import GraphSnapshot
from slo_engine.live.graph import LiveGraph
from slo_engine.live.off_loop import HEAVY_READS

AT = datetime(2026, 11, 1, tzinfo=UTC)


def report(source: str, target: str) -> DependencyReport:
    return DependencyReport(source, target, DiscoverySource.MANUAL, AT)


def cache_at(revision: int) -> LiveGraph:
    cache = LiveGraph()
    cache._snapshot = GraphSnapshot.build(revision, [Service("a")], [report("a", "b")])
    return cache


async def test_a_write_waits_for_the_heavy_read_and_readers_of_it_wait_too() -> None:
    cache = cache_at(1)
    snapshot = cache.peek()
    assert snapshot is not None
    started, release = threading.Event(), threading.Event()

    def heavy_read() -> list[str]:
        started.set()
        release.wait(5)
        # What the read sees at its end: the write did not land under it.
        return sorted(snapshot.downstream_all["a"])

    read = asyncio.create_task(cache.off_loop(heavy_read))
    await asyncio.to_thread(started.wait, 5)
    cache.apply_committed(2, [], [report("a", "c")])
    assert snapshot.revision == 1  # deferred while the read runs

    # A reader that needs revision 2 (min_revision) waits for it; the graph has no
    # database here, so nothing but the deferred write can bring it there.
    waiting = asyncio.create_task(cache.wait_for(2, 5))
    await asyncio.sleep(0.05)
    assert not waiting.done()

    release.set()
    assert await read == ["b"]
    await asyncio.wait_for(waiting, 5)
    current = cache.snapshot
    assert current is snapshot and current.revision == 2
    assert sorted(current.downstream_all["a"]) == ["b", "c"]


async def test_new_heavy_reads_let_a_waiting_write_land_first() -> None:
    cache = cache_at(1)
    snapshot = cache.peek()
    assert snapshot is not None
    started, release = threading.Event(), threading.Event()

    def first() -> int:
        started.set()
        release.wait(5)
        return snapshot.revision

    first_read = asyncio.create_task(cache.off_loop(first))
    await asyncio.to_thread(started.wait, 5)
    cache.apply_committed(2, [], [report("a", "c")])
    # A read that comes after the write must see it: it waits for the write to land.
    second_read = asyncio.create_task(cache.off_loop(lambda: snapshot.revision))
    await asyncio.sleep(0.05)
    assert not second_read.done()
    release.set()
    assert await first_read == 1
    assert await asyncio.wait_for(second_read, 5) == 2


async def test_at_most_heavy_reads_run_at_once() -> None:
    cache = cache_at(1)
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.05)
        with lock:
            running -= 1

    await asyncio.gather(*(cache.off_loop(work) for _ in range(HEAVY_READS * 3)))
    assert most == HEAVY_READS


async def test_a_cancelled_request_still_holds_the_snapshot_until_its_thread_ends() -> None:
    """A client that leaves (or a shutdown) cancels the awaiting request, not the thread
    that reads the snapshot: the write still waits for that thread."""
    cache = cache_at(1)
    snapshot = cache.peek()
    assert snapshot is not None
    started, release = threading.Event(), threading.Event()

    def heavy_read() -> int:
        started.set()
        release.wait(5)
        return snapshot.revision

    read = asyncio.create_task(cache.off_loop(heavy_read))
    await asyncio.to_thread(started.wait, 5)
    read.cancel()
    await asyncio.sleep(0)
    cache.apply_committed(2, [], [report("a", "c")])
    assert snapshot.revision == 1  # the thread still reads: deferred
    release.set()
    await asyncio.wait_for(cache._off_loop.settled(), 5)
    assert snapshot.revision == 2
    assert read.cancelled()
