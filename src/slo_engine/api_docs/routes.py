"""/docs (Swagger UI) and /redoc (ReDoc), from files installed with the service.

Their scripts and styles come from the PyPI package `fastapi-offline`, which ships
Swagger UI's and ReDoc's browser bundles as package data: the pages work without
internet access, no third-party origin runs script on this one (the explorer's origin,
whose tab holds an API key; docs/explorer.md), and upgrading them is a dependency bump,
not files copied into this repository. The pages themselves are FastAPI's
(`get_swagger_ui_html`, `get_redoc_html`) pointed at those files.

Each page has its own Content-Security-Policy (the API's answers carry none, and the
explorer keeps its own): scripts from this origin only, the OpenAPI document (and Swagger
UI's "Try it out") from this origin only, images from this origin or `data:` (Swagger
UI's CSS draws its icons so). What differs:

- Swagger UI is started by an inline script in FastAPI's page, allowed by its SHA-256
  digest, computed from the page as served (never 'unsafe-inline' for scripts).
- ReDoc styles itself with styled-components, which adds `<style>` elements as it
  renders, two of them while its bundle loads, before any nonce could be given to it:
  its page allows inline styles ('unsafe-inline' for styles only; it runs no inline
  script at all), and `blob:` workers, which ReDoc makes for its search. ReDoc 2 also
  draws Redocly's logo from cdn.redoc.ly in its menu, always: the policy blocks that
  image in the browser, so the request never leaves it (tests/e2e/test_api_docs_page.py).
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

SWAGGER_UI_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
# The installed package and folder that hold swagger-ui-bundle.js, swagger-ui.css,
# redoc.standalone.js and favicon.png.
ASSETS_PACKAGE = ("fastapi_offline", "static")

# Swagger UI's options beyond FastAPI's defaults. validatorUrl: none, or Swagger UI
# would send the document's URL to validator.swagger.io to draw a badge.
# displayOperationId: the ids are part of the contract (docs/api.md), so show them.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None, "displayOperationId": True}

# What both pages' policies say (see the module's docstring).
_POLICY_COMMON = (
    "default-src 'none'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
REDOC_POLICY = "; ".join(
    (
        *_POLICY_COMMON,
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "worker-src blob:",
    )
)

# Headers of the pages and of their files, as the explorer's (docs/explorer.md).
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # The files' names carry no version: revalidate (a cheap 304) and see an upgrade.
    "Cache-Control": "no-cache",
}


def inline_script_digests(html: str) -> list[str]:
    """CSP sources for the inline scripts (`<script>` without attributes) of `html`.

    >>> inline_script_digests('<script src="a.js"></script><script>go()</script>')
    ["'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='"]
    """
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
        for text in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    ]


def swagger_ui_policy(html: str) -> str:
    """The Swagger UI page's policy: its files and its inline script, nothing else."""
    scripts = " ".join(["'self'", *inline_script_digests(html)])
    return "; ".join((*_POLICY_COMMON, f"script-src {scripts}", "style-src 'self'"))


def _served(page: HTMLResponse, policy: str) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = policy
    page.headers.update(_COMMON_HEADERS)
    return page


class DocsAssets(StaticFiles):
    """The installed package's files, with the pages' headers on every response."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(_COMMON_HEADERS)
        return response


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their files under /docs/assets/ (none of them in the
    OpenAPI document)."""
    openapi_path = app.openapi_url or "/openapi.json"

    def urls(request: Request) -> tuple[str, str]:
        # Behind a proxy that serves the app under a prefix, the links keep it.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return root + openapi_path, root + ASSETS_PATH

    @app.get(SWAGGER_UI_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        document, assets = urls(request)
        page = get_swagger_ui_html(
            openapi_url=document,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return _served(page, swagger_ui_policy(bytes(page.body).decode()))

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        document, assets = urls(request)
        page = get_redoc_html(
            openapi_url=document,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,  # fonts from Google's CDN otherwise
        )
        return _served(page, REDOC_POLICY)

    app.mount(ASSETS_PATH, DocsAssets(packages=[ASSETS_PACKAGE]), name="api-docs-assets")
