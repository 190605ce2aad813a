"""How the explorer's files are served (no browser needed): the redirect, the headers,
the package's files, and EXPLORER_ENABLED=false; and the API docs pages' (/docs, /redoc)
files and headers, and API_DOCS_ENABLED=false."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from slo_engine.app import create_app
from slo_engine.settings import Settings
from tests.e2e.conftest import settings_for
from tests.oidc_issuer import running_issuer


def test_root_redirects_to_the_page_served_with_security_headers(client: TestClient) -> None:
    redirect = client.get("/", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"] == "/ui/"
    page = client.get("/ui/", headers={"Authorization": ""})  # the page itself needs no key
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<script" in page.text and 'type="module"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    module = client.get("/ui/js/app.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert client.get("/ui/js/missing.js").status_code == 404


def test_the_page_can_be_switched_off(database_url: str) -> None:
    app = create_app(settings_for(database_url, explorer_enabled=False))
    with TestClient(app, raise_server_exceptions=False) as off:
        assert off.get("/", follow_redirects=False).status_code == 404
        assert off.get("/ui/").status_code == 404


def test_the_api_docs_are_served_from_this_origin_only(client: TestClient) -> None:
    for path, script in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        page = client.get(path, headers={"Authorization": ""})  # the pages need no key
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert f'src="/docs/assets/{script}"' in page.text
        # Nothing from another origin: no absolute URL in the page at all.
        assert "http://" not in page.text and "https://" not in page.text, page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
        assert page.headers["x-content-type-options"] == "nosniff"
        asset = client.get(f"/docs/assets/{script}")
        assert asset.status_code == 200 and len(asset.content) > 100_000
        assert asset.headers["content-type"].startswith("text/javascript")
    # The API's answers carry no page policy.
    assert "content-security-policy" not in client.get("/api/v1/services").headers


def test_the_api_docs_can_be_switched_off(database_url: str) -> None:
    app = create_app(settings_for(database_url, api_docs_enabled=False))
    with TestClient(app, raise_server_exceptions=False) as off:
        assert off.get("/docs").status_code == 404
        assert off.get("/redoc").status_code == 404
        assert off.get("/docs/assets/swagger-ui-bundle.js").status_code == 404
        assert off.get("/openapi.json").status_code == 200


def test_framing_is_refused_unless_origins_are_allowed(
    client: TestClient, database_url: str
) -> None:
    page = client.get("/ui/")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    allowed = "https://backstage.example.com, self https://*.portal.example:8443"
    app = create_app(settings_for(database_url, explorer_frame_ancestors=allowed))
    with TestClient(app, raise_server_exceptions=False) as framed:
        for path in ("/ui/", "/ui/js/app.js", "/ui/config.json"):
            headers = framed.get(path).headers
            assert (
                "frame-ancestors https://backstage.example.com 'self' "
                "https://*.portal.example:8443" in headers["content-security-policy"]
            ), path
            assert "x-frame-options" not in headers


@pytest.mark.parametrize(
    "origin",
    ["backstage.example.com", "https://x.example.com/path", "'unsafe-inline'", "https://a;b"],
)
def test_a_frame_ancestor_that_is_no_origin_stops_the_start(origin: str) -> None:
    with pytest.raises(ValidationError, match="not an origin"):
        Settings(explorer_frame_ancestors=origin)


def test_the_page_config_says_how_to_sign_in(client: TestClient, database_url: str) -> None:
    config = client.get("/ui/config.json", headers={"Authorization": ""})
    assert config.status_code == 200 and config.headers["cache-control"] == "no-store"
    assert config.json() == {
        "auth": True,
        "proxy_user": None,
        "oidc": None,
        "oidc_unavailable": None,
        "backstage_url": None,
    }
    app = create_app(
        settings_for(
            database_url,
            auth_proxy_header="X-Forwarded-User",
            auth_trusted_proxies="10.0.0.0/8",
            explorer_backstage_url="https://backstage.example.com/",
        )
    )
    with TestClient(app, raise_server_exceptions=False) as proxied:
        # TestClient's peer is not among the trusted proxies: the header names nobody.
        answer = proxied.get("/ui/config.json", headers={"X-Forwarded-User": "bob"}).json()
        assert answer["proxy_user"] is None
        assert answer["backstage_url"] == "https://backstage.example.com"


def test_an_unreachable_issuer_leaves_the_page_on_keys(database_url: str) -> None:
    from tests.local_servers import free_port

    issuer = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(
        database_url,
        auth_oidc_issuer=issuer,
        auth_oidc_audience="slo-engine",
        explorer_oidc_client_id="explorer",
        auth_oidc_timeout_seconds=1,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as signed:
        answer = signed.get("/ui/config.json").json()
        assert answer["oidc"] is None
        assert "could not be asked for its endpoints" in answer["oidc_unavailable"]
        assert (
            "connect-src 'self' " + issuer in signed.get("/ui/").headers["content-security-policy"]
        )


def test_an_issuer_failing_discovery_is_asked_once_per_floor(database_url: str) -> None:
    """/ui/config.json needs no credential: a failing issuer must not be asked again on
    every call (AUTH_OIDC_JWKS_REFRESH_FLOOR_SECONDS between attempts)."""
    with running_issuer() as issuer:
        settings = settings_for(
            database_url,
            # The document names the issuer without the slash: refused, every time.
            auth_oidc_issuer=issuer.url + "/",
            auth_oidc_audience="slo-engine",
            explorer_oidc_client_id="explorer",
            auth_oidc_jwks_refresh_floor_seconds=60,
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as signed:
            for _ in range(5):
                answer = signed.get("/ui/config.json").json()
                assert answer["oidc"] is None and answer["oidc_unavailable"]
                assert signed.get("/ui/").status_code == 200
        assert issuer.discovery_requests == 1


def test_the_first_page_allows_a_token_endpoint_on_another_origin(database_url: str) -> None:
    """The page the issuer sends people back to may be the first this process serves:
    its policy allows the token exchange already (the endpoint is learnt first)."""
    with running_issuer() as issuer:
        issuer.token_origin = "https://tokens.example.com"
        settings = settings_for(
            database_url,
            auth_oidc_issuer=issuer.url,
            auth_oidc_audience="slo-engine",
            explorer_oidc_client_id="explorer",
        )
        with TestClient(create_app(settings), raise_server_exceptions=False) as signed:
            policy = signed.get("/ui/").headers["content-security-policy"]
    assert f"connect-src 'self' {issuer.url} https://tokens.example.com;" in policy
