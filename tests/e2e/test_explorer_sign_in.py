"""The explorer signing people in, in a real browser (Debian's Chromium through
Playwright) against real `slo-cli serve` processes and a real OpenID Connect issuer on
127.0.0.1 (tests/oidc_issuer.py): the authorization code flow with PKCE, refusals,
refreshed tokens, an authenticating proxy, links to Backstage, embedding, and the
request budget: one API request per action, so a person clicking through a topology at
the default rate limits never meets a 429."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import BOUTIQUE
from tests.e2e.test_explorer_page import VIEWPORT, drawn, wait_for_root
from tests.local_servers import run_cli, start_api
from tests.oidc_issuer import AUDIENCE, Issuer, running_issuer

BACKSTAGE = "https://backstage.example.com"
CLIENT_ID = "slo-explorer"


@dataclass
class SignedServer:
    url: str
    issuer: Issuer

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        token = self.issuer.mint(sub="test-reader")
        response = httpx.get(
            f"{self.url}/api/v1{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def seeded(tmp: Path) -> dict[str, str]:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'x.db'}", "SCHEDULER_ENABLED": "false"}
    run_cli(env, "db", "upgrade")
    run_cli(env, "ingest", str(BOUTIQUE))
    return env


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedServer]:
    """A server whose explorer signs people in at the issuer; the default rate limits."""
    tmp = tmp_path_factory.mktemp("explorer-sign-in")
    env = seeded(tmp)
    with running_issuer() as issuer:
        env |= {
            "AUTH_OIDC_ISSUER": issuer.url,
            "AUTH_OIDC_AUDIENCE": AUDIENCE,
            "EXPLORER_OIDC_CLIENT_ID": CLIENT_ID,
            "EXPLORER_BACKSTAGE_URL": BACKSTAGE,
        }
        process, url = start_api(env, tmp / "server.log")
        issuer.clients[CLIENT_ID] = f"{url}/ui/"
        try:
            yield SignedServer(url, issuer)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty session storage); fails the test on any script
    error or Content-Security-Policy violation."""
    made = browser.new_context(viewport=VIEWPORT)
    problems: list[str] = []
    made.on(
        "console",
        lambda message: (
            problems.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    try:
        yield made
        assert problems == []
    finally:
        made.close()


@pytest.fixture
def page(context: Any) -> Any:
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    return tab


def sign_in(page: Any, server: SignedServer, hash_: str = "") -> None:
    page.goto(f"{server.url}/ui/{hash_}")
    page.wait_for_selector("#key-dialog[open] #oidc-button")
    page.click("#oidc-button")
    # To the issuer and back; then the page exchanges the code.
    page.wait_for_selector("#who:not([hidden])")


def test_sign_in_with_pkce_draws_the_graph_as_the_api_answers(
    page: Any, signed: SignedServer
) -> None:
    grants_before = len(signed.issuer.token_grants)
    sign_in(page, signed, "#service=checkoutservice&direction=both&depth=3")
    wait_for_root(page, "checkoutservice")
    assert page.inner_text("#who") == "Signed in as alice"
    assert page.inner_text("#key-button") == "Sign out"
    # The code is gone from the address, and the view asked for before leaving is back.
    assert "code=" not in page.url and "#service=checkoutservice" in page.url
    assert signed.issuer.token_grants[grants_before:] == ["authorization_code"]
    answer = signed.api("/services/checkoutservice/dependencies", direction="both", depth=3)
    picture = drawn(page)
    assert {n["id"] for n in picture["nodes"]} == {
        "checkoutservice",
        *(n["service_id"] for n in answer["nodes"]),
    }
    assert len(picture["edges"]) == len(answer["edges"])
    # The panels came with the subgraph: the root's blast radius and ceiling.
    impact = signed.api("/services/checkoutservice/impact")
    summary = page.wait_for_selector("#impact .impact-summary")
    assert summary.get_attribute("data-affected") == str(impact["totals"]["affected"])
    page.wait_for_selector("#availability .note, #availability p")
    assert "Loading" not in page.inner_text("#availability")


def test_signing_out_forgets_the_token(page: Any, signed: SignedServer) -> None:
    sign_in(page, signed, "#service=frontend")
    wait_for_root(page, "frontend")
    page.click("#key-button")
    page.wait_for_selector("#key-dialog[open] #oidc-button")
    assert page.locator("#who").is_hidden()
    stored = page.evaluate("() => sessionStorage.getItem('slo-engine.sign-in-token')")
    assert stored is None


def test_an_answer_not_started_in_this_tab_is_refused(page: Any, signed: SignedServer) -> None:
    grants_before = len(signed.issuer.token_grants)
    page.goto(f"{signed.url}/ui/?code=stolen-code&state=someone-elses")
    page.wait_for_selector("#error:not([hidden])")
    assert "does not belong to a sign-in started in this tab" in page.inner_text("#error")
    assert "code=" not in page.url
    page.wait_for_selector("#key-dialog[open] #oidc-button")
    assert signed.issuer.token_grants[grants_before:] == []  # no exchange was tried


def test_a_refusal_of_the_issuer_is_said(page: Any, signed: SignedServer) -> None:
    signed.issuer.denial = "Not allowed"
    try:
        page.goto(f"{signed.url}/ui/")
        page.wait_for_selector("#key-dialog[open] #oidc-button")
        page.click("#oidc-button")
        page.wait_for_selector("#error:not([hidden])")
    finally:
        signed.issuer.denial = None
    assert "the issuer refused the sign-in: Not allowed" in page.inner_text("#error")
    assert "error=" not in page.url


def test_a_foreign_refusal_neither_shows_its_text_nor_cancels_a_sign_in(
    page: Any, signed: SignedServer
) -> None:
    """A link carrying an `error` and made-up text, opened while a sign-in is pending in
    the tab: refused as not this tab's, its text not shown, the pending sign-in kept."""
    page.goto(f"{signed.url}/ui/")
    page.evaluate(
        """() => sessionStorage.setItem('slo-engine.sign-in-flow', JSON.stringify(
            {state: 'mine', nonce: 'n', verifier: 'v', hash: ''}))"""
    )
    page.goto(f"{signed.url}/ui/?error=access_denied&error_description=Call+0800-SCAM&state=x")
    page.wait_for_selector("#error:not([hidden])")
    assert "does not belong to a sign-in started in this tab" in page.inner_text("#error")
    assert "SCAM" not in page.inner_text("body")
    pending = page.evaluate("() => sessionStorage.getItem('slo-engine.sign-in-flow')")
    assert pending is not None and '"mine"' in pending


def test_a_token_near_its_expiry_is_refreshed_before_it_is_sent(
    page: Any, signed: SignedServer
) -> None:
    signed.issuer.token_seconds = 31  # within the page's 30 s margin after a second
    try:
        sign_in(page, signed, "#service=frontend")
        wait_for_root(page, "frontend")
        page.wait_for_timeout(1500)
        grants_before = len(signed.issuer.token_grants)
        # A comparison asks for the subgraph and the diff at once: both need the token,
        # and the issuer rotates refresh tokens, so a second refresh would be refused.
        page.evaluate(
            """() => { location.hash = '#service=cartservice&direction=both&depth=3&since=' +
                encodeURIComponent(new Date(Date.now() - 5000).toISOString()); }"""
        )
        wait_for_root(page, "cartservice")
        assert signed.issuer.token_grants[grants_before:] == ["refresh_token"]
        assert page.locator("#error").is_hidden()
        assert page.inner_text("#who") == "Signed in as alice"
    finally:
        signed.issuer.token_seconds = 300


def test_clicking_through_the_topology_costs_one_request_per_action_and_no_429(
    page: Any, signed: SignedServer
) -> None:
    """At the default limits (60 reads a minute per person): re-root on 13 services and
    select a neighbour on each; every action is one API request, and none is refused."""
    requests: list[str] = []
    statuses: list[int] = []
    page.on("request", lambda r: requests.append(r.url) if "/api/v1/" in r.url else None)
    page.on("response", lambda r: statuses.append(r.status) if "/api/v1/" in r.url else None)
    sign_in(page, signed, "#service=frontend&direction=both&depth=3")
    wait_for_root(page, "frontend")
    page.wait_for_timeout(300)
    services = [
        "checkoutservice",
        "cartservice",
        "productcatalogservice",
        "currencyservice",
        "paymentservice",
        "shippingservice",
        "emailservice",
        "recommendationservice",
        "adservice",
        "redis-cart",
        "frontend",
        "loadgenerator",
        "checkoutservice",
    ]
    per_action: list[int] = []
    for service_id in services:
        before = len(requests)
        page.evaluate(f"() => {{ location.hash = '#service={service_id}&direction=both'; }}")
        wait_for_root(page, service_id)
        page.wait_for_timeout(150)
        per_action.append(len(requests) - before)
        neighbour = next(n["id"] for n in drawn(page)["nodes"] if n["id"] != service_id and n["id"])
        before = len(requests)
        page.click(f'#graph .node[data-service-id="{neighbour}"]')
        page.wait_for_selector(f'#impact .impact-summary:has-text("affected if {neighbour} fails")')
        per_action.append(len(requests) - before)
    assert per_action == [1] * len(per_action), per_action
    assert 429 not in statuses and all(status == 200 for status in statuses), statuses


def test_a_selected_service_links_to_its_backstage_entity(page: Any, signed: SignedServer) -> None:
    sign_in(page, signed, "#service=checkoutservice")
    wait_for_root(page, "checkoutservice")
    link = page.wait_for_selector("#details .catalog-link a")
    assert link.get_attribute("href") == f"{BACKSTAGE}/catalog/default/component/checkoutservice"
    assert link.get_attribute("rel") == "noopener noreferrer"
    page.click('#graph .node[data-service-id="paymentservice"]')
    page.wait_for_function(
        "() => document.querySelector('#details .catalog-link a')?.href.endsWith('/paymentservice')"
    )


def test_behind_a_trusted_proxy_nobody_is_asked_for_anything(browser: Any, tmp_path: Path) -> None:
    env = seeded(tmp_path) | {
        "AUTH_PROXY_HEADER": "X-Forwarded-User",
        "AUTH_TRUSTED_PROXIES": "127.0.0.1",
    }
    process, url = start_api(env, tmp_path / "server.log")
    # The browser's connections come from 127.0.0.1, the trusted proxy's address, and
    # carry the header a proxy adds.
    context = browser.new_context(viewport=VIEWPORT, extra_http_headers={"X-Forwarded-User": "bob"})
    try:
        tab = context.new_page()
        tab.set_default_timeout(10_000)
        tab.goto(f"{url}/ui/#service=frontend")
        wait_for_root(tab, "frontend")
        assert tab.inner_text("#who") == "Signed in as bob"
        assert tab.locator("#key-dialog").get_attribute("open") is None
        assert tab.locator("#key-button").is_hidden()
    finally:
        context.close()
        process.terminate()
        process.wait(timeout=10)


class FramingPage:
    """A page on another origin (its own port) that shows `html`: the explorer in a
    frame, once the explorer's address is known."""

    def __init__(self) -> None:
        self.html = ""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = owner.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "another-origin"])
def test_the_explorer_is_framed_only_by_the_origins_allowed(
    browser: Any, tmp_path: Path, allowed: bool
) -> None:
    host = FramingPage()
    ancestors = host.origin if allowed else "https://portal.example.com"
    env = seeded(tmp_path) | {"AUTH_ENABLED": "false", "EXPLORER_FRAME_ANCESTORS": ancestors}
    process, url = start_api(env, tmp_path / "server.log")
    host.html = f'<!doctype html><iframe id="x" src="{url}/ui/#service=frontend"></iframe>'
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        tab.goto(host.origin)
        root = tab.frame_locator("#x").locator('#graph .node.root[data-service-id="frontend"]')
        if allowed:
            root.wait_for(timeout=10_000)
        else:
            tab.wait_for_timeout(1500)
            assert root.count() == 0
            assert tab.frame_locator("#x").locator("#graph").count() == 0
    finally:
        context.close()
        host.close()
        process.terminate()
        process.wait(timeout=10)


def test_catalog_paths_follow_the_entity_ref_backstage_recorded(
    page: Any, signed: SignedServer
) -> None:
    page.goto(f"{signed.url}/ui/")
    paths = page.evaluate(
        """async () => {
        const P = await import('/ui/js/panels.js');
        return [
          P.catalogPath({service_id: "cart"}),
          P.catalogPath({service_id: "payments.billing",
                         metadata: {backstage: {entity_ref: "component:payments/billing"}}}),
          P.catalogPath({service_id: "orders-db",
                         metadata: {backstage: {entity_ref: "Resource:default/Orders DB"}}}),
        ];
    }"""
    )
    assert paths == [
        "/catalog/default/component/cart",
        "/catalog/payments/component/billing",
        "/catalog/default/resource/Orders%20DB",
    ]
