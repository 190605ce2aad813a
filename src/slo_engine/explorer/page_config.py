"""What the explorer page learns from the service before its first API call
(GET /ui/config.json), and the page's Content-Security-Policy, which depends on the same
settings: who may frame it (EXPLORER_FRAME_ANCESTORS) and which issuer it may exchange a
sign-in code with.

The page signs people in by the first of these that applies:
- the request came through the trusted authenticating proxy, which named a person: the
  page sends the proxy's cookie along (`same-origin` credentials) and asks for nothing;
- an OpenID Connect client id is configured for the page: the authorization code flow
  with PKCE, in the browser, against AUTH_OIDC_ISSUER's endpoints (from its discovery
  document, fetched by the service, so the page needs no cross-origin read but the
  token exchange);
- otherwise an API key, pasted once per tab;
- with AUTH_ENABLED=false, nothing at all.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from slo_engine.access.dependencies import ACCESS_CONTROL
from slo_engine.access.oidc import IssuerUnreachableError
from slo_engine.errors import SloEngineError
from slo_engine.infra.components import SETTINGS
from slo_engine.settings import Settings
from slo_engine.sign_in_policy import frame_ancestors

logger = logging.getLogger(__name__)

CONFIG_PATH = "/ui/config.json"


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, or None.

    >>> origin_of("https://id.example.com/realms/x/protocol/openid-connect/token")
    'https://id.example.com'
    >>> origin_of("http://127.0.0.1:8080/token"), origin_of("javascript:alert(1)")
    ('http://127.0.0.1:8080', None)
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(
    frame_sources: tuple[str, ...], connect_sources: tuple[str, ...]
) -> str:
    """The page's policy: its own scripts, styles and API only (no inline code, no CDN),
    the sign-in token exchange with the issuer, and framing by the configured origins.

    >>> content_security_policy((), ())[-22:]
    "frame-ancestors 'none'"
    >>> "connect-src 'self' https://id.example.com;" in content_security_policy(
    ...     ("https://backstage.example.com",), ("https://id.example.com",))
    True
    """
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(("connect-src 'self'", *connect_sources)),
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {' '.join(frame_sources) or repr('none')}",
        )
    )


class PagePolicy:
    """The security headers of the page's files, from the settings and, once fetched,
    the issuer's token endpoint (which may live on another origin than the issuer)."""

    def __init__(self, settings: Settings) -> None:
        self.frame_sources = frame_ancestors(settings.explorer_frame_ancestors)
        issuer = settings.auth_oidc_issuer if settings.explorer_oidc_client_id else None
        self._connect: tuple[str, ...] = tuple(filter(None, [issuer and origin_of(issuer)]))
        self._signs_in = bool(issuer and settings.auth_enabled)
        self._token_endpoint_known = False

    async def learn_token_endpoint(self, app: FastAPI) -> None:
        """Allow the issuer's token endpoint once known (fetched here when the page's
        sign-in is configured and it is not yet; an issuer that cannot be asked leaves
        the policy as it is, and the page on keys: /ui/config.json says why)."""
        if not self._signs_in or self._token_endpoint_known:
            return
        oidc = ACCESS_CONTROL.of(app).sign_in.oidc
        if oidc is None:
            return
        try:
            document = await oidc.keys.discovery()
        except IssuerUnreachableError:
            return
        endpoint = document.get("token_endpoint")
        if isinstance(endpoint, str):
            self.allow_connect(endpoint)
            self._token_endpoint_known = True

    def allow_connect(self, url: str) -> None:
        origin = origin_of(url)
        if origin is not None and origin not in self._connect:
            self._connect = (*self._connect, origin)

    def headers(self) -> dict[str, str]:
        headers = {
            "Content-Security-Policy": content_security_policy(self.frame_sources, self._connect),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        if not self.frame_sources:
            # For browsers that predate frame-ancestors; with origins allowed it would
            # override them (it cannot name an origin), so it is left out then.
            headers["X-Frame-Options"] = "DENY"
        return headers


async def page_config(request: Request, policy: PagePolicy) -> dict[str, Any]:
    """The document at /ui/config.json (see the module's docstring)."""
    app = request.app
    settings: Settings = SETTINGS.of(app)
    sign_in = ACCESS_CONTROL.of(app).sign_in
    proxy_user = None
    if settings.auth_enabled and sign_in.proxy is not None:
        client = request.client.host if request.client else None
        try:
            person = sign_in.proxy.principal(client, request.headers)
        except SloEngineError:
            person = None  # the page's API calls will say why, as problems
        proxy_user = person.name if person else None
    oidc: dict[str, Any] | None = None
    oidc_unavailable = None
    if settings.auth_enabled and settings.explorer_oidc_client_id and sign_in.oidc is not None:
        try:
            document = await sign_in.oidc.keys.discovery()
            oidc = _oidc_client(settings, document)
            policy.allow_connect(oidc["token_endpoint"])
        except (IssuerUnreachableError, KeyError, ValueError) as error:
            logger.warning("the explorer's sign-in is unavailable: %s", error)
            oidc_unavailable = f"The issuer could not be asked for its endpoints ({error})."
    return {
        "auth": settings.auth_enabled,
        "proxy_user": proxy_user,
        "oidc": oidc,
        "oidc_unavailable": oidc_unavailable,
        "backstage_url": settings.explorer_backstage_url,
    }


def _oidc_client(settings: Settings, document: dict[str, Any]) -> dict[str, Any]:
    endpoints = {}
    for name in ("authorization_endpoint", "token_endpoint"):
        url = document[name]
        if not isinstance(url, str) or origin_of(url) is None:
            raise ValueError(f"the discovery document's {name} is not an http(s) URL")
        endpoints[name] = url
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ValueError("the issuer does not support PKCE with S256")
    return {
        "issuer": settings.auth_oidc_issuer,
        "client_id": settings.explorer_oidc_client_id,
        "scope": settings.explorer_oidc_scope,
        "token": settings.explorer_oidc_token,
        **endpoints,
    }


def install_page_config(app: FastAPI, policy: PagePolicy) -> None:
    @app.get(CONFIG_PATH, include_in_schema=False)
    async def explorer_config(request: Request) -> Response:
        return Response(
            orjson.dumps(await page_config(request, policy)),
            media_type="application/json",
            headers={**policy.headers(), "Cache-Control": "no-store"},
        )
