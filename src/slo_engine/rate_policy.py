"""Rate-limit policies: how many requests a client may make, written like `10/minute`.

A policy is a token bucket: it holds at most `capacity` tokens (the burst), refills at
`capacity / period_seconds` tokens per second, and each request takes one token. So
`10/minute` admits a burst of 10 and then one request every 6 seconds; `5/second` a burst
of 5 and then one every 200 ms. A bare number means per minute.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass


class RateClass(enum.StrEnum):
    """Endpoint classes, each with its own bucket per client."""

    INGESTION = "ingestion"  # every write: ingestion, alert updates, key management
    QUERY = "query"  # every read


_PERIOD_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE_PATTERN = re.compile(
    r"^\s*(?P<amount>\d+)\s*(?:/\s*(?P<period>second|minute|hour|day)s?)?\s*$", re.IGNORECASE
)


# The form the HTTP API accepts for a key's own limit, declared in its OpenAPI document:
# `600/minute`, `5/second`, a bare `60`. (`parse_rate` also reads spaces and capitals,
# for the environment and the CLI.)
RATE_PATTERN = r"^[1-9][0-9]{0,9}(/(second|minute|hour|day)s?)?$"


class InvalidRateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RatePolicy:
    capacity: int
    period_seconds: int

    @property
    def refill_per_second(self) -> float:
        return self.capacity / self.period_seconds

    def __str__(self) -> str:
        unit = {v: k for k, v in _PERIOD_SECONDS.items()}[self.period_seconds]
        return f"{self.capacity}/{unit}"


@functools.lru_cache(maxsize=256)  # per-key limits are parsed on every request
def parse_rate(text: str) -> RatePolicy:
    """Read `10/minute`, `5/second`, `100/hour`, `1000/day` or a bare `60` (per minute).

    >>> parse_rate("10/minute"), parse_rate("5/second").refill_per_second, str(parse_rate("60"))
    (RatePolicy(capacity=10, period_seconds=60), 5.0, '60/minute')
    """
    match = _RATE_PATTERN.match(text)
    if match is None:
        raise InvalidRateError(
            f"{text!r} is not a rate: write it like '10/minute', '5/second' or '60'"
        )
    amount = int(match["amount"])
    if amount < 1:
        raise InvalidRateError(f"{text!r}: the amount must be at least 1")
    period = (match["period"] or "minute").lower()
    return RatePolicy(capacity=amount, period_seconds=_PERIOD_SECONDS[period])
