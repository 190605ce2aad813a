"""Interpreter settings for a process that holds a large graph in memory and computes
heavy answers in worker threads: the cyclic garbage collector's thresholds, and how
often threads hand the interpreter over.

Garbage collector: CPython's cyclic collector runs a young collection every 700 net
allocations and a full one (a walk over every tracked object) every 100 young ones, once enough new
objects have survived. A 250,000-edge snapshot is millions of long-lived tracked
objects, and one large ingestion allocates hundreds of thousands more (parsed edges,
reports, rows), so with the defaults a full ingestion of the benchmark graph ran about
20 full collections costing 4.5 of its 18 seconds (measured in process with
`gc.callbacks`; see docs/performance.md). Raising the young threshold makes
collections proportionally rarer; the snapshot itself holds no reference cycles and
is freed by reference counting, so nothing is kept longer than one young period.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import sys

# Young-generation threshold: net allocations between young collections.
YOUNG_THRESHOLD = 50_000
# Young collections per middle one, middle ones per full one (CPython's defaults).
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 10


def tune_garbage_collector() -> None:
    """Make cyclic collections rarer. Idempotent; affects the whole process."""
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


# Seconds a thread may hold the interpreter while another waits for it (CPython's
# default: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.001


def shorten_thread_switches() -> None:
    """Hand the interpreter over every millisecond instead of every five.

    A blast radius reaching half of a 250,000-edge graph is ~0.5 s of Python in a worker
    thread (topology/cache.py `off_loop`). The event loop needs the interpreter back for
    every step of every other request, and waited up to the whole interval each time:
    with two such answers under way /health took p50 23-37 ms, p99 136-207 ms; with 1 ms,
    p50 8.7 ms, p99 60 ms, and the heavy answers as many per second (measured on the
    benchmark's 50,000-service graph, docs/reliability.md). Affects the whole process.
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def exempt_from_full_collections() -> None:
    """Move every object alive now out of the cyclic collector's reach (`gc.freeze`).

    Called once the whole graph is loaded: its millions of objects would otherwise be
    walked by every full collection, a pause of hundreds of milliseconds on the event
    loop at 250,000 edges, for objects that hold no cycles and are freed by reference
    counting anyway (which freezing does not stop). What is cyclic garbage at that
    moment is never collected; it happens at start and after the change feed reconnects,
    and a full collection first would stall the loop for as long as the walk it saves."""
    gc.freeze()


# glibc's mallopt parameter for the size from which blocks are mmapped, and its
# initial value.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 128 * 1024


def keep_large_blocks_out_of_the_heap() -> bool:
    """Fix glibc's mmap threshold at its initial 128 KiB. Left dynamic, glibc raises it
    to the size of each mmapped block freed (up to 32 MiB), so after the first large
    answer its ~400 KB encoding chunks and joined bodies come from the heap, among
    long-lived objects, and the worker keeps the high-water mark: a worker that had
    served the load benchmark's depth-10 answers held 274 MB against 240 MB with the
    threshold fixed (real server, two workers, 50,000 services; depth-3 throughput
    within the run-to-run noise). Whether glibc took it (no-op off glibc); affects the
    whole process."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def give_back_free_memory() -> None:
    """Ask glibc to return the free memory at the top of its heaps to the system.

    Loading the whole graph goes through hundreds of megabytes of rows that are freed at
    once; without this the process keeps them as free heap (RSS). No-op off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def give_back_free_memory_soon() -> None:
    """`give_back_free_memory` in a worker thread (malloc_trim walks the heap:
    milliseconds), or here when no event loop runs (a one-off process)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        give_back_free_memory()
        return
    loop.run_in_executor(None, give_back_free_memory)


# An answer at least this large is made of many blocks below the mmap threshold too
# (its encoding chunks' documents, the walk's lists), freed among long-lived ones: the
# free heap they leave is given back once the answer is gone (in process, one trim after
# the benchmark's depth-10 answers returned ~5 MB).
LARGE_BODY_BYTES = 4 * 1024 * 1024
# How long after such an answer to give the memory back: by then its bytes are freed,
# and answers that come in a burst are followed by one trim, not one each.
TRIM_DELAY_SECONDS = 0.5


class _PendingTrim:
    # The event loop a trim is pending on, if any: one whose loop has gone (a test
    # client's, a stopped worker's) does not hold back the next loop's.
    loop: asyncio.AbstractEventLoop | None = None


def give_back_free_memory_later() -> None:
    """`give_back_free_memory_soon` after TRIM_DELAY_SECONDS, at most one pending at a
    time (from the event loop; a no-op without one)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _PendingTrim.loop is loop:
        return

    def trim() -> None:
        _PendingTrim.loop = None
        # RuntimeError: the loop's executor is shutting down, the process is stopping.
        with contextlib.suppress(RuntimeError):
            give_back_free_memory_soon()

    _PendingTrim.loop = loop
    loop.call_later(TRIM_DELAY_SECONDS, trim)
