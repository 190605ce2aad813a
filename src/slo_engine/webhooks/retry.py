"""When a failed delivery is tried again, and when it is given up.

Exponential backoff with "equal jitter": the n-th retry waits half of
`min(first * 2**(n-1), longest)` plus a random part of the other half, so that the
deliveries of many subscriptions that failed together (a receiver down) do not come back
in step, and no retry comes sooner than half its step. A delivery is retried for
`window` after its first attempt; then it fails, and its subscription is marked failing
(webhooks/delivery.py). Pure: the random source is a parameter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first: timedelta  # the step before the first retry
    longest: timedelta  # the step stops growing here
    window: timedelta  # retried for this long after the first attempt

    def next_attempt(
        self,
        failures: int,
        first_attempt: datetime,
        now: datetime,
        draw: random.Random | None = None,
    ) -> datetime | None:
        """When to try again after the `failures`-th failed attempt; None: give up.

        >>> from datetime import UTC
        >>> policy = RetryPolicy(timedelta(seconds=10), timedelta(hours=1), timedelta(days=1))
        >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
        >>> wait = policy.next_attempt(3, t0, t0) - t0
        >>> timedelta(seconds=20) <= wait <= timedelta(seconds=40)
        True
        >>> policy.next_attempt(30, t0, t0 + timedelta(days=1)) is None
        True
        """
        if now - first_attempt >= self.window:
            return None
        # In float seconds: a timedelta times 2**40 overflows.
        doubled = self.first.total_seconds() * 2.0 ** min(max(failures - 1, 0), 60)
        step = min(doubled, self.longest.total_seconds())
        jitter = draw.random() if draw is not None else random.random()
        return now + timedelta(seconds=step / 2 + (step / 2) * jitter)
