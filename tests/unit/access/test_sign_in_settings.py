"""Sign-in settings that would let the wrong tokens or headers in are refused at start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from slo_engine.settings import Settings


def test_an_issuer_needs_an_audience() -> None:
    with pytest.raises(ValidationError, match="needs AUTH_OIDC_AUDIENCE"):
        Settings(auth_oidc_issuer="https://id.example.com")
    assert (
        Settings(
            auth_oidc_issuer="https://id.example.com", auth_oidc_audience="slo"
        ).auth_oidc_audience
        == "slo"
    )


@pytest.mark.parametrize("algorithms", ["HS256", "RS256,none", ""])
def test_only_asymmetric_algorithms(algorithms: str) -> None:
    with pytest.raises(ValidationError, match="asymmetric signatures only"):
        Settings(auth_oidc_algorithms=algorithms)


def test_algorithms_are_normalised() -> None:
    assert Settings(auth_oidc_algorithms=" ES256 , RS256").auth_oidc_algorithms == "ES256,RS256"


def test_a_proxy_header_needs_trusted_proxies() -> None:
    with pytest.raises(ValidationError, match="needs AUTH_TRUSTED_PROXIES"):
        Settings(auth_proxy_header="X-Forwarded-User")
    with pytest.raises(ValidationError, match="does not appear to be an IPv4 or IPv6"):
        Settings(auth_proxy_header="X-Forwarded-User", auth_trusted_proxies="10.0.0.0/8, proxy")
    allowed = Settings(auth_proxy_header="X-Forwarded-User", auth_trusted_proxies="10.0.0.0/8")
    assert allowed.auth_trusted_proxies == "10.0.0.0/8"
