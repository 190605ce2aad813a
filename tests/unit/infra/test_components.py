"""A route names the part it uses (`AppComponent`); the app installs it once, and a test
replaces it with FastAPI's dependency overrides."""

from __future__ import annotations

import inspect
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from slo_engine.infra.components import AppComponent

GREETING: AppComponent[str] = AppComponent("greeting")


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    async def hello(greeting: Annotated[str, Depends(GREETING)]) -> dict[str, str]:
        return {"said": greeting}

    return app


def test_a_route_gets_the_installed_part() -> None:
    app = make_app()
    GREETING.install(app, "hello")
    assert GREETING.of(app) == "hello"
    with TestClient(app) as client:
        assert client.get("/hello").json() == {"said": "hello"}


def test_a_test_replaces_one_part() -> None:
    app = make_app()
    GREETING.install(app, "hello")
    app.dependency_overrides[GREETING] = lambda: "replaced"
    with TestClient(app) as client:
        assert client.get("/hello").json() == {"said": "replaced"}


def test_the_part_is_resolved_without_a_worker_thread() -> None:
    # FastAPI runs a plain-function dependency in a thread pool; a coroutine it awaits.
    assert inspect.iscoroutinefunction(GREETING.__call__)
    assert repr(GREETING) == "AppComponent('greeting')"
