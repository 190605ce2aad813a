"""How the explorer's files are served (no browser needed): the redirect, the headers,
the package's files, and EXPLORER_ENABLED=false."""

from __future__ import annotations

from fastapi.testclient import TestClient

from slo_engine.app import create_app
from tests.e2e.conftest import settings_for


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


def test_the_cdn_loaded_api_docs_can_be_switched_off(database_url: str) -> None:
    app = create_app(settings_for(database_url, api_docs_enabled=False))
    with TestClient(app, raise_server_exceptions=False) as off:
        assert off.get("/docs").status_code == 404
        assert off.get("/redoc").status_code == 404
        assert off.get("/openapi.json").status_code == 200
    with TestClient(create_app(settings_for(database_url))) as on:
        assert "swagger-ui" in on.get("/docs").text
