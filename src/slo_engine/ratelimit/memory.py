"""The in-process token buckets: one instance's limits, and the fallback when Redis fails."""

from __future__ import annotations

import time

from slo_engine.ratelimit.bucket import MICROSECONDS, BucketState, Decision, take
from slo_engine.ratelimit.policy import RatePolicy

# Buckets idle long enough to be full again are dropped when the map grows past this.
_PRUNE_ABOVE = 10_000
_LONGEST_PERIOD_SECONDS = 86_400


class InProcessBuckets:
    """Token buckets in a dict. The event loop runs one step at a time: no lock needed."""

    def __init__(self) -> None:
        self._buckets: dict[str, BucketState] = {}

    def take(self, bucket: str, policy: RatePolicy) -> Decision:
        now_us = int(time.monotonic() * MICROSECONDS)
        decision, state = take(self._buckets.get(bucket), now_us, policy)
        self._buckets[bucket] = state
        if len(self._buckets) > _PRUNE_ABOVE:
            self._prune(now_us)
        return decision

    def _prune(self, now_us: int) -> None:
        # A bucket idle for a whole period (a day at most) has refilled completely:
        # forgetting it changes nothing, since a missing bucket is a full one.
        horizon = now_us - _LONGEST_PERIOD_SECONDS * MICROSECONDS
        for bucket in [b for b, s in self._buckets.items() if s.updated_at_us < horizon]:
            del self._buckets[bucket]
