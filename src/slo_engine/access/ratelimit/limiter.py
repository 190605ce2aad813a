"""The rate limiter the API calls: Redis when configured and healthy, in-process otherwise.

Redis failing must not take the API down. Every Redis step is bounded by a timeout
(250 ms by default); on an error or a timeout the limiter answers from the in-process
buckets, logs the outage once, and leaves Redis alone for `retry_interval` seconds so
that requests do not each pay the timeout. After that it tries Redis again and, if it
answers, logs the recovery and uses it from then on. During an outage each replica
limits on its own, so N replicas admit up to N times a bucket: the price of staying up.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time

from redis.exceptions import RedisError

from slo_engine.access.ratelimit.bucket import Decision
from slo_engine.access.ratelimit.memory import InProcessBuckets
from slo_engine.access.ratelimit.redis_backend import RedisBuckets
from slo_engine.rate_policy import RatePolicy

logger = logging.getLogger(__name__)


class Backend(enum.StrEnum):
    REDIS = "redis"
    MEMORY = "memory"


class RateLimiter:
    def __init__(
        self,
        redis: RedisBuckets | None,
        *,
        timeout_seconds: float = 0.25,
        retry_interval_seconds: float = 5.0,
    ) -> None:
        self._redis = redis
        self._memory = InProcessBuckets()
        self._timeout = timeout_seconds
        self._retry_interval = retry_interval_seconds
        self._redis_down_since: float | None = None
        self._next_redis_attempt = 0.0
        self.last_backend = self.configured_backend  # the backend of the last decision

    @property
    def configured_backend(self) -> Backend:
        return Backend.REDIS if self._redis is not None else Backend.MEMORY

    @property
    def backend(self) -> Backend:
        """The backend answering now: memory when Redis is not configured or failing."""
        if self._redis is None or self._redis_down_since is not None:
            return Backend.MEMORY
        return Backend.REDIS

    async def take(self, bucket: str, policy: RatePolicy) -> Decision:
        redis = self._redis
        if redis is not None and time.monotonic() >= self._next_redis_attempt:
            if self._redis_down_since is not None:
                # One request probes a Redis that failed; the others keep to memory.
                self._next_redis_attempt = time.monotonic() + self._retry_interval
            try:
                decision = await asyncio.wait_for(redis.take(bucket, policy), self._timeout)
            except (RedisError, OSError, TimeoutError) as error:
                self._redis_failed(error)
            else:
                if self._redis_down_since is not None:
                    down_for = time.monotonic() - self._redis_down_since
                    logger.warning(
                        "rate limiter: Redis answers again after %.1f s; back on the shared "
                        "buckets",
                        down_for,
                    )
                    self._redis_down_since = None
                    self._next_redis_attempt = 0.0  # every request uses Redis again
                self.last_backend = Backend.REDIS
                return decision
        self.last_backend = Backend.MEMORY
        return self._memory.take(bucket, policy)

    def _redis_failed(self, error: BaseException) -> None:
        now = time.monotonic()
        self._next_redis_attempt = now + self._retry_interval
        if self._redis_down_since is None:
            self._redis_down_since = now
            logger.warning(
                "rate limiter: Redis failed (%s: %s); limiting in process, retrying Redis "
                "every %.1f s",
                type(error).__name__,
                error,
                self._retry_interval,
            )
