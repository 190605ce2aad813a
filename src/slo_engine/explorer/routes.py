"""The explorer page at /ui/ (static files of this package) and / redirecting to it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

EXPLORER_PATH = "/ui"


def install_explorer(app: FastAPI) -> None:
    """Serve the page's static files under /ui/ and redirect / there."""

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{EXPLORER_PATH}/", status_code=307)

    app.mount(
        EXPLORER_PATH,
        StaticFiles(packages=[("slo_engine.explorer", "static")], html=True),
        name="explorer",
    )
