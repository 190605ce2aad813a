"""Giving free heap back to the system after the live graph applied a large change.

Apart from the live graph (live/graph.py), which only decides when: how to trim without
holding the event loop is a matter of the allocator and the loop, not of the graph.
"""

from __future__ import annotations

import asyncio

from slo_engine.infra.interpreter import give_back_free_memory

# After applying a change this large, free heap is given back to the system (malloc_trim).
TRIM_AFTER_ROWS = 5_000


def give_back_free_memory_soon() -> None:
    """malloc_trim in a worker thread (it walks the heap: milliseconds), after a change
    whose rows were made among a write's or a catch-up's short-lived objects."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no event loop (a one-off process): trim here
        give_back_free_memory()
        return
    loop.run_in_executor(None, give_back_free_memory)
