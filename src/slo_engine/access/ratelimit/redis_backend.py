"""Token buckets in Redis, shared by every replica: one Lua script per request.

Redis runs a script atomically, so refilling, taking a token and writing the bucket back
is one indivisible step even when many replicas ask at once: two processes sharing a
bucket of 10 admit exactly 10 between them. The script reads the time from Redis itself,
so replicas with skewed clocks still agree. It performs the same double arithmetic as
`access.ratelimit.bucket.take`, in the same order (checked by the tests against that model).
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import SpanKind
from redis.asyncio import Redis

from slo_engine.access.ratelimit.bucket import MICROSECONDS, Decision, decision_of
from slo_engine.observability.tracing import span
from slo_engine.rate_policy import RatePolicy

# KEYS[1] the bucket. ARGV: capacity, period in microseconds, and optionally the time
# in microseconds (tests pin it; otherwise Redis' clock). Returns {allowed, tokens}.
# Numbers round-trip as text: integers with %d, tokens with %.17g (exact for doubles).
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate_per_us = capacity / tonumber(ARGV[2])
local now
if ARGV[3] then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(stored[1])
local at = tonumber(stored[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
elseif now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate_per_us)
  at = now
end
local allowed = 0
if tokens >= 1.0 then
  tokens = tokens - 1.0
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
-- Forget the bucket once it would be full again (plus a second): a missing one is full.
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate_per_us / 1000) + 1000)
return {allowed, string.format('%.17g', tokens)}
"""

KEY_PREFIX = "slo-engine:ratelimit:"


class RedisBuckets:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._script = client.register_script(_TAKE_SCRIPT)

    async def take(self, bucket: str, policy: RatePolicy, *, now_us: int | None = None) -> Decision:
        args: list[Any] = [policy.capacity, policy.period_seconds * MICROSECONDS]
        if now_us is not None:
            args.append(now_us)
        with span("redis rate-limit take", kind=SpanKind.CLIENT, attributes={"db.system": "redis"}):
            allowed, tokens = await self._script(keys=[KEY_PREFIX + bucket], args=args)
        return decision_of(bool(allowed), float(tokens), policy)
