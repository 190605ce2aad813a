"""The ways people sign in besides API keys, built once per process from the settings:
an OpenID Connect issuer's tokens (access/oidc.py) and an authenticating proxy's header
(access/proxy.py). Either, both or neither may be configured."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from slo_engine.access.group_scopes import GroupScopes
from slo_engine.access.oidc import OidcConfig, OidcVerifier, SigningKeys
from slo_engine.access.proxy import TrustedProxy
from slo_engine.settings import Settings
from slo_engine.sign_in_policy import parse_networks


@dataclass(frozen=True, slots=True)
class SignIn:
    oidc: OidcVerifier | None
    proxy: TrustedProxy | None
    # The client fetching the issuer's keys (None without OIDC), closed at shutdown.
    http: httpx.AsyncClient | None

    @property
    def for_people(self) -> bool:
        """Whether people sign in without an API key."""
        return self.oidc is not None or self.proxy is not None

    async def aclose(self) -> None:
        if self.http is not None:
            await self.http.aclose()


NO_SIGN_IN = SignIn(None, None, None)


def sign_in_from(settings: Settings) -> SignIn:
    group_scopes = GroupScopes.parse(
        settings.auth_admin_groups, settings.auth_write_groups, settings.auth_read_groups
    )
    oidc = http = None
    if settings.auth_oidc_issuer and settings.auth_oidc_audience:
        config = OidcConfig(
            issuer=settings.auth_oidc_issuer,
            audience=settings.auth_oidc_audience,
            algorithms=tuple(settings.auth_oidc_algorithms.split(",")),
            jwks_url=settings.auth_oidc_jwks_url,
            subject_claim=settings.auth_oidc_subject_claim,
            groups_claim=settings.auth_oidc_groups_claim,
            group_scopes=group_scopes,
            jwks_cache_seconds=settings.auth_oidc_jwks_cache_seconds,
            jwks_refresh_floor_seconds=settings.auth_oidc_jwks_refresh_floor_seconds,
            leeway_seconds=settings.auth_oidc_leeway_seconds,
            timeout_seconds=settings.auth_oidc_timeout_seconds,
        )
        http = httpx.AsyncClient(follow_redirects=False)
        oidc = OidcVerifier(config, SigningKeys(config, http))
    proxy = None
    if settings.auth_proxy_header:
        proxy = TrustedProxy(
            user_header=settings.auth_proxy_header.lower(),
            groups_header=(settings.auth_proxy_groups_header or "").lower() or None,
            networks=parse_networks(settings.auth_trusted_proxies),
            group_scopes=group_scopes,
        )
    return SignIn(oidc, proxy, http)
