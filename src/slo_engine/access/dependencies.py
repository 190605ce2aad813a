"""The access check every `/api/v1` route except health declares: who, scope, rate.

`authorize(scope, rate_class)` is a FastAPI dependency. It finds who is calling: the
person a trusted authenticating proxy names (access/proxy.py), else the bearer
credential, a sign-in token when it is shaped like one and an issuer is configured
(access/oidc.py), else an API key from `Authorization: Bearer <key>` or
`X-API-Key: <key>`. It checks the caller's scope, then takes a token from the caller's
bucket for the endpoint class: per key, or per person for people signed in. The
rate-limit headers of the decision are noted on the request's `RequestNotes` for
`RateLimitHeadersMiddleware` (infra/middleware.py). Failures raise the errors of
errors.py, which infra/http_errors.py renders as problem details.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from slo_engine.access.failures import FailedAuthentications
from slo_engine.access.keys import Scope, grants
from slo_engine.access.oidc import looks_like_token
from slo_engine.access.ratelimit.headers import rate_limit_headers
from slo_engine.access.ratelimit.limiter import RateLimiter
from slo_engine.access.service import ANONYMOUS, Authenticator, Principal
from slo_engine.access.sign_in import NO_SIGN_IN, SignIn
from slo_engine.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from slo_engine.infra.components import AppComponent
from slo_engine.infra.middleware import notes_of
from slo_engine.live.reads import LIVE_GRAPH, LiveGraphDep
from slo_engine.observability.metrics import AUTH_FAILURES, RATE_LIMIT_DECISIONS
from slo_engine.rate_policy import RateClass, RatePolicy, parse_rate

# The name of the failed-authentication policy in rate-limit headers.
AUTH_FAILURE_POLICY = "auth-failures"

# auto_error=False: a missing key is our 401 problem, not FastAPI's 403.
_bearer = HTTPBearer(
    auto_error=False,
    description="Authorization: Bearer <API key>, or a sign-in token (JWT) from the "
    "configured OpenID Connect issuer",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The API key in its own header"
)


@dataclass(frozen=True, slots=True)
class AccessControl:
    """What the access check works with, built once per process."""

    enabled: bool  # AUTH_ENABLED
    authenticator: Authenticator
    failed_authentications: FailedAuthentications
    rate_limiter: RateLimiter
    # The service-wide policy of each endpoint class (a key may have its own).
    rate_limits: dict[RateClass, RatePolicy]
    # How people sign in besides keys (none by default).
    sign_in: SignIn = NO_SIGN_IN


ACCESS_CONTROL: AppComponent[AccessControl] = AppComponent("access_control")


def _policy(access: AccessControl, principal: Principal, rate_class: RateClass) -> RatePolicy:
    if rate_class is RateClass.INGESTION:
        own, default = principal.rate_limit_ingestion, access.rate_limits[RateClass.INGESTION]
    else:
        own, default = principal.rate_limit_query, access.rate_limits[RateClass.QUERY]
    return parse_rate(own) if own is not None else default


AccessCheck = Callable[..., Awaitable[Principal]]


def authorize(scope: Scope, rate_class: RateClass) -> AccessCheck:
    async def check_access(
        request: Request,
        access: Annotated[AccessControl, Depends(ACCESS_CONTROL)],
        live: LiveGraphDep,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        api_key: Annotated[str | None, Depends(_api_key_header)],
    ) -> Principal:
        presented = bearer.credentials if bearer is not None else api_key
        client = request.client.host if request.client else "unknown"
        if access.enabled:
            principal = await _caller(access, request, client, presented, live.access_revision)
            if not grants(principal.scopes, scope):
                held = ", ".join(sorted(principal.scopes)) or "none"
                raise PermissionDeniedError(
                    f"'{principal.name}' has the scopes [{held}]; this endpoint needs '{scope}'."
                )
            bucket = f"{principal.key_id}:{rate_class}"
        else:
            principal = ANONYMOUS
            bucket = f"client:{client}:{rate_class}"
        notes = notes_of(request.scope)
        notes.key_name = principal.name
        decision = await access.rate_limiter.take(bucket, _policy(access, principal, rate_class))
        RATE_LIMIT_DECISIONS.labels(
            str(rate_class),
            str(access.rate_limiter.last_backend),
            "allowed" if decision.allowed else "refused",
        ).inc()
        headers = rate_limit_headers(decision, str(rate_class))
        notes.response_headers = headers
        if not decision.allowed:
            raise RateLimitedError(
                f"Too many {rate_class} requests for '{principal.name}' "
                f"({decision.policy}); retry in {decision.retry_after_seconds} s.",
                retry_after_seconds=decision.retry_after_seconds,
                headers=headers,
            )
        return principal

    return check_access


async def _caller(
    access: AccessControl,
    request: Request,
    client: str,
    presented: str | None,
    access_revision: int,
) -> Principal:
    proxy = access.sign_in.proxy
    if proxy is not None:
        person = proxy.principal(client, request.headers)
        if person is not None:
            return person
    # A sign-in token when an issuer is configured and the credential is shaped like one.
    token = (
        presented.strip()
        if access.sign_in.oidc is not None
        and presented is not None
        and looks_like_token(presented.strip())
        else None
    )
    if token is None:
        # A token is checked without any database work, so only keys are refused
        # unread while the address is limited.
        _refuse_if_limited(access, client, presented)
    # The key cache is valid for the access revision the live graph has applied (kept
    # current beside the requests: live/change_feed.py), so a known key costs no
    # database work.
    return await _authenticated(access, client, presented, token, access_revision)


def _refuse_if_limited(access: AccessControl, client: str, presented: str | None) -> None:
    """A client whose failures are being limited is refused before any database work,
    unless it presents a key this process already knows to be valid, or a key that may
    exist and the address has not had one looked up in the last second (a valid key
    behind the same address as a guesser gets through; access/failures.py)."""
    failures = access.failed_authentications
    seconds = failures.limited_for(client)
    authenticator = access.authenticator
    if seconds is None or authenticator.holds_valid(presented):
        return
    if authenticator.may_exist(presented) and failures.may_look_up(client):
        return
    AUTH_FAILURES.labels("limited_address", "limited").inc()
    raise RateLimitedError(
        f"Too many failed authentications from this address; retry in {seconds} s.",
        retry_after_seconds=seconds,
        headers={},
    )


async def _authenticated(
    access: AccessControl,
    client: str,
    presented: str | None,
    token: str | None,
    access_revision: int,
) -> Principal:
    """The principal of the presented key, or of `token` (the credential, when it is a
    sign-in token); a failure is a 401, or a 429 once this address (or the stored key
    it named) has failed too often (access/failures.py)."""
    oidc = access.sign_in.oidc
    try:
        if token is not None and oidc is not None:
            return await oidc.principal(token)
        return await access.authenticator.authenticate(presented, access_revision)
    except AuthenticationError as failure:
        failures = access.failed_authentications
        refused = await failures.record(client, failure.stored_key_id)
        AUTH_FAILURES.labels(failure.reason, "refused" if refused is None else "limited").inc()
        if refused is None:
            raise
        raise RateLimitedError(
            f"Too many failed authentications ({failures.policy}); retry in "
            f"{refused.retry_after_seconds} s.",
            retry_after_seconds=refused.retry_after_seconds,
            headers=rate_limit_headers(refused, AUTH_FAILURE_POLICY),
        ) from failure


async def check_without_injection(check: AccessCheck, request: Request) -> Principal:
    """Run `check` (one of the access checks below) with the arguments FastAPI's
    dependency resolution would give it, taken the same way (the credentials through the
    same security schemes): for a route's fast lane (infra/fast_lane.py)."""
    app = request.app
    return await check(
        request=request,
        access=ACCESS_CONTROL.of(app),
        live=LIVE_GRAPH.of(app),
        bearer=await _bearer(request),
        api_key=await _api_key_header(request),
    )


read_access = authorize(Scope.READ, RateClass.QUERY)
write_access = authorize(Scope.WRITE, RateClass.INGESTION)
admin_read_access = authorize(Scope.ADMIN, RateClass.QUERY)
admin_write_access = authorize(Scope.ADMIN, RateClass.INGESTION)
