"""The token-bucket step: its guarantees on any schedule, checked with hypothesis."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from slo_engine.access.ratelimit.bucket import MICROSECONDS, BucketState, take
from slo_engine.rate_policy import RatePolicy

policies = st.builds(
    RatePolicy,
    capacity=st.integers(min_value=1, max_value=50),
    period_seconds=st.sampled_from([1, 60, 3600]),
)
# Gaps between requests, in microseconds: bursts (0) and pauses up to ten seconds.
schedules = st.lists(
    st.one_of(st.just(0), st.integers(min_value=0, max_value=10 * MICROSECONDS)), max_size=200
)


def _run(policy: RatePolicy, gaps: list[int]) -> list[bool]:
    state: BucketState | None = None
    now = 1_700_000_000 * MICROSECONDS  # epoch-sized times, as Redis' clock gives
    admitted = []
    for gap in gaps:
        now += gap
        decision, state = take(state, now, policy)
        admitted.append(decision.allowed)
    return admitted


def _exact_model(policy: RatePolicy, gaps: list[int]) -> list[bool]:
    """The same bucket in exact rational arithmetic: an independent oracle."""
    rate = Fraction(policy.capacity, policy.period_seconds * MICROSECONDS)
    tokens = Fraction(policy.capacity)
    admitted = []
    for gap in gaps:
        tokens = min(Fraction(policy.capacity), tokens + gap * rate)
        if tokens >= 1:
            tokens -= 1
            admitted.append(True)
        else:
            admitted.append(False)
    return admitted


@given(policies, schedules)
def test_never_admits_more_than_capacity_plus_refill(policy: RatePolicy, gaps: list[int]) -> None:
    admitted = _run(policy, gaps)
    elapsed_us = sum(gaps[1:]) if gaps else 0  # refill starts at the first request
    bound = policy.capacity + Fraction(
        policy.capacity * elapsed_us, policy.period_seconds * MICROSECONDS
    )
    assert sum(admitted) <= bound


@given(policies, schedules)
def test_agrees_with_exact_arithmetic(policy: RatePolicy, gaps: list[int]) -> None:
    # Floating point may only differ from the exact model when a refill lands within
    # rounding error of a whole token; then it may refuse, never admit extra.
    floating = _run(policy, gaps)
    exact = _exact_model(policy, gaps)
    assert sum(floating) <= sum(exact)
    assert sum(exact) - sum(floating) <= 1


def test_a_full_bucket_admits_its_capacity_at_once_then_refuses() -> None:
    policy = RatePolicy(capacity=3, period_seconds=60)
    assert _run(policy, [0, 0, 0, 0]) == [True, True, True, False]


def test_refused_decision_says_when_to_retry_and_retrying_then_succeeds() -> None:
    policy = RatePolicy(capacity=1, period_seconds=6)  # one token every 6 s
    first, state = take(None, 0, policy)
    refused, state = take(state, 0, policy)
    assert first.allowed and not refused.allowed
    assert refused.retry_after_seconds == 6
    retried, _ = take(state, refused.retry_after_seconds * MICROSECONDS, policy)
    assert retried.allowed


def test_a_clock_going_backwards_refills_nothing() -> None:
    policy = RatePolicy(capacity=1, period_seconds=1)
    _, state = take(None, 10 * MICROSECONDS, policy)
    refused, state = take(state, 5 * MICROSECONDS, policy)
    assert not refused.allowed
    assert state.updated_at_us == 10 * MICROSECONDS
