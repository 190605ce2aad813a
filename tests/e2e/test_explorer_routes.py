"""How the explorer's files are served (no browser needed): the redirect, the headers,
the package's files, and EXPLORER_ENABLED=false; and the API docs pages' (/docs, /redoc)
files and headers, and API_DOCS_ENABLED=false."""

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
