"""When to send a request again, and after how long: the same rules for the sync and
the async client (only their sleep differs)."""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from slo_engine_client.errors import parse_retry_after

# Answers that say the server could not serve the request now: the key's bucket was
# empty (429: refused before anything was done, safe to send again whatever the
# method), or it is unavailable (503: the database is away, a revision is not applied
# yet, too many export streams). Each may carry Retry-After. A 503 to a write is sent
# again only when it is the server's own problem document and does not say
# `outcome_unknown` (the connection was lost while committing: it may be stored), never
# when it came from something in front (a proxy's page says nothing either way).
RETRIED_STATUSES = frozenset({429, 503})
# Methods that may be sent again after an answer was lost on the way back.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_retries` sends after the first at most; `max_wait` seconds of waiting in
    all, per call (a Retry-After beyond what is left raises at once rather than wait
    longer); without Retry-After, exponential backoff from `backoff` seconds, doubled
    each time up to `max_backoff`, with jitter (half of it random). After a transport
    error, at most `transport_retries` retries in all (default: `max_retries`), so a
    server that is not there can be given up on sooner than one that says when to
    come back."""

    max_retries: int = 3
    max_wait: float = 60.0
    backoff: float = 0.5
    max_backoff: float = 8.0
    transport_retries: int | None = None

    def backoff_delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (0 for the first) without Retry-After:
        within [half, all] of `backoff * 2**retry`, capped at `max_backoff`."""
        ceiling = min(self.max_backoff, self.backoff * float(2**retry))
        return ceiling / 2 + rng.random() * ceiling / 2

    def delay(
        self,
        method: str,
        outcome: httpx.Response | httpx.TransportError,
        retry: int,
        waited: float,
        rng: random.Random,
    ) -> float | None:
        """Seconds to wait before sending again, or None not to: `outcome` is the
        answer (or the transport error) of the send before retry number `retry`, after
        `waited` seconds of waiting in this call so far."""
        if retry >= self.max_retries:
            return None
        if isinstance(outcome, httpx.Response):
            if not _may_send_again(method, outcome):
                return None
            told = parse_retry_after(outcome.headers.get("retry-after"))
            wait = told if told is not None else self.backoff_delay(retry, rng)
        else:
            # A connection never made sent nothing: safe for any method. Anything
            # later (a read that failed, a timeout) may have reached the server.
            sent_nothing = isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout)
            if not sent_nothing and method.upper() not in IDEMPOTENT_METHODS:
                return None
            limit = self.max_retries if self.transport_retries is None else self.transport_retries
            if retry >= limit:
                return None
            wait = self.backoff_delay(retry, rng)
        if waited + wait > self.max_wait:
            return None
        return wait


def _may_send_again(method: str, response: httpx.Response) -> bool:
    """A 429, or a 503 to a read or to a write the server says it did not store."""
    if response.status_code not in RETRIED_STATUSES:
        return False
    return (
        response.status_code != 503
        or method.upper() in IDEMPOTENT_METHODS
        or _refused_before_writing(response)
    )


def _refused_before_writing(response: httpx.Response) -> bool:
    """A 503 that is slo-engine's problem document and does not say the write may have
    been stored."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "correlation_id" in body and not body.get("outcome_unknown")


@dataclass(frozen=True, slots=True)
class RetryEvent:
    """What an `on_retry` callback is told before the client waits and sends again."""

    method: str
    url: str
    retry: int  # 1 for the first retry
    delay: float  # seconds it waits now
    status: int | None  # the answer's status (429, 503), None after a transport error
    error: Exception | None  # the transport error, if that was the reason

    @property
    def reason(self) -> str:
        if self.status == 429:
            return "rate limited"
        if self.status is not None:
            return f"server unavailable ({self.status})"
        return f"could not reach the server ({type(self.error).__name__})"
