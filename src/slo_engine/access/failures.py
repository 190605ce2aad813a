"""Failed authentications are limited, so guessing keys costs the guesser, not the service.

Without a limit one client made ~800 failed attempts a second (511 with a new key id
each time, each a database lookup), and a legitimate client's p99 went from 7.6 to 87 ms.

Each failure takes a token from the client address's failure bucket and, when the key
id named a stored key (a wrong secret, a revoked or expired key), from that key's
failure bucket too: the same token buckets as the request limits (in process, or shared
in Redis), with the policy `RATE_LIMIT_AUTH_FAILURES` (default 20/minute: a burst of 20
failures, then one every 3 seconds). Only failures spend tokens, so valid keys never do.

When a bucket is empty the failure is answered 429 with Retry-After instead of 401, and
the address is remembered in process until the bucket refills. While it is, a request
from it is refused before any database read unless it presents a key this process has
already found valid (`Authenticator.holds_valid`), or a well-formed key whose id is not
known to be unknown, at most one such lookup per second per address: a legitimate
client behind the same address (a NAT, a proxy) gets through within a second, and a
flood of guesses costs one dict lookup each, plus one key lookup a second.
"""

from __future__ import annotations

import time

from slo_engine.access.ratelimit.bucket import Decision
from slo_engine.access.ratelimit.limiter import RateLimiter
from slo_engine.rate_policy import RatePolicy

# Addresses remembered as limited; beyond this the oldest are forgotten (they would
# only cost a bucket lookup again).
_REMEMBERED_ADDRESSES = 10_000
# Key lookups a limited address may still make, one per this many seconds.
LOOKUP_INTERVAL_SECONDS = 1.0


class FailedAuthentications:
    def __init__(self, limiter: RateLimiter, policy: RatePolicy) -> None:
        self._limiter = limiter
        self._policy = policy
        self._limited_until: dict[str, float] = {}  # address -> monotonic time
        self._last_lookup: dict[str, float] = {}  # limited address -> monotonic time

    @property
    def policy(self) -> RatePolicy:
        return self._policy

    def limited_for(self, address: str) -> int | None:
        """Whole seconds this address stays limited, or None when it is not."""
        until = self._limited_until.get(address)
        if until is None:
            return None
        left = until - time.monotonic()
        if left <= 0:
            del self._limited_until[address]
            self._last_lookup.pop(address, None)
            return None
        return max(1, round(left))

    def may_look_up(self, address: str) -> bool:
        """Whether a limited address may have one key looked up now (and counts it)."""
        now = time.monotonic()
        last = self._last_lookup.get(address)
        if last is not None and now - last < LOOKUP_INTERVAL_SECONDS:
            return False
        if len(self._last_lookup) >= _REMEMBERED_ADDRESSES and address not in self._last_lookup:
            del self._last_lookup[next(iter(self._last_lookup))]
        self._last_lookup[address] = now
        return True

    async def record(self, address: str, stored_key_id: str | None) -> Decision | None:
        """Count one failure; the refusing decision when a bucket is now empty (the
        failure is then a 429), None while there is room (a 401)."""
        buckets = [f"auth-failures:address:{address}"]
        if stored_key_id is not None:
            buckets.append(f"auth-failures:key:{stored_key_id}")
        refused: Decision | None = None
        for bucket in buckets:
            decision = await self._limiter.take(bucket, self._policy)
            if not decision.allowed and (
                refused is None or decision.retry_after_seconds > refused.retry_after_seconds
            ):
                refused = decision
        if refused is not None:
            self._remember(address, refused.retry_after_seconds)
        return refused

    def _remember(self, address: str, seconds: int) -> None:
        remembered = self._limited_until
        if len(remembered) >= _REMEMBERED_ADDRESSES and address not in remembered:
            del remembered[next(iter(remembered))]
        remembered[address] = time.monotonic() + seconds
