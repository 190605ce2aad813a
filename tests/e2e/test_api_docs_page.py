"""/docs (Swagger UI) and /redoc (ReDoc) in a real browser (Debian's Chromium through
Playwright), against a real `slo-cli serve` process: they render every operation of
the OpenAPI document from files the server itself serves (installed from PyPI with
`fastapi-offline`), under their Content-Security-Policy, and nothing leaves 127.0.0.1:
every request to another host is aborted, and the test fails if one reached the network.

One exception is named: ReDoc 2 always draws Redocly's logo from cdn.redoc.ly in its
menu. The page's policy blocks that image inside the browser (the request never reaches
the network, so the abort never sees it); the test checks exactly that, and that it is
the only such attempt (api_docs/routes.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Route

from tests.local_servers import run_cli, served_env, start_api

LOCAL_HOST = "127.0.0.1"
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# How Chromium names the failure of a request the page's policy refused.
BLOCKED_BY_POLICY = "csp"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on an empty database (the docs need no data and no key)."""
    tmp = tmp_path_factory.mktemp("api-docs")
    env = served_env(f"sqlite+aiosqlite:///{tmp / 'docs.db'}")
    run_cli(env, "db", "upgrade")
    process, url = start_api(env, tmp / "server.log")
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def is_local(url: str) -> bool:
    # blob: URLs (ReDoc's search worker) are made in the page, from this origin.
    parts = urlsplit(url.removeprefix("blob:"))
    return parts.hostname == LOCAL_HOST


@dataclass
class Tab:
    page: Any
    # Requests to other hosts that reached the network layer (and were aborted there).
    routed_outside: list[str] = field(default_factory=list)
    # Every request to another host the page made, and why each failed.
    asked_outside: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    # Script errors, and messages logged as errors (CSP violations among them).
    problems: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh browser context in which only 127.0.0.1 is reachable."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = Tab(context.new_page())

    def only_local(route: Route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            opened.routed_outside.append(route.request.url)
            route.abort()

    # Every request of the context that reaches the network, whatever its kind
    # (document, script, style, font, image, fetch), goes through the handler first.
    context.route("**/*", only_local)
    page = opened.page
    page.on(
        "request",
        lambda request: None if is_local(request.url) else opened.asked_outside.append(request.url),
    )
    page.on(
        "requestfailed",
        lambda request: opened.failures.__setitem__(request.url, request.failure or ""),
    )
    page.on("pageerror", lambda error: opened.problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: opened.problems.append(message.text) if message.type == "error" else None,
    )
    page.set_default_timeout(20_000)
    try:
        yield opened
    finally:
        context.close()


def operation_ids(url: str) -> list[str]:
    document = httpx.get(f"{url}/openapi.json", timeout=10).json()
    return sorted(
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    )


def test_swagger_ui_renders_every_operation_offline(
    tab: Tab, server: str, artifacts_dir: Path
) -> None:
    page = tab.page
    response = page.goto(f"{server}/docs")
    assert (
        response is not None and "default-src 'none'" in response.headers["content-security-policy"]
    )
    # Swagger UI gives each operation's block the id operations-<tag>-<operationId>.
    page.wait_for_selector('[id$="-getDependencies"].opblock')
    rendered = page.eval_on_selector_all(
        ".opblock", "blocks => blocks.map(block => block.id.split('-').pop())"
    )
    assert sorted(rendered) == operation_ids(server)
    # displayOperationId: the ids, part of the contract, are shown to the reader.
    assert page.is_visible(".opblock-summary-operation-id >> text=getDependencies")
    # Opened, the operation shows the example answer the document declares.
    page.click('[id$="-getDependencies"] .opblock-summary')
    page.wait_for_selector('[id$="-getDependencies"] .responses-wrapper')
    assert "checkoutservice" in page.inner_text('[id$="-getDependencies"] .responses-wrapper')
    page.screenshot(path=str(artifacts_dir / "api-docs-swagger-ui.png"))
    assert tab.routed_outside == []
    assert tab.asked_outside == []
    assert tab.problems == []


def test_redoc_renders_every_operation_offline(tab: Tab, server: str, artifacts_dir: Path) -> None:
    page = tab.page
    page.goto(f"{server}/redoc")
    # ReDoc gives each operation's section the id operation/<operationId>.
    page.wait_for_selector('[id="operation/getDependencies"]')
    rendered = page.eval_on_selector_all(
        '[id^="operation/"]', "sections => sections.map(section => section.id.split('/').pop())"
    )
    assert sorted(set(rendered)) == operation_ids(server)
    assert "checkoutservice" in page.inner_text('[id="operation/getDependencies"]')
    page.screenshot(path=str(artifacts_dir / "api-docs-redoc.png"))
    assert tab.routed_outside == []
    # Redocly's logo, and nothing else: stopped by the page's policy, in the browser.
    assert set(tab.asked_outside) <= {REDOCLY_LOGO}
    assert all(tab.failures.get(url) == BLOCKED_BY_POLICY for url in tab.asked_outside)
    assert [p for p in tab.problems if REDOCLY_LOGO not in p] == []
