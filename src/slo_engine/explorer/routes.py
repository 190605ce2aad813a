"""The explorer page at /ui/ (static files of this package) and / redirecting to it.

Every file of the page is served with security headers (explorer/page_config.py): a
Content-Security-Policy that allows scripts, styles and API calls from this origin only
(no inline code, no CDN; the sign-in issuer's token endpoint besides, when the page signs
people in), framing only by EXPLORER_FRAME_ANCESTORS (none by default),
`X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` (the URL hash names
services; nothing leaks to other sites). The files have no content hash in their names
(there is no build step), so browsers revalidate them on every load (`no-cache`: a cheap
304 through ETag / Last-Modified) and a new release is picked up at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from slo_engine.explorer.page_config import PagePolicy, install_page_config
from slo_engine.settings import Settings

EXPLORER_PATH = "/ui"
CACHE_CONTROL = "no-cache"


class ExplorerFiles(StaticFiles):
    """StaticFiles with the page's security and caching headers on every response."""

    def __init__(self, policy: PagePolicy, **options: Any) -> None:
        super().__init__(**options)
        self.policy = policy

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.media_type == "text/html" or response.headers.get(
            "content-type", ""
        ).startswith("text/html"):
            # The page the issuer sends people back to must allow the token exchange
            # from its first load, in every process: the endpoint is learnt first.
            await self.policy.learn_token_endpoint(scope["app"])
        response.headers.update(self.policy.headers())
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def install_explorer(app: FastAPI, settings: Settings) -> None:
    """Serve the page's static files under /ui/, its configuration at /ui/config.json,
    and redirect / there."""
    policy = PagePolicy(settings)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(
            f"{EXPLORER_PATH}/", status_code=307, headers={"Cache-Control": "no-store"}
        )

    install_page_config(app, policy)
    app.mount(
        EXPLORER_PATH,
        ExplorerFiles(policy, packages=[("slo_engine.explorer", "static")], html=True),
        name="explorer",
    )
