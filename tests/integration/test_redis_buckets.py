"""The Lua token bucket in a real Redis, against the Python model (access/ratelimit/bucket.py)."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from slo_engine.access.ratelimit.bucket import MICROSECONDS, BucketState, take
from slo_engine.access.ratelimit.redis_backend import RedisBuckets
from slo_engine.rate_policy import RatePolicy

policies = st.builds(
    RatePolicy,
    capacity=st.integers(min_value=1, max_value=30),
    period_seconds=st.sampled_from([1, 60, 3600]),
)
gaps = st.lists(st.integers(min_value=0, max_value=5 * MICROSECONDS), min_size=1, max_size=60)


async def _compare(url: str, policy: RatePolicy, schedule: list[int]) -> None:
    client = Redis.from_url(url)
    try:
        buckets = RedisBuckets(client)
        bucket = f"test:{uuid.uuid4()}"
        state: BucketState | None = None
        now = 1_800_000_000 * MICROSECONDS
        admitted = 0
        for gap in schedule:
            now += gap
            expected, state = take(state, now, policy)
            got = await buckets.take(bucket, policy, now_us=now)
            assert (got.allowed, got.tokens_left) == (expected.allowed, expected.tokens_left)
            admitted += got.allowed
        elapsed = now - (1_800_000_000 * MICROSECONDS + schedule[0])
        assert admitted <= policy.capacity + policy.capacity * elapsed / (
            policy.period_seconds * MICROSECONDS
        )
    finally:
        await client.aclose()


@settings(max_examples=60, deadline=None)
@given(policies, gaps)
def test_lua_bucket_equals_the_model_on_any_schedule(
    redis_url: str, policy: RatePolicy, schedule: list[int]
) -> None:
    asyncio.run(_compare(redis_url, policy, schedule))


def test_on_redis_clock_a_burst_gets_exactly_the_capacity(redis_url: str) -> None:
    async def burst() -> list[bool]:
        client = Redis.from_url(redis_url)
        try:
            buckets = RedisBuckets(client)
            bucket = f"test:{uuid.uuid4()}"
            policy = RatePolicy(capacity=10, period_seconds=3600)
            decisions = await asyncio.gather(*(buckets.take(bucket, policy) for _ in range(50)))
            ttl = await client.pttl(f"slo-engine:ratelimit:{bucket}")
            assert 0 < ttl <= 3601 * 1000  # the bucket expires once it would be full
            return [d.allowed for d in decisions]
        finally:
            await client.aclose()

    assert sum(asyncio.run(burst())) == 10
