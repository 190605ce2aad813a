"""The graph explorer page in a real browser (Debian's Chromium through Playwright),
against a real `slo-cli serve` process on a fresh SQLite database.

The database holds the online-boutique topology plus: a cycle (shippingservice ->
checkoutservice, seen by the mesh, criticality unknown), an async edge to a
discovered-only service (checkoutservice -> order-events), a degraded edge to another
(paymentservice -> fraud-check), a stale edge (frontend -> legacy-reviews, last seen long
ago, flagged by `slo-cli jobs run mark-stale`), a 261-service fan-out (`hub`) for the
truncation banner and label overlap at 200 nodes, a small cycle through `tr-root` on which
the two one-direction answers cut to 2 services miss an edge the `both` answer has, and
services whose ids and team are 255 characters long.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Route

from slo_engine.access.keys import Scope
from tests.e2e.conftest import BOUTIQUE, make_key
from tests.local_servers import run_cli, start_api

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "explorer.png"
VIEWPORT = {"width": 1400, "height": 900}

EXTRA_FRESH = {
    "source": "otel_service_graph",
    "edges": [
        {
            "source": "checkoutservice",
            "target": "order-events",
            "target_kind": "messaging",
            "attributes": {
                "communication_mode": "async",
                "criticality": "soft",
                "protocol": "kafka",
                "request_rate": 12.5,
                "error_rate": 0.001,
                "latency_p95_ms": 8,
            },
        },
        {
            "source": "paymentservice",
            "target": "fraud-check",
            "attributes": {
                "communication_mode": "sync",
                "criticality": "degraded",
                "protocol": "grpc",
                "request_rate": 3.2,
                "error_rate": 0.02,
                "latency_p95_ms": 120,
            },
        },
    ],
}
EXTRA_CYCLE = {
    "source": "service_mesh",
    "edges": [
        {
            "source": "shippingservice",
            "target": "checkoutservice",
            "attributes": {"request_rate": 1.5, "error_rate": 0.0, "latency_p95_ms": 35},
        }
    ],
}
EXTRA_OLD = {
    "source": "otel_service_graph",
    "observed_at": "2020-01-01T00:00:00Z",
    "edges": [
        {
            "source": "frontend",
            "target": "legacy-reviews",
            "attributes": {"communication_mode": "sync", "criticality": "soft"},
        }
    ],
}


# tr-root calls tr-a and tr-z; tr-a calls tr-v; tr-v and tr-y call tr-root. At max_nodes=2
# the downstream answer keeps tr-a, tr-z (tr-v is 2 hops away), the upstream one tr-v, tr-y
# (tr-a is 2 hops away), and `both` keeps tr-a, tr-v (1 hop each, first by id) with the
# edge tr-a -> tr-v, which neither one-direction answer returns.
TRUNCATED_CYCLE = {
    "source": "manual",
    "edges": [
        {"source": "tr-root", "target": "tr-a"},
        {"source": "tr-root", "target": "tr-z"},
        {"source": "tr-a", "target": "tr-v"},
        {"source": "tr-v", "target": "tr-root"},
        {"source": "tr-y", "target": "tr-root"},
    ],
}

LONG_ID = "long-" + "s" * 250
LONG_CALLER = "call-" + "c" * 250
LONG_DEPENDENCY = "deep-" + "d" * 250
LONG_TEAM = "team-" + "t" * 250
LONG_NAMES = {
    "source": "manual",
    "nodes": [
        {"service_id": LONG_ID, "team": LONG_TEAM, "criticality": "critical"},
        {"service_id": LONG_CALLER, "team": LONG_TEAM},
    ],
    "edges": [
        {
            "source": LONG_CALLER,
            "target": LONG_ID,
            "attributes": {"criticality": "hard", "communication_mode": "sync"},
        },
        {
            "source": LONG_ID,
            "target": LONG_DEPENDENCY,
            "attributes": {"criticality": "hard", "communication_mode": "sync"},
        },
    ],
}


def fan_out() -> dict[str, Any]:
    """hub -> 20 mids -> 12 leaves each, plus one cross edge per mid: 260 services."""
    edges = []
    for m in range(20):
        mid = f"mid-{m:02d}"
        edges.append({"source": "hub", "target": mid})
        for leaf in range(12):
            edges.append({"source": mid, "target": f"leaf-{m:02d}-{leaf:02d}"})
        edges.append({"source": mid, "target": f"leaf-{(m + 7) % 20:02d}-03"})
    return {"source": "manual", "edges": edges}


@dataclass
class Explorer:
    url: str
    admin_key: str
    read_key: str
    slow_key: str

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}/api/v1{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def subgraph(self, service_id: str, **params: Any) -> dict[str, Any]:
        return self.api(f"/services/{service_id}/dependencies", **params)


@pytest.fixture(scope="module")
def explorer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Explorer]:
    """A server on a seeded database, with an admin, a read-only and a throttled key."""
    tmp = tmp_path_factory.mktemp("explorer")
    database_url = f"sqlite+aiosqlite:///{tmp / 'x.db'}"
    env = {
        "DATABASE_URL": database_url,
        "SCHEDULER_ENABLED": "false",
        "RATE_LIMIT_QUERY": "100000/minute",
        "RATE_LIMIT_INGESTION": "100000/minute",
    }
    run_cli(env, "db", "upgrade")
    # In a worker thread: the session's Playwright already runs an event loop here.
    with ThreadPoolExecutor(1) as worker:
        admin = worker.submit(make_key, database_url, "explorer-admin", Scope.ADMIN).result()
        reader = worker.submit(make_key, database_url, "explorer-reader", Scope.READ).result()
        slow = worker.submit(
            make_key, database_url, "explorer-slow", Scope.READ, rate_limit_query="1/minute"
        ).result()
    run_cli(env, "ingest", str(BOUTIQUE))
    for name, document in (
        ("fresh", EXTRA_FRESH),
        ("cycle", EXTRA_CYCLE),
        ("old", EXTRA_OLD),
        ("fan", fan_out()),
        ("truncated-cycle", TRUNCATED_CYCLE),
        ("long", LONG_NAMES),
    ):
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(document))
        run_cli(env, "ingest", str(path))
    flagged = run_cli(env, "jobs", "run", "mark-stale")
    assert "1 edge" in flagged, flagged
    process, url = start_api(env, tmp / "server.log")
    try:
        yield Explorer(url, admin, reader, slow)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def page(browser: Any, explorer: Explorer) -> Iterator[Any]:
    """A fresh browser context (empty session storage) at 1400x900; fails the test on
    any script error or Content-Security-Policy violation."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text or message.type == "warning"
            else None
        ),
    )
    tab.set_default_timeout(10_000)
    try:
        yield tab
        assert problems == []
    finally:
        context.close()


def enter_key(page: Any, key: str) -> None:
    page.wait_for_selector("#key-dialog[open]")
    page.fill("#key-input", key)
    page.click("#key-submit")


def open_explorer(page: Any, explorer: Explorer, hash_: str = "", key: str | None = None) -> None:
    page.goto(f"{explorer.url}/{hash_}")  # / redirects to /ui/
    enter_key(page, key or explorer.admin_key)


def wait_for_root(page: Any, service_id: str) -> None:
    page.wait_for_selector(f'#graph .node.root[data-service-id="{service_id}"]')


def drawn(page: Any) -> dict[str, Any]:
    """What the SVG shows: node ids, edges with their classes."""
    result: dict[str, Any] = page.evaluate(
        """() => ({
            nodes: [...document.querySelectorAll('#graph .node')].map(n => ({
                id: n.dataset.serviceId, side: n.dataset.side, classes: [...n.classList],
                x: n.getBoundingClientRect().x })),
            edges: [...document.querySelectorAll('#graph .edge')].map(e => ({
                source: e.dataset.source, target: e.dataset.target, classes: [...e.classList] })),
        })"""
    )
    return result


def settle(page: Any) -> None:
    """Let the page run what a response it just received set off (parsing, drawing)."""
    page.evaluate("() => new Promise(done => setTimeout(done, 200))")


def wait_until(page: Any, condition: Any) -> None:
    """Let Playwright dispatch events (route handlers) until `condition()` holds."""
    for _ in range(500):
        if condition():
            return
        page.wait_for_timeout(20)
    raise AssertionError("condition not met in 10 s")


def edge_classes(picture: dict[str, Any], source: str, target: str) -> set[str]:
    (edge,) = [e for e in picture["edges"] if (e["source"], e["target"]) == (source, target)]
    return set(edge["classes"])


def test_search_pick_and_draw_what_the_api_answers(
    page: Any,
    explorer: Explorer,
    artifacts_dir: Path,
) -> None:
    response = httpx.get(f"{explorer.url}/ui/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"

    open_explorer(page, explorer)
    page.fill("#service-search", "checkout")
    page.wait_for_selector('#service-suggestions li[data-service-id="checkoutservice"]')
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_for_root(page, "checkoutservice")
    assert "service=checkoutservice" in page.url and "direction=both" in page.url

    answer = explorer.subgraph("checkoutservice", direction="both", depth=3)
    picture = drawn(page)
    assert len(picture["nodes"]) == len(answer["nodes"]) + 1
    assert len(picture["edges"]) == len(answer["edges"])
    assert {n["id"] for n in picture["nodes"]} == {n["service_id"] for n in answer["nodes"]} | {
        "checkoutservice"
    }
    assert {(e["source"], e["target"]) for e in picture["edges"]} == {
        (e["source"], e["target"]) for e in answer["edges"]
    }

    # Sides: callers to the left of the root, what it calls to the right.
    x = {n["id"]: n["x"] for n in picture["nodes"]}
    side = {n["id"]: n["side"] for n in picture["nodes"]}
    assert side["frontend"] == "up" and x["frontend"] < x["checkoutservice"]
    assert side["loadgenerator"] == "up" and x["loadgenerator"] < x["frontend"]
    assert side["paymentservice"] == "down" and x["paymentservice"] > x["checkoutservice"]
    assert side["fraud-check"] == "down" and x["fraud-check"] > x["paymentservice"]
    # shippingservice is both a callee and a caller at distance 1: downstream on ties.
    assert side["shippingservice"] == "down"

    # The edge classes of the legend.
    assert {"async", "soft"} <= edge_classes(picture, "checkoutservice", "order-events")
    assert "degraded" in edge_classes(picture, "paymentservice", "fraud-check")
    assert "hard" in edge_classes(picture, "checkoutservice", "paymentservice")
    cycle = {(e["source"], e["target"]) for e in picture["edges"] if "cycle" in e["classes"]}
    assert cycle == {("checkoutservice", "shippingservice"), ("shippingservice", "checkoutservice")}
    assert "unknown" in edge_classes(picture, "shippingservice", "checkoutservice")
    assert not any("stale" in e["classes"] for e in picture["edges"])
    discovered = {n["id"] for n in picture["nodes"] if "discovered" in n["classes"]}
    assert discovered == {"order-events", "fraud-check"}
    # Node kinds have their own class (and look): order-events is a topic.
    kinds = {n["id"] for n in picture["nodes"] if "kind-messaging" in n["classes"]}
    assert kinds == {"order-events"}
    assert sum("async" in e["classes"] for e in picture["edges"]) == 1
    page.screenshot(path=str(artifacts_dir / "explorer-checkoutservice.png"))

    # Enter straight after typing picks the best match without waiting for the list.
    page.fill("#service-search", "fraud")
    page.keyboard.press("Enter")
    wait_for_root(page, "fraud-check")


def test_stale_edges_only_when_asked_and_grey(page: Any, explorer: Explorer) -> None:
    open_explorer(page, explorer, "#service=frontend&direction=downstream&depth=1")
    wait_for_root(page, "frontend")
    assert 'data-target="legacy-reviews"' not in page.inner_html("#graph")
    page.check("#include-stale")
    page.wait_for_selector('#graph .edge.stale[data-target="legacy-reviews"]')
    answer = explorer.subgraph("frontend", direction="downstream", depth=1, include_stale=True)
    picture = drawn(page)
    assert len(picture["edges"]) == len(answer["edges"])
    stale = [e for e in picture["edges"] if "stale" in e["classes"]]
    assert [(e["source"], e["target"]) for e in stale] == [("frontend", "legacy-reviews")]
    assert "stale=1" in page.url
    colour = page.eval_on_selector(
        '#graph .edge.stale[data-target="legacy-reviews"]', "e => getComputedStyle(e).stroke"
    )
    assert colour == "rgb(169, 175, 184)"  # --stale


def test_click_shows_details_and_double_click_re_roots(
    page: Any,
    explorer: Explorer,
    artifacts_dir: Path,
) -> None:
    open_explorer(page, explorer, "#service=checkoutservice&direction=both&depth=3")
    wait_for_root(page, "checkoutservice")
    page.click('#graph .node[data-service-id="paymentservice"]')
    page.wait_for_selector("#details h3:text-is('paymentservice')")
    details = page.inner_text("#details")
    assert "payments" in details and "critical" in details
    assert "downstream, 1 hop away" in details
    row = page.locator('#details .edge-row[data-target="fraud-check"]')
    assert row.locator(".sources").inner_text() == "otel_service_graph"
    assert row.locator(".request-rate").inner_text() == "3.2"
    assert row.locator(".error-rate").inner_text() == "2.00 %"
    assert row.locator(".latency").inner_text() == "120 ms"
    assert row.locator(".stale-flag").inner_text() == "no"
    assert page.locator('#details .edge-row[data-source="checkoutservice"]').count() == 1
    assert "selected" in (
        page.get_attribute('#graph .node[data-service-id="paymentservice"]', "class") or ""
    )
    page.screenshot(path=str(artifacts_dir / "explorer-details.png"))

    page.click('#graph .node[data-service-id="fraud-check"]')
    page.wait_for_selector("#details h3:text-is('fraud-check')")
    assert "yes" in page.inner_text("#details dl")  # discovered only

    page.dblclick('#graph .node[data-service-id="paymentservice"]')
    wait_for_root(page, "paymentservice")
    assert "service=paymentservice" in page.url
    assert page.input_value("#service-search") == "paymentservice"
    answer = explorer.subgraph("paymentservice", direction="both", depth=3)
    assert page.locator("#graph .node").count() == len(answer["nodes"]) + 1
    # Back returns to the previous root (the hash is history).
    page.go_back()
    wait_for_root(page, "checkoutservice")

    # Keyboard: focus a node, Enter selects, Shift+Enter re-roots.
    page.focus('#graph .node[data-service-id="emailservice"]')
    page.keyboard.press("Enter")
    page.wait_for_selector("#details h3:text-is('emailservice')")
    page.keyboard.press("Shift+Enter")
    wait_for_root(page, "emailservice")


def test_blast_radius_and_ceiling_panels_show_the_api_figures(
    page: Any, explorer: Explorer
) -> None:
    open_explorer(page, explorer, "#service=checkoutservice&direction=both&depth=3")
    wait_for_root(page, "checkoutservice")
    page.click('#graph .node[data-service-id="paymentservice"]')
    page.wait_for_selector("#details h3:text-is('paymentservice')")

    impact = explorer.api("/services/paymentservice/impact", depth=10, include_stale="false")
    summary = page.locator("#impact .impact-summary")
    summary.wait_for()
    totals = impact["totals"]
    assert summary.get_attribute("data-affected") == str(totals["affected"])
    assert summary.get_attribute("data-down") == str(totals["down"])
    assert summary.get_attribute("data-degraded") == str(totals["degraded"])
    assert totals["affected"] > 0
    listed = page.locator("#impact li.affected-service")
    assert [listed.nth(i).get_attribute("data-service-id") for i in range(listed.count())] == [
        a["service_id"] for a in impact["affected"]
    ]
    first = impact["affected"][0]
    assert " → ".join(first["path"]) in page.inner_text("#impact")

    availability = explorer.api("/services/paymentservice/availability", include_stale="false")
    ceiling = page.locator("#availability .ceiling")
    ceiling.wait_for()
    assert float(ceiling.get_attribute("data-ceiling") or "nan") == availability["ceiling"]
    assert f"{availability['ceiling'] * 100:.3f} %" in ceiling.inner_text()
    # The arithmetic behind its toggle.
    assert page.locator("#availability .arithmetic").is_hidden()
    page.click("#availability .arithmetic-toggle summary")
    assert availability["arithmetic"] in page.inner_text("#availability .arithmetic")

    # The root's ceiling: what limits it most as bars, the largest cost full length.
    page.click('#graph .node[data-service-id="checkoutservice"]')
    page.wait_for_selector("#details h3:text-is('checkoutservice')")
    availability = explorer.api("/services/checkoutservice/availability", include_stale="false")
    page.wait_for_function(
        "c => document.querySelector('#availability .ceiling')?.dataset.ceiling === String(c)",
        arg=availability["ceiling"],
    )
    bars = page.eval_on_selector_all(
        "#availability .limit-chart .bar-row",
        "rows => rows.map(r => [r.dataset.members, Number(r.dataset.cost),"
        " Number(r.querySelector('.bar').getAttribute('width'))])",
    )
    limiting = availability["limiting"][:5]
    assert len(limiting) > 1
    assert [(m, c) for m, c, _ in bars] == [(",".join(u["members"]), u["cost"]) for u in limiting]
    largest = max(u["cost"] for u in limiting)
    for _, cost, width in bars:
        assert width == pytest.approx(140 * cost / largest)

    # Picking an affected service in the blast radius selects it in the graph.
    page.click('#graph .node[data-service-id="paymentservice"]')
    page.wait_for_selector("#details h3:text-is('paymentservice')")
    listed.first.locator("button").click()
    page.wait_for_selector(f"#details h3:text-is('{first['service_id']}')")


def test_open_cycle_alerts_listed_and_acknowledged(page: Any, explorer: Explorer) -> None:
    def still_open() -> list[dict[str, Any]]:
        return [
            a
            for a in explorer.api("/circular-dependencies", status="open")["items"]
            if a["members"] == ["checkoutservice", "shippingservice"]
        ]

    (alert,) = still_open()

    # A read-only key sees the alert but may not acknowledge it.
    open_explorer(page, explorer, key=explorer.read_key)
    item = page.locator(f'#alerts li.alert[data-alert-id="{alert["alert_id"]}"]')
    item.wait_for()
    assert item.locator(".cycle-path").inner_text() == " → ".join(alert["cycle_path"])
    item.locator("button.acknowledge").click()
    page.wait_for_selector("#alerts .alert-message.error")
    message = item.locator(".alert-message").inner_text()
    assert "write scope" in message
    assert still_open() == [alert]

    # Show re-roots on the cycle.
    item.locator("button.show").click()
    wait_for_root(page, alert["cycle_path"][0])

    # With the admin key (replacing the read-only one) it goes.
    page.click("#key-button")
    enter_key(page, explorer.admin_key)
    item.locator("button.acknowledge").click()
    item.wait_for(state="detached")
    assert still_open() == []
    (acknowledged,) = explorer.api("/circular-dependencies", status="acknowledged")["items"]
    assert acknowledged["alert_id"] == alert["alert_id"]
    assert acknowledged["acknowledged_by"] == "explorer-admin"


def test_truncation_banner_and_labels_apart_at_200_nodes(
    page: Any,
    explorer: Explorer,
    artifacts_dir: Path,
) -> None:
    answer = explorer.subgraph("hub", direction="downstream", depth=2, max_nodes=200)
    assert answer["statistics"]["truncated"] is True and len(answer["nodes"]) == 200

    open_explorer(page, explorer, "#service=hub&direction=downstream&depth=2")
    wait_for_root(page, "hub")
    banner = page.locator("#truncated-banner")
    banner.wait_for(state="visible")
    assert "Showing the 200 closest of more than 200 services" in banner.inner_text()
    picture = drawn(page)
    assert len(picture["nodes"]) == 201
    assert len(picture["edges"]) == len(answer["edges"])
    # No two labels shown overlap, and each stays inside its box, as drawn (labels drawn
    # too small to read are hidden: test_explorer_service_view.py).
    overlaps = page.evaluate(
        """() => {
            const boxes = [...document.querySelectorAll('#graph .node')]
              .filter(n => getComputedStyle(n.querySelector(':scope > text')).display !== 'none')
              .map(n => ({
                box: n.querySelector('rect').getBoundingClientRect(),
                text: n.querySelector(':scope > text').getBoundingClientRect() }));
            const apart = (a, b) => a.right <= b.left || b.right <= a.left
                || a.bottom <= b.top || b.bottom <= a.top;
            const inside = (t, b) => t.left >= b.left - 0.5 && t.right <= b.right + 0.5;
            let count = 0;
            for (let i = 0; i < boxes.length; i++) {
                if (!inside(boxes[i].text, boxes[i].box)) count += 1000;
                for (let j = i + 1; j < boxes.length; j++)
                    if (!apart(boxes[i].text, boxes[j].text)) count += 1;
            }
            return count;
        }"""
    )
    assert overlaps == 0
    page.screenshot(path=str(artifacts_dir / "explorer-200-nodes.png"))

    # Zoom with the wheel: the view box narrows; dragging moves it.
    before = page.get_attribute("#graph", "viewBox")
    page.mouse.move(700, 500)
    page.mouse.wheel(0, -600)
    page.wait_for_function(
        "before => document.querySelector('#graph').getAttribute('viewBox') !== before", arg=before
    )
    zoomed = [float(v) for v in (page.get_attribute("#graph", "viewBox") or "").split()]
    assert zoomed[2] < [float(v) for v in (before or "").split()][2]
    page.mouse.down()
    page.mouse.move(600, 450, steps=5)
    page.mouse.up()
    moved = [float(v) for v in (page.get_attribute("#graph", "viewBox") or "").split()]
    assert moved[0] > zoomed[0] and moved[2] == zoomed[2]

    # A smaller bound from the control.
    page.fill("#max-nodes", "5")
    page.dispatch_event("#max-nodes", "change")
    page.wait_for_function("() => document.querySelectorAll('#graph .node').length === 6")
    assert "Showing the 5 closest of more than 5 services" in banner.inner_text()
    assert "max=5" in page.url

    # Not truncated: no banner.
    page.fill("#max-nodes", "1000")
    page.dispatch_event("#max-nodes", "change")
    page.wait_for_function("() => document.querySelectorAll('#graph .node').length === 261")
    assert banner.is_hidden()


def test_missing_wrong_and_throttled_keys(page: Any, explorer: Explorer) -> None:
    page.goto(f"{explorer.url}/#service=frontend&direction=downstream&depth=1")
    page.wait_for_selector("#key-dialog[open]")
    assert "Enter an API key" in page.inner_text("#key-reason")
    assert page.locator("#graph .node").count() == 0

    enter_key(page, "slo_000000000000_" + "x" * 43)
    page.wait_for_selector("#key-dialog[open]")
    page.wait_for_function(
        "() => document.querySelector('#key-reason').textContent.includes('refused')"
    )
    assert page.evaluate("sessionStorage.getItem('slo-engine.api-key')") is None

    enter_key(page, explorer.admin_key)
    wait_for_root(page, "frontend")
    # Kept for the session: a reload does not ask again.
    page.reload()
    wait_for_root(page, "frontend")
    assert page.locator("#key-dialog[open]").count() == 0

    # A key that is rate limited: the page says so, with the wait.
    page.click("#key-button")
    enter_key(page, explorer.slow_key)
    error = page.locator("#error")
    error.wait_for(state="visible")
    text = error.inner_text()
    assert "Rate limited" in text and "Retry in" in text


def test_readme_screenshot_of_online_boutique(
    page: Any,
    explorer: Explorer,
    artifacts_dir: Path,
) -> None:
    """The picture at the end of the README tour: frontend, both directions, depth 3.
    Written to test-artifacts/; copied to docs/img/explorer.png by hand when it changes
    (or with SLO_ENGINE_UPDATE_DOCS_SCREENSHOT=1)."""
    open_explorer(page, explorer, "#service=frontend&direction=both&depth=3")
    wait_for_root(page, "frontend")
    page.wait_for_selector("#details h3:text-is('frontend')")
    page.wait_for_selector("#impact .impact-summary")
    page.wait_for_selector("#availability .ceiling")
    target = artifacts_dir / "explorer.png"
    page.screenshot(path=str(target))
    if os.environ.get("SLO_ENGINE_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_SCREENSHOT)


def test_both_draws_the_api_answer_when_truncated(page: Any, explorer: Explorer) -> None:
    """Cut to 2 services, each one-direction answer misses tr-a -> tr-v (its far end is
    not among that side's 2); the page draws the `both` answer's edges all the same."""
    query = {"depth": 3, "max_nodes": 2}
    answer = explorer.subgraph("tr-root", direction="both", **query)
    down = explorer.subgraph("tr-root", direction="downstream", **query)
    up = explorer.subgraph("tr-root", direction="upstream", **query)
    assert answer["statistics"]["truncated"] is True
    api_edges = {(e["source"], e["target"]) for e in answer["edges"]}
    assert ("tr-a", "tr-v") in api_edges
    assert ("tr-a", "tr-v") not in {(e["source"], e["target"]) for e in down["edges"] + up["edges"]}

    open_explorer(page, explorer, "#service=tr-root&direction=both&depth=3&max=2")
    wait_for_root(page, "tr-root")
    picture = drawn(page)
    assert {n["id"] for n in picture["nodes"]} == {n["service_id"] for n in answer["nodes"]} | {
        "tr-root"
    }
    assert {(e["source"], e["target"]) for e in picture["edges"]} == api_edges
    assert len(picture["edges"]) == len(answer["edges"])
    side = {n["id"]: n["side"] for n in picture["nodes"]}
    assert side == {"tr-root": "root", "tr-a": "down", "tr-v": "up"}
    assert page.locator("#truncated-banner").is_visible()


def test_long_names_wrap_inside_the_panels(page: Any, explorer: Explorer) -> None:
    """255-character ids and team names (no space in them) never widen the side panels."""
    open_explorer(page, explorer, f"#service={LONG_ID}&direction=both&depth=3")
    wait_for_root(page, LONG_ID)
    page.wait_for_selector("#details h3.service-id")
    page.locator("#impact .affected .path").wait_for()
    page.locator("#availability .edges-table").wait_for(state="attached")
    page.eval_on_selector_all(".panels details", "all => all.forEach(d => { d.open = true; })")
    details = page.inner_text("#details")
    assert LONG_TEAM in details and LONG_CALLER in details and LONG_DEPENDENCY in details
    assert f"{LONG_ID} → {LONG_CALLER}" in page.inner_text("#impact .path") or (
        f"{LONG_CALLER} → {LONG_ID}" in page.inner_text("#impact .path")
    )
    # The by-team chart names the team (its label cut to fit, the whole name its title).
    assert page.get_attribute("#impact .team-chart .bar-row", "data-team") == LONG_TEAM
    assert LONG_TEAM in page.text_content("#impact .team-chart title")
    assert LONG_DEPENDENCY in page.inner_text("#availability .edges-table")

    widths = page.evaluate(
        """() => {
            const panels = document.querySelector('.panels');
            // Every box that would scroll (or clip) sideways: the panels themselves and
            // anything inside them whose overflow is not visible (the affected list).
            const boxes = [panels, ...panels.querySelectorAll('*')].filter(
                e => e === panels || getComputedStyle(e).overflowX !== 'visible');
            return boxes.map(e => ({
                what: e.id || e.className || e.tagName,
                scroll: e.scrollWidth, client: e.clientWidth }));
        }"""
    )
    assert widths[0]["what"] == "panels" and widths[0]["client"] > 300
    assert [w for w in widths if w["scroll"] > w["client"] + 1] == []


def test_enter_never_picks_from_an_older_or_failed_search(page: Any, explorer: Explorer) -> None:
    open_explorer(page, explorer, "#service=frontend&direction=downstream&depth=1")
    wait_for_root(page, "frontend")
    page.fill("#service-search", "checkout")
    page.wait_for_selector('#service-suggestions li[data-service-id="checkoutservice"]')
    page.keyboard.press("ArrowDown")  # checkoutservice highlighted

    # The search for the new text fails (rate limited): Enter picks nothing, least of all
    # what the old list had highlighted, and the page says why.
    page.route(
        lambda url: "search=fraud" in url,
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "9"},
            json={"title": "Too Many Requests", "status": 429, "detail": "Slow down."},
        ),
    )
    page.fill("#service-search", "fraud")
    page.keyboard.press("Enter")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "Rate limited" in error.inner_text()
    settle(page)
    assert "service=frontend" in page.url
    assert page.locator("#graph .node.root").get_attribute("data-service-id") == "frontend"

    # Enter waits for the search of "pay"; the text changes to "email" (whose suggestions
    # come) before that answer does: when it comes, nothing is picked.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(lambda url: "search=pay" in url, hold)
    page.fill("#service-search", "pay")
    page.keyboard.press("Enter")
    wait_until(page, lambda: len(held) >= 1)
    page.fill("#service-search", "email")
    page.wait_for_selector('#service-suggestions li[data-service-id="emailservice"]')
    for route in held:
        with page.expect_event("requestfinished"):
            route.continue_()
    settle(page)
    assert "service=frontend" in page.url
    assert page.locator("#graph .node.root").get_attribute("data-service-id") == "frontend"

    # Enter on the current text picks from its own suggestions.
    page.keyboard.press("Enter")
    wait_for_root(page, "emailservice")


FAKE_ALERT = {
    "alert_id": "00000000-0000-0000-0000-000000000001",
    "cycle_path": ["old-answer-a", "old-answer-b", "old-answer-a"],
    "members": ["old-answer-a", "old-answer-b"],
    "status": "open",
    "first_detected_at": "2024-01-01T00:00:00Z",
}


def test_alerts_an_older_listing_never_overwrites_a_newer_one(
    page: Any, explorer: Explorer
) -> None:
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route(lambda url: "/api/v1/circular-dependencies" in url, hold)
    open_explorer(page, explorer)  # the first listing: held
    wait_until(page, lambda: len(held) == 1)
    page.click("#key-button")
    enter_key(page, explorer.admin_key)  # the second listing: held too
    wait_until(page, lambda: len(held) == 2)

    held[1].fulfill(json={"items": [], "next_cursor": None})
    page.wait_for_selector("#alerts p.note:text('No open circular dependency.')")
    with page.expect_event("requestfinished"):
        held[0].fulfill(json={"items": [FAKE_ALERT], "next_cursor": None})
    settle(page)
    assert page.locator("#alerts li.alert").count() == 0
    assert "No open circular dependency." in page.inner_text("#alerts")


def test_alerts_say_when_there_are_more_than_shown(page: Any, explorer: Explorer) -> None:
    asked: list[str] = []

    def more(route: Route) -> None:
        asked.append(route.request.url)
        response = route.fetch()
        page_ = response.json()
        page_["next_cursor"] = "more"
        route.fulfill(response=response, json=page_)

    page.route(lambda url: "/api/v1/circular-dependencies" in url, more)
    open_explorer(page, explorer)
    note = page.locator("#alerts .more-alerts")
    note.wait_for()
    shown = page.locator("#alerts li.alert").count()
    assert shown >= 1
    assert f"More open circular dependencies than the {shown} shown" in note.inner_text()
    assert all("limit=100" in url and "status=open" in url for url in asked)


def test_without_a_key_the_page_keeps_a_way_to_enter_one(page: Any, explorer: Explorer) -> None:
    page.goto(f"{explorer.url}/#service=frontend&direction=downstream&depth=1")
    page.wait_for_selector("#key-dialog[open]")
    page.keyboard.press("Escape")  # closes the dialog without a key
    page.wait_for_selector("#key-dialog:not([open])", state="attached")
    button = page.locator("#key-needed-button")
    button.wait_for(state="visible")
    assert button.inner_text() == "Enter an API key"
    assert "no API key" in page.inner_text("#key-needed")

    button.click()
    enter_key(page, explorer.admin_key)
    wait_for_root(page, "frontend")
    assert page.locator("#key-needed").is_hidden()

    # A key the server refuses is forgotten: the way back is there again.
    page.evaluate(
        "sessionStorage.setItem('slo-engine.api-key', 'slo_000000000000_' + 'x'.repeat(43))"
    )
    page.reload()
    page.wait_for_function(
        "() => document.querySelector('#key-reason').textContent.includes('refused')"
    )
    page.keyboard.press("Escape")
    button.wait_for(state="visible")
