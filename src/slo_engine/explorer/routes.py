"""The explorer page at /ui/ (static files of this package) and / redirecting to it.

Every file of the page is served with security headers: a Content-Security-Policy that
allows scripts, styles and API calls from this origin only (no inline code, no CDN),
`X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (the URL hash names
services; nothing leaks to other sites). The files have no content hash in their names
(there is no build step), so browsers revalidate them on every load (`no-cache`: a cheap
304 through ETag / Last-Modified) and a new release is picked up at once.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

EXPLORER_PATH = "/ui"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CACHE_CONTROL = "no-cache"


class ExplorerFiles(StaticFiles):
    """StaticFiles with the page's security and caching headers on every response."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def install_explorer(app: FastAPI) -> None:
    """Serve the page's static files under /ui/ and redirect / there."""

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(
            f"{EXPLORER_PATH}/", status_code=307, headers={"Cache-Control": "no-store"}
        )

    app.mount(
        EXPLORER_PATH,
        ExplorerFiles(packages=[("slo_engine.explorer", "static")], html=True),
        name="explorer",
    )
