"""Rate-limit response fields, formatted in one place (the IETF draft still changes).

Sent on every rate-limited response, allowed or refused:

* `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`: the de-facto
  fields: the bucket's capacity, the whole tokens left, and the seconds until the bucket
  is full again;
* `RateLimit-Policy` and `RateLimit`: draft-ietf-httpapi-ratelimit-headers-10, one
  policy named after the endpoint class: quota `q` per window `w` seconds, and `r`
  remaining with `t` seconds until the quota is restored;
* on a refusal also `Retry-After`: whole seconds until one token is back.
"""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from slo_engine.access.ratelimit.bucket import Decision
from slo_engine.infra.middleware import HttpMiddleware, notes_of


def rate_limit_headers(decision: Decision, policy_name: str) -> dict[str, str]:
    """
    >>> from slo_engine.access.ratelimit.bucket import decision_of
    >>> from slo_engine.rate_policy import parse_rate
    >>> headers = rate_limit_headers(decision_of(True, 9.5, parse_rate("10/minute")), "query")
    >>> headers["RateLimit"], headers["RateLimit-Policy"], headers["X-RateLimit-Reset"]
    ('"query";r=9;t=3', '"query";q=10;w=60', '3')
    """
    policy = decision.policy
    headers = {
        "X-RateLimit-Limit": str(policy.capacity),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_seconds),
        "RateLimit-Policy": f'"{policy_name}";q={policy.capacity};w={policy.period_seconds}',
        "RateLimit": f'"{policy_name}";r={decision.remaining};t={decision.reset_seconds}',
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after_seconds)
    return headers


class RateLimitHeadersMiddleware(HttpMiddleware):
    """Adds the headers the access check noted (`RequestNotes.response_headers`) to the
    answer of the same request, whatever the answer is."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        notes = notes_of(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = notes.response_headers
                if headers:
                    existing = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in headers.items()
                        if name.lower().encode("latin-1") not in existing
                    ]
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
