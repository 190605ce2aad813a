"""People sign in with bearer tokens from an OpenID Connect issuer, next to API keys.

When `AUTH_OIDC_ISSUER` is set, a bearer credential shaped like a JWT (three dot-separated
parts) is checked here instead of as an API key:

- its signature, with the issuer's published keys (JWKS) and one of
  `AUTH_OIDC_ALGORITHMS` (asymmetric only: RS256 and ES256 by default; a symmetric
  `HS*` token could be forged by anyone holding the secret, so none is accepted);
- `iss` equal to the issuer, `aud` naming `AUTH_OIDC_AUDIENCE`, `exp` not passed (and
  `nbf` reached), with `AUTH_OIDC_LEEWAY_SECONDS` of clock skew;
- the subject (`AUTH_OIDC_SUBJECT_CLAIM`, `sub` by default) names the person: it is the
  principal's name in logs and the key of their rate-limit buckets, so limits are per
  person, never per shared key; the groups claim (`AUTH_OIDC_GROUPS_CLAIM`) gives the
  scopes (access/group_scopes.py).

The verification is PyJWT's (a well-kept JOSE library with `cryptography` underneath;
no hand-written crypto). The keys are fetched here, asynchronously, from the `jwks_uri`
of the issuer's discovery document (or `AUTH_OIDC_JWKS_URL`), and kept for
`AUTH_OIDC_JWKS_CACHE_SECONDS`. A token naming a key id not in the kept set makes one
fetch (at most one per `AUTH_OIDC_JWKS_REFRESH_FLOOR_SECONDS`, shared by every request
waiting), which is how a rotated key is picked up at once, while a flood of made-up key
ids costs at most that one fetch per floor. When the
issuer cannot be reached, the keys already fetched go on being used; before any could
be fetched, a token is a 503 (the sign-in is unavailable, not the token invalid).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import orjson

from slo_engine.access.group_scopes import GroupScopes, groups_from_claim
from slo_engine.access.service import Principal
from slo_engine.errors import AuthenticationError, PermissionDeniedError, UnavailableError

logger = logging.getLogger(__name__)

# The most of a discovery document or key set read.
MAX_DOCUMENT_BYTES = 1024 * 1024
# What a 503 for unreachable issuer keys asks clients to wait.
RETRY_AFTER_SECONDS = 5
# Principal names (subjects) longer than this are refused: they key rate-limit buckets.
MAX_SUBJECT_LENGTH = 255


def looks_like_token(presented: str) -> bool:
    """A JWT in compact form (header.payload.signature), not an API key.

    >>> looks_like_token("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), looks_like_token("slo_0a_b")
    (True, False)
    """
    return presented.count(".") == 2 and presented.startswith("eyJ")


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    jwks_url: str | None  # None: from the issuer's discovery document
    subject_claim: str
    groups_claim: str
    group_scopes: GroupScopes
    jwks_cache_seconds: float
    # A key id the kept set lacks makes at most one fetch per this many seconds.
    jwks_refresh_floor_seconds: float
    leeway_seconds: float
    timeout_seconds: float


class IssuerUnreachableError(Exception):
    """The discovery document or key set could not be fetched or read."""


class SigningKeys:
    """The issuer's public keys by key id, fetched when needed and kept for a while."""

    def __init__(
        self,
        config: OidcConfig,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._client = client
        self._clock = clock
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # the last successful fetch
        self._attempted_at: float | None = None
        self._jwks_url = config.jwks_url
        self._fetching: asyncio.Task[None] | None = None
        self._discovery: dict[str, Any] | None = None
        self._discovering: asyncio.Task[dict[str, Any]] | None = None
        self._discovery_failed_at: float | None = None
        self.fetches = 0  # key-set fetches made (tests, logs)

    async def key_for(self, key_id: str | None) -> jwt.PyJWK:
        now = self._clock()
        expired = (
            self._fetched_at is None or now - self._fetched_at >= self._config.jwks_cache_seconds
        )
        missing = self._find(key_id) is None
        may_refetch = (
            self._attempted_at is None
            or now - self._attempted_at >= self._config.jwks_refresh_floor_seconds
        )
        if expired or (missing and may_refetch):
            try:
                await self._refresh()
            except IssuerUnreachableError as error:
                if not self._keys:
                    raise UnavailableError(
                        f"Sign-in is unavailable: the issuer's keys could not be fetched "
                        f"({error}).",
                        retry_after_seconds=RETRY_AFTER_SECONDS,
                    ) from error
                logger.warning("OIDC keys not refreshed, using the ones kept: %s", error)
        found = self._find(key_id)
        if found is None:
            raise AuthenticationError(
                "The token is signed with a key the issuer does not publish.", reason="invalid"
            )
        return found

    def _find(self, key_id: str | None) -> jwt.PyJWK | None:
        if key_id is None and len(self._keys) == 1:
            # A token without `kid` is accepted when the issuer has one key only.
            return next(iter(self._keys.values()))
        return self._keys.get(key_id)

    async def _refresh(self) -> None:
        # Every request that needs keys now waits on one fetch.
        if self._fetching is None or self._fetching.done():
            self._attempted_at = self._clock()
            self._fetching = asyncio.ensure_future(self._fetch())
        await asyncio.shield(self._fetching)

    async def _fetch(self) -> None:
        self.fetches += 1
        if self._jwks_url is None:
            self._jwks_url = await self._discover_jwks_url()
        document = await self._json(self._jwks_url)
        try:
            key_set = jwt.PyJWKSet.from_dict(document)
        except (jwt.PyJWKSetError, jwt.InvalidKeyError, TypeError, ValueError) as error:
            raise IssuerUnreachableError(f"{self._jwks_url}: no usable key: {error}") from error
        self._keys = {key.key_id: key for key in key_set.keys}
        self._fetched_at = self._clock()

    async def discovery(self) -> dict[str, Any]:
        """The issuer's discovery document, fetched once and kept (the explorer's
        sign-in reads its endpoints); IssuerUnreachableError when it cannot be had.

        Callers at once share one fetch, and after a failure none is tried again for
        JWKS_REFRESH_FLOOR_SECONDS: the explorer's public /ui/config.json asks here, and
        must not turn an issuer outage into a stream of outgoing requests."""
        if self._discovery is not None:
            return self._discovery
        failed_at = self._discovery_failed_at
        if failed_at is not None and (
            self._clock() - failed_at < self._config.jwks_refresh_floor_seconds
        ):
            raise IssuerUnreachableError("the issuer's discovery document failed just now")
        if self._discovering is None or self._discovering.done():
            self._discovering = asyncio.ensure_future(self._fetch_discovery())
        try:
            self._discovery = await asyncio.shield(self._discovering)
        except IssuerUnreachableError:
            self._discovery_failed_at = self._clock()
            raise
        return self._discovery

    async def _fetch_discovery(self) -> dict[str, Any]:
        issuer = self._config.issuer
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._json(url)
        # OpenID Connect Discovery: the document must name the issuer asked for.
        if document.get("issuer") != issuer:
            raise IssuerUnreachableError(f"{url} names the issuer {document.get('issuer')!r}")
        return document

    async def _discover_jwks_url(self) -> str:
        document = await self.discovery()
        url = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise IssuerUnreachableError(f"{url} has no jwks_uri")
        return jwks_uri

    async def _json(self, url: str) -> dict[str, Any]:
        try:
            async with self._client.stream(
                "GET", url, timeout=self._config.timeout_seconds, follow_redirects=False
            ) as response:
                if response.status_code != 200:
                    raise IssuerUnreachableError(f"{url} answered {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise IssuerUnreachableError(f"{url} is larger than {MAX_DOCUMENT_BYTES} B")
        except httpx.HTTPError as error:
            raise IssuerUnreachableError(f"{url}: {type(error).__name__}: {error}") from error
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise IssuerUnreachableError(f"{url} is not JSON") from error
        if not isinstance(document, dict):
            raise IssuerUnreachableError(f"{url} is not a JSON object")
        return document


# What each refusal of PyJWT's says to the client (the class names are PyJWT's).
_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired", "The token has expired."),
    (jwt.ImmatureSignatureError, "invalid", "The token is not valid yet (nbf or iat)."),
    (jwt.InvalidAudienceError, "invalid", "The token is not meant for this service (aud)."),
    (jwt.InvalidIssuerError, "invalid", "The token is from another issuer (iss)."),
    (jwt.MissingRequiredClaimError, "invalid", "The token lacks a required claim."),
    (jwt.InvalidSignatureError, "invalid", "The token's signature does not verify."),
)


class OidcVerifier:
    """Turns a bearer token into a principal, or refuses it."""

    def __init__(self, config: OidcConfig, keys: SigningKeys) -> None:
        self._config = config
        self._keys = keys

    @property
    def keys(self) -> SigningKeys:
        return self._keys

    async def principal(self, token: str) -> Principal:
        config = self._config
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthenticationError("The token is malformed.", reason="malformed") from error
        algorithm = header.get("alg")
        if algorithm not in config.algorithms:
            raise AuthenticationError(
                f"The token is signed with {algorithm!r}; this service accepts "
                f"{', '.join(config.algorithms)}.",
                reason="invalid",
            )
        kid = header.get("kid")
        key = await self._keys.key_for(kid if isinstance(kid, str) else None)
        claims = self._verified_claims(token, key, algorithm)
        subject = claims.get(config.subject_claim)
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
            raise AuthenticationError(
                f"The token's {config.subject_claim!r} claim does not name a person.",
                reason="invalid",
            )
        scopes = config.group_scopes.scopes_for(groups_from_claim(claims.get(config.groups_claim)))
        if not scopes:
            raise PermissionDeniedError(
                f"'{subject}' is signed in, but none of the groups in its "
                f"{config.groups_claim!r} claim is given a scope here."
            )
        return Principal(name=subject, key_id=f"oidc:{subject}", scopes=scopes)

    def _verified_claims(self, token: str, key: jwt.PyJWK, algorithm: str) -> Mapping[str, Any]:
        config = self._config
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            for kind, reason, detail in _REFUSALS:
                if isinstance(error, kind):
                    raise AuthenticationError(detail, reason=reason) from error
            raise AuthenticationError("The token is not valid.", reason="invalid") from error
