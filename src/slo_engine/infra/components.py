"""The long-lived parts the app builds at start (the database, the live graph, the
access control...), each declared by the package that owns its type and handed to the
routes that name it as a FastAPI dependency.

A route states what it uses, typed, in its signature::

    live: LiveGraphDep

and `create_app` installs each part once, in its lifespan (`LIVE_GRAPH.install(app,
live_graph)`). There is no bag of everything that every handler reaches into, so a
module imports only the parts it uses, and a test replaces one with
`app.dependency_overrides[LIVE_GRAPH]`.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, FastAPI, Request

from slo_engine.settings import Settings

T = TypeVar("T")


class AppComponent(Generic[T]):
    """One part of the running app, kept on `app.state` under `name`."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def install(self, app: FastAPI, value: T) -> None:
        setattr(app.state, self.name, value)

    def of(self, app: FastAPI) -> T:
        """The installed part (the lifespan has run); for tests and wiring code."""
        value: T = getattr(app.state, self.name)
        return value

    async def __call__(self, request: Request) -> T:
        # A coroutine, not a plain method: FastAPI runs a plain-function dependency in a
        # worker thread, a thread handoff on every request (seen in a profile under load).
        value: T = getattr(request.app.state, self.name)
        return value

    def __repr__(self) -> str:
        return f"AppComponent({self.name!r})"


# The settings the app was built with.
SETTINGS: AppComponent[Settings] = AppComponent("settings")
SettingsDep = Annotated[Settings, Depends(SETTINGS)]
