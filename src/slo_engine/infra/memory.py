"""Garbage-collector settings for a process that holds a large graph in memory.

CPython's cyclic collector runs a young collection every 700 net allocations and a
full one (a walk over every tracked object) every 100 young ones, once enough new
objects have survived. A 250,000-edge snapshot is millions of long-lived tracked
objects, and one large ingestion allocates hundreds of thousands more (parsed edges,
reports, rows), so with the defaults a full ingestion of the benchmark graph ran about
20 full collections costing 4.5 of its 18 seconds (measured in process with
`gc.callbacks`; see docs/performance.md). Raising the young threshold makes
collections proportionally rarer; the snapshot itself holds no reference cycles and
is freed by reference counting, so nothing is kept longer than one young period.
"""

from __future__ import annotations

import gc

# Young-generation threshold: net allocations between young collections.
YOUNG_THRESHOLD = 50_000
# Young collections per middle one, middle ones per full one (CPython's defaults).
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 10


def tune_garbage_collector() -> None:
    """Make cyclic collections rarer. Idempotent; affects the whole process."""
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
