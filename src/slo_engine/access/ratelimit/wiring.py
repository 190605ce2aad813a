"""Building the rate limiter from the settings (and closing what it opened)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from slo_engine.access.ratelimit.limiter import RateLimiter
from slo_engine.access.ratelimit.redis_backend import RedisBuckets
from slo_engine.rate_policy import RateClass, RatePolicy, parse_rate
from slo_engine.settings import Settings


def redis_client(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    timeout = settings.redis_timeout_seconds
    # No retries inside the client: the limiter's own timeout and fallback decide.
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def rate_limiter(settings: Settings, client: Redis | None) -> RateLimiter:
    return RateLimiter(
        RedisBuckets(client) if client is not None else None,
        timeout_seconds=settings.redis_timeout_seconds,
        retry_interval_seconds=settings.redis_retry_interval_seconds,
    )


def rate_limits(settings: Settings) -> dict[RateClass, RatePolicy]:
    return {
        RateClass.INGESTION: parse_rate(settings.rate_limit_ingestion),
        RateClass.QUERY: parse_rate(settings.rate_limit_query),
    }
