"""The in-process token buckets: one instance's limits, and the fallback when Redis fails."""

from __future__ import annotations

import time

from slo_engine.access.ratelimit.bucket import MICROSECONDS, BucketState, Decision, take
from slo_engine.rate_policy import RatePolicy

# Past this many buckets the full ones are dropped, and past it still the longest idle.
_PRUNE_ABOVE = 10_000


class InProcessBuckets:
    """Token buckets in a dict. The event loop runs one step at a time: no lock needed.

    Each bucket is kept with the time it will be full again. A full bucket is the same
    as a missing one, so when the map grows past `_PRUNE_ABOVE` (one bucket per client
    address that failed to authenticate, say) the full ones are dropped, which changes
    no decision; if most are still refilling, the half idle longest goes too (they are
    treated as full: the price of bounded memory under a flood of new clients).
    """

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[BucketState, int]] = {}  # state, full again at

    def take(self, bucket: str, policy: RatePolicy) -> Decision:
        now_us = int(time.monotonic() * MICROSECONDS)
        held = self._buckets.get(bucket)
        decision, state = take(held[0] if held else None, now_us, policy)
        self._buckets[bucket] = (state, now_us + decision.reset_seconds * MICROSECONDS)
        if len(self._buckets) > _PRUNE_ABOVE:
            self._prune(now_us)
        return decision

    def _prune(self, now_us: int) -> None:
        buckets = self._buckets
        for name in [name for name, (_, full_at) in buckets.items() if full_at <= now_us]:
            del buckets[name]
        if len(buckets) > _PRUNE_ABOVE // 2:
            idle_first = sorted(buckets, key=lambda name: buckets[name][0].updated_at_us)
            for name in idle_first[: len(buckets) - _PRUNE_ABOVE // 2]:
                del buckets[name]
