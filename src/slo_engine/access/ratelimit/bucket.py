"""The token-bucket step, as pure arithmetic.

This function is the reference: the in-process backend calls it, and the Redis
backend's Lua script (access/ratelimit/redis_backend.py) performs the same operations in the
same order on the same IEEE doubles, which the tests check with hypothesis.
Time is in integer microseconds so both sides hold it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from slo_engine.rate_policy import RatePolicy

MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class BucketState:
    tokens: float
    updated_at_us: int


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of taking one token, with what the response headers report."""

    allowed: bool
    policy: RatePolicy
    tokens_left: float
    # Seconds until one token is available (0 when allowed).
    retry_after_seconds: int
    # Seconds until the bucket is full again.
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return math.floor(self.tokens_left)


def take(
    state: BucketState | None, now_us: int, policy: RatePolicy
) -> tuple[Decision, BucketState]:
    """Refill the bucket up to `now_us`, then take one token if there is one.

    A missing state is a full bucket. A clock that went backwards refills nothing.

    >>> from slo_engine.rate_policy import parse_rate
    >>> policy = parse_rate("2/second")
    >>> first, state = take(None, 0, policy)
    >>> second, state = take(state, 0, policy)
    >>> third, state = take(state, 0, policy)
    >>> [d.allowed for d in (first, second, third)], third.retry_after_seconds
    ([True, True, False], 1)
    """
    capacity = float(policy.capacity)
    rate_per_us = policy.capacity / (policy.period_seconds * MICROSECONDS)
    if state is None:
        tokens, updated_at = capacity, now_us
    else:
        tokens, updated_at = state.tokens, state.updated_at_us
        if now_us > updated_at:
            tokens = min(capacity, tokens + (now_us - updated_at) * rate_per_us)
            updated_at = now_us
    allowed = tokens >= 1.0
    if allowed:
        tokens = tokens - 1.0
    return decision_of(allowed, tokens, policy), BucketState(tokens, updated_at)


def decision_of(allowed: bool, tokens_left: float, policy: RatePolicy) -> Decision:
    """The decision for a bucket left holding `tokens_left` after the step."""
    refill_per_second = policy.refill_per_second
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens_left) / refill_per_second))
    return Decision(
        allowed=allowed,
        policy=policy,
        tokens_left=tokens_left,
        retry_after_seconds=retry_after,
        reset_seconds=math.ceil((policy.capacity - tokens_left) / refill_per_second),
    )
