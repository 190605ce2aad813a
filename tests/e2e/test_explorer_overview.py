"""The explorer's Overview in a real browser (Debian's Chromium through Playwright)
against real `slo-cli serve` processes: Online Boutique (with a cycle and a discovered
service added) and a generated 2,000-service graph (bench/run.py generate_microservices).

What is drawn is held to GET /api/v1/graph/overview's answer for the same question: the
groups and their counts, the edges between them and their counts, the members of the
expanded groups; every action (a grouping, a filter, an expand, a collapse, a switch to a
service's view) is one request; no two group boxes overlap on screen; a 429 leaves the
overview drawn with the wait. The layout is also measured against layout.js's layered
layout on the same answers (written to test-artifacts/overview-layout.json, quoted in
docs/performance.md), and a 5,000-service graph is drawn without a page error and timed,
panning and a wheel zoom too, against the way the page did them before in the same run
(test-artifacts/overview-5000.json; never asserted).
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
from bench.run import generate_microservices
from playwright.sync_api import Route

from slo_engine.access.keys import Scope
from tests.e2e.conftest import BOUTIQUE, make_key
from tests.local_servers import run_cli, start_api

VIEWPORT = {"width": 1400, "height": 900}
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "explorer-overview.png"
OVERVIEW = "/api/v1/graph/overview"

# A cycle between two teams' services and a discovered-only topic, on top of the boutique.
BOUTIQUE_EXTRA = {
    "source": "otel_service_graph",
    "edges": [
        {
            "source": "shippingservice",
            "target": "checkoutservice",
            "attributes": {"request_rate": 1.5, "error_rate": 0.0},
        },
        {
            "source": "checkoutservice",
            "target": "order-events",
            "target_kind": "messaging",
            "attributes": {"communication_mode": "async", "request_rate": 12.5, "error_rate": 0.02},
        },
        {
            "source": "frontend",
            "target": "checkoutservice",
            "attributes": {"request_rate": 40.0, "error_rate": 0.07},
        },
    ],
}


@dataclass
class Served:
    url: str
    key: str

    def overview(self, *params: tuple[str, Any]) -> dict[str, Any]:
        response = httpx.get(
            f"{self.url}{OVERVIEW}",
            params=list(params),
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


def serve(tmp: Path, documents: list[tuple[str, Any]]) -> tuple[Any, Served]:
    """A server on a fresh SQLite database holding `documents` (ingested in order)."""
    database_url = f"sqlite+aiosqlite:///{tmp / 'o.db'}"
    env = {
        "DATABASE_URL": database_url,
        "SCHEDULER_ENABLED": "false",
        "RATE_LIMIT_QUERY": "100000/minute",
        "RATE_LIMIT_INGESTION": "100000/minute",
    }
    run_cli(env, "db", "upgrade")
    # In a worker thread: the module's Playwright already runs an event loop here.
    with ThreadPoolExecutor(1) as worker:
        key = worker.submit(make_key, database_url, "overview-admin", Scope.ADMIN).result()
    for name, document in documents:
        if isinstance(document, Path):
            run_cli(env, "ingest", str(document))
            continue
        path = tmp / f"{name}.json"
        path.write_text(json.dumps(document))
        run_cli(env, "ingest", str(path))
    process, url = start_api(env, tmp / "server.log")
    return process, Served(url, key)


def generated(n: int, seed: int) -> dict[str, Any]:
    graph = generate_microservices(n, seed=seed)
    return {
        "source": "manual",
        "nodes": graph.nodes,
        "edges": [
            {"source": s, "target": t, "attributes": a}
            for (s, t), a in zip(graph.edges, graph.attributes, strict=True)
        ],
    }


def stop(process: Any) -> None:
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def boutique(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    process, served = serve(
        tmp_path_factory.mktemp("overview-boutique"),
        [("boutique", BOUTIQUE), ("extra", BOUTIQUE_EXTRA)],
    )
    try:
        yield served
    finally:
        stop(process)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    process, served = serve(
        tmp_path_factory.mktemp("overview-2000"), [("generated", generated(2000, seed=17))]
    )
    try:
        yield served
    finally:
        stop(process)


def new_page(browser: Any, served: Served, problems: list[str]) -> tuple[Any, Any]:
    """A fresh context with the key already in the tab (no dialog), at 1400x900."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(f"sessionStorage.setItem('slo-engine.api-key', {served.key!r})")
    tab = context.new_page()
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text or message.type == "warning"
            else None
        ),
    )
    tab.set_default_timeout(20_000)
    return context, tab


@pytest.fixture
def page_of(browser: Any) -> Iterator[Any]:
    """`page_of(served)`: a tab for that server; fails on any script or policy error."""
    contexts: list[Any] = []
    problems: list[str] = []

    def open_for(served: Served) -> Any:
        context, tab = new_page(browser, served, problems)
        contexts.append(context)
        return tab

    try:
        yield open_for
        assert problems == []
    finally:
        for context in contexts:
            context.close()


class Requests:
    """The API requests a tab makes, for counting them per action."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        page.on(
            "request",
            lambda request: self.urls.append(request.url) if "/api/v1/" in request.url else None,
        )
        self.mark = 0

    def since_mark(self) -> list[str]:
        urls = self.urls[self.mark :]
        self.mark = len(self.urls)
        return urls


def wait_drawn(page: Any) -> None:
    """Until the status line says the overview asked for is shown."""
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.startsWith('Showing the overview')"
    )
    page.wait_for_selector("#graph.overview .group")


def action(page: Any, requests: Requests, do: Any) -> list[str]:
    """Run `do()`, wait for the overview it asks for, return the requests it made."""
    requests.since_mark()
    page.evaluate("() => { document.querySelector('#status').textContent = ''; }")
    do()
    wait_drawn(page)
    page.wait_for_timeout(150)  # a second request, if any, would have left by now
    return requests.since_mark()


def drawn(page: Any) -> dict[str, Any]:
    """What the SVG shows: groups with their counts, members, edges with their labels."""
    result: dict[str, Any] = page.evaluate(
        """() => {
          const edges = [...document.querySelectorAll('#graph .edge.aggregate')];
          const counts = [...document.querySelectorAll('#graph .edge-count')];
          return {
            groups: [...document.querySelectorAll('#graph .group')].map(g => ({
              id: g.dataset.groupId, services: Number(g.dataset.services),
              internal: Number(g.dataset.internalEdges),
              expanded: g.classList.contains('expanded'), cycle: g.classList.contains('in-cycle'),
              label: g.querySelector('.group-label').textContent,
              count: g.querySelector('.group-count').textContent,
              kinds: g.querySelector('.group-kinds').textContent })),
            members: [...document.querySelectorAll('#graph .group .node.member')].map(n => ({
              id: n.dataset.serviceId, group: n.closest('.group').dataset.groupId })),
            edges: edges.map((e, i) => ({
              source_group: e.dataset.sourceGroup, target_group: e.dataset.targetGroup,
              source: e.dataset.source ?? null, target: e.dataset.target ?? null,
              edges: Number(e.dataset.edges), label: Number(counts[i].textContent),
              classes: [...e.classList] })),
          };
        }"""
    )
    return result


def kinds_line(kinds: dict[str, int]) -> str:
    short = {"service": "svc", "database": "db", "messaging": "msg", "external": "ext"}
    ordered = sorted(kinds.items(), key=lambda item: (-item[1], item[0]))
    return " · ".join(f"{count} {short.get(kind, kind)}" for kind, count in ordered)


def assert_drawn_is(page: Any, answer: dict[str, Any]) -> dict[str, Any]:
    picture = drawn(page)
    assert {g["id"]: g["services"] for g in picture["groups"]} == {
        g["id"]: g["services"] for g in answer["groups"]
    }
    by_id = {g["id"]: g for g in answer["groups"]}
    for group in picture["groups"]:
        expected = by_id[group["id"]]
        assert group["count"].startswith(f"{expected['services']} service")
        assert group["internal"] == expected["internal_edges"]
        assert group["kinds"] == kinds_line(expected["kinds"])
        assert group["cycle"] == expected["in_cycle"]
        assert group["expanded"] == (expected["members_shown"] > 0)
    assert sorted((m["id"], m["group"]) for m in picture["members"]) == sorted(
        (n["service_id"], n["group"]) for n in answer["nodes"]
    )

    def key(e: dict[str, Any]) -> tuple[Any, ...]:
        return (e["source_group"], e["target_group"], e["source"], e["target"])

    assert {key(e): e["label"] for e in picture["edges"]} == {
        key(e): e["edges"] for e in answer["edges"]
    }
    assert len(picture["edges"]) == len(answer["edges"])
    return picture


def box_overlaps(page: Any, selector: str) -> int:
    """Pairs of elements matching `selector` whose rectangles on screen overlap."""
    count: int = page.evaluate(
        """(selector) => {
          const boxes = [...document.querySelectorAll(selector)]
            .map(e => e.getBoundingClientRect());
          let overlaps = 0;
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
                a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps++;
          }
          return overlaps;
        }""",
        selector,
    )
    return count


def members_inside_their_group(page: Any) -> bool:
    inside: bool = page.evaluate(
        """() => [...document.querySelectorAll('#graph .node.member rect.box')].every(r => {
          const box = r.getBoundingClientRect();
          const group = r.closest('.group').querySelector('.group-box').getBoundingClientRect();
          return box.left >= group.left - 0.5 && box.right <= group.right + 0.5 &&
                 box.top >= group.top - 0.5 && box.bottom <= group.bottom + 0.5;
        })"""
    )
    return inside


def total_edges(answer: dict[str, Any]) -> int:
    """Every service edge of an answer: drawn ones by their counts, the rest inside the
    collapsed groups (an expanded group's inside edges are drawn, not counted on it)."""
    drawn_edges = sum(e["edges"] for e in answer["edges"])
    return drawn_edges + sum(g["internal_edges"] for g in answer["groups"] if not g["expanded"])


# --- Online Boutique -----------------------------------------------------------------


def test_opens_in_the_overview_and_draws_the_api_answer(page_of: Any, boutique: Served) -> None:
    page = page_of(boutique)
    requests = Requests(page)
    page.goto(f"{boutique.url}/")
    wait_drawn(page)
    page.wait_for_timeout(200)
    asked = [u for u in requests.since_mark() if OVERVIEW in u]
    assert len(asked) == 1 and "group_by=team" in asked[0]
    assert "view=overview" in page.url and "by=team" in page.url
    answer = boutique.overview(("group_by", "team"))
    picture = assert_drawn_is(page, answer)
    assert page.get_attribute("#mode-overview", "aria-pressed") == "true"
    # The cycle shippingservice -> checkoutservice -> shippingservice marks both teams.
    assert {g["id"] for g in picture["groups"] if g["cycle"]} == {"checkout", "fulfilment"}
    # Width by summed rate and colour by the worst error rate, as the legend's classes.
    (storefront,) = [
        e
        for e in picture["edges"]
        if (e["source_group"], e["target_group"]) == ("storefront", "checkout")
    ]
    assert {"rate-2", "errors-high"} <= set(storefront["classes"])
    assert box_overlaps(page, "#graph .group-box") == 0

    # Each grouping and each filter: one request, and the drawing is its answer.
    steps: list[tuple[Any, list[tuple[str, Any]], str]] = [
        (
            lambda: page.select_option("#ov-group-by", "kind"),
            [("group_by", "kind")],
            "group_by=kind",
        ),
        (
            lambda: page.select_option("#filter-kind", "service"),
            [("group_by", "kind"), ("kind", "service")],
            "kind=service",
        ),
        (
            lambda: page.select_option("#ov-group-by", "namespace"),
            [("group_by", "namespace"), ("kind", "service")],
            "group_by=namespace",
        ),
        (
            lambda: page.select_option("#filter-kind", ""),
            [("group_by", "namespace")],
            "group_by=namespace",
        ),
        (
            lambda: page.select_option("#ov-group-by", "team"),
            [("group_by", "team")],
            "group_by=team",
        ),
        (
            lambda: page.select_option("#filter-criticality", "critical"),
            [("group_by", "team"), ("criticality", "critical")],
            "criticality=critical",
        ),
        (
            lambda: page.select_option("#filter-criticality", ""),
            [("group_by", "team")],
            "group_by=team",
        ),
        (
            lambda: page.select_option("#filter-source", "otel_service_graph"),
            [("group_by", "team"), ("discovery_source", "otel_service_graph")],
            "discovery_source=otel_service_graph",
        ),
        (
            lambda: page.select_option("#filter-discovered", "only"),
            [
                ("group_by", "team"),
                ("discovery_source", "otel_service_graph"),
                ("discovered", "true"),
            ],
            "discovered=true",
        ),
        (
            lambda: page.select_option("#filter-source", ""),
            [("group_by", "team"), ("discovered", "true")],
            "discovered=true",
        ),
        (
            lambda: page.select_option("#filter-discovered", ""),
            [("group_by", "team")],
            "group_by=team",
        ),
        (
            lambda: (page.fill("#filter-min-rate", "10"), page.press("#filter-min-rate", "Enter")),
            [("group_by", "team"), ("min_request_rate", 10)],
            "min_request_rate=10",
        ),
        (
            lambda: (
                page.fill("#filter-team", "checkout, payments"),
                page.press("#filter-team", "Enter"),
            ),
            [("group_by", "team"), ("min_request_rate", 10), ("team", "checkout,payments")],
            "team=checkout%2Cpayments",
        ),
        (
            lambda: page.check("#include-stale"),
            [
                ("group_by", "team"),
                ("min_request_rate", 10),
                ("team", "checkout,payments"),
                ("include_stale", "true"),
            ],
            "include_stale=true",
        ),
    ]
    for do, params, fragment in steps:
        urls = action(page, requests, do)
        assert len(urls) == 1 and fragment in urls[0], urls
        assert_drawn_is(page, boutique.overview(*params))


def test_expand_and_collapse_in_place_keep_the_totals(page_of: Any, boutique: Served) -> None:
    page = page_of(boutique)
    requests = Requests(page)
    page.goto(f"{boutique.url}/")
    wait_drawn(page)
    requests.since_mark()
    collapsed = boutique.overview(("group_by", "team"))
    services = sum(g["services"] for g in collapsed["groups"])
    assert total_edges(collapsed) == collapsed["totals"]["edges"]

    # A click on the group expands it: one request with expand= added.
    urls = action(
        page, requests, lambda: page.click('#graph .group[data-group-id="checkout"] .group-label')
    )
    assert len(urls) == 1 and "expand=checkout" in urls[0], urls
    one = boutique.overview(("group_by", "team"), ("expand", "checkout"))
    assert_drawn_is(page, one)
    assert members_inside_their_group(page)
    assert box_overlaps(page, "#graph .group-box") == 0
    # Enter on a focused group expands it too; both stay expanded (expand repeated).
    page.focus('#graph .group[data-group-id="payments"]')
    urls = action(page, requests, lambda: page.keyboard.press("Enter"))
    assert len(urls) == 1 and "expand=checkout&expand=payments" in urls[0], urls
    two = boutique.overview(("group_by", "team"), ("expand", "checkout"), ("expand", "payments"))
    assert_drawn_is(page, two)
    assert members_inside_their_group(page)
    assert box_overlaps(page, "#graph .group-box") == 0
    assert box_overlaps(page, "#graph .node.member rect.box") == 0
    for answer in (one, two):
        assert sum(g["services"] for g in answer["groups"]) == services
        assert total_edges(answer) == collapsed["totals"]["edges"]
        assert answer["totals"] == collapsed["totals"]

    # Selecting a member costs nothing; its panel has a way to its dependencies.
    requests.since_mark()
    page.click('#graph .node.member[data-service-id="cartservice"]')
    page.wait_for_selector("#details h3:text-is('cartservice')")
    assert "checkout" in page.inner_text("#details .facts")
    page.wait_for_timeout(150)
    assert requests.since_mark() == []

    # Collapse: the same request without it; back to the answer of before.
    urls = action(
        page, requests, lambda: page.click('#graph .group[data-group-id="checkout"] .group-label')
    )
    assert len(urls) == 1 and "expand=payments" in urls[0] and "expand=checkout" not in urls[0]
    urls = action(
        page, requests, lambda: page.click('#graph .group[data-group-id="payments"] .group-label')
    )
    assert len(urls) == 1 and "expand" not in urls[0], urls
    assert_drawn_is(page, collapsed)

    # Back re-expands (the address holds the groups expanded): one request.
    urls = action(page, requests, page.go_back)
    assert len(urls) == 1 and "expand=payments" in urls[0], urls

    # Double-click a member: the service view rooted there, one request.
    requests.since_mark()
    page.dblclick('#graph .node.member[data-service-id="paymentservice"]')
    page.wait_for_selector('#graph .node.root[data-service-id="paymentservice"]')
    page.wait_for_timeout(200)
    urls = requests.since_mark()
    assert len(urls) == 1 and "/services/paymentservice/dependencies" in urls[0], urls
    assert "service=paymentservice" in page.url and "view=overview" not in page.url
    assert page.get_attribute("#mode-service", "aria-pressed") == "true"
    assert not page.locator("#graph").evaluate("svg => svg.classList.contains('overview')")

    # The mode switch goes back to the overview as it was: one request.
    urls = action(page, requests, lambda: page.click("#mode-overview"))
    assert len(urls) == 1 and "expand=payments" in urls[0], urls
    assert "view=overview" in page.url


def test_a_rate_limited_action_keeps_the_overview_drawn(page_of: Any, boutique: Served) -> None:
    page = page_of(boutique)
    page.goto(f"{boutique.url}/")
    wait_drawn(page)
    before = drawn(page)
    url = page.url

    def limited(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "17", "Content-Type": "application/problem+json"},
            body=json.dumps({"title": "Too Many Requests", "status": 429, "detail": "slow down"}),
        )

    page.route(lambda u: OVERVIEW in u and "expand=checkout" in u, limited)
    page.click('#graph .group[data-group-id="checkout"] .group-label')
    error = page.locator("#error")
    error.wait_for(state="visible")
    text = error.inner_text()
    assert "Rate limited" in text and "Retry in 17 s" in text
    assert "Still showing the overview by team" in text
    assert drawn(page) == before
    assert page.url == url


def test_screenshot_of_the_overview(page_of: Any, boutique: Served, artifacts_dir: Path) -> None:
    """docs/img/explorer-overview.png: Online Boutique by team, checkout expanded.
    Written to test-artifacts/; copied to docs/img/ with SLO_ENGINE_UPDATE_DOCS_SCREENSHOT=1."""
    page = page_of(boutique)
    page.goto(f"{boutique.url}/#view=overview&by=team&expand=checkout")
    wait_drawn(page)
    page.click('#graph .node.member[data-service-id="checkoutservice"]')
    page.wait_for_selector("#details h3:text-is('checkoutservice')")
    target = artifacts_dir / "explorer-overview.png"
    page.screenshot(path=str(target))
    if os.environ.get("SLO_ENGINE_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, DOCS_SCREENSHOT)


# --- a generated 2,000-service graph ---------------------------------------------------


def test_a_generated_graph_of_2000_services(page_of: Any, large: Served) -> None:
    page = page_of(large)
    requests = Requests(page)
    page.goto(f"{large.url}/")
    wait_drawn(page)
    page.wait_for_timeout(200)
    assert len([u for u in requests.since_mark() if OVERVIEW in u]) == 1
    collapsed = large.overview(("group_by", "team"))
    assert collapsed["totals"]["services"] == 2000
    assert_drawn_is(page, collapsed)
    assert len(collapsed["groups"]) == 41  # 40 teams and (no team)
    # At the default zoom (fitted), no two group boxes overlap on screen.
    assert box_overlaps(page, "#graph .group-box") == 0
    # At this size the small labels are hidden, and shown under the pointer.
    assert page.locator("#graph").evaluate("svg => svg.classList.contains('small-labels')")
    detail = page.locator('#graph .group[data-group-id="team-00"] .group-count')
    assert detail.evaluate("t => getComputedStyle(t).display") == "none"
    page.hover('#graph .group[data-group-id="team-00"] .group-box')
    assert detail.evaluate("t => getComputedStyle(t).display") != "none"

    # Two teams expanded, one request each; members inside their boxes, totals kept.
    for expand in (["team-03"], ["team-03", "team-17"]):
        urls = action(
            page,
            requests,
            lambda group=expand[-1]: page.click(
                f'#graph .group[data-group-id="{group}"] .group-box'
            ),
        )
        assert len(urls) == 1, urls
        answer = large.overview(("group_by", "team"), *(("expand", g) for g in expand))
        assert_drawn_is(page, answer)
        assert answer["totals"] == collapsed["totals"]
        assert total_edges(answer) == collapsed["totals"]["edges"]
        assert members_inside_their_group(page)
        assert box_overlaps(page, "#graph .group-box") == 0
    # The undeclared majority expanded too (1,400 services drawn inside one box).
    urls = action(
        page, requests, lambda: page.click('#graph .group[data-group-id="(no team)"] .group-box')
    )
    assert len(urls) == 1, urls
    big = large.overview(
        ("group_by", "team"), ("expand", "team-03"), ("expand", "team-17"), ("expand", "(no team)")
    )
    assert_drawn_is(page, big)
    assert total_edges(big) == collapsed["totals"]["edges"]
    assert box_overlaps(page, "#graph .group-box") == 0
    assert members_inside_their_group(page)

    # Collapse all three: the answer of before.
    for group in ("team-03", "(no team)", "team-17"):
        urls = action(
            page,
            requests,
            # On its header: the middle of an expanded group is one of its members.
            lambda group=group: page.click(
                f'#graph .group[data-group-id="{group}"] .group-box', position={"x": 3, "y": 3}
            ),
        )
        assert len(urls) == 1, urls
    assert_drawn_is(page, collapsed)

    # A filter under it: one request, the drawing is the filtered answer.
    urls = action(
        page,
        requests,
        lambda: (page.fill("#filter-min-rate", "200"), page.press("#filter-min-rate", "Enter")),
    )
    assert len(urls) == 1 and "min_request_rate=200" in urls[0], urls
    filtered = large.overview(("group_by", "team"), ("min_request_rate", 200))
    assert filtered["totals"]["services"] < 2000
    assert_drawn_is(page, filtered)
    assert box_overlaps(page, "#graph .group-box") == 0


# --- the layout, measured ----------------------------------------------------------------

MEASURE = """async ({answers, repeats}) => {
  const o = await import('/ui/js/overview.js');
  const time = (f) => {
    f();  // warm
    const t0 = performance.now();
    let result;
    for (let i = 0; i < repeats; i++) result = f();
    return [result, (performance.now() - t0) / repeats];
  };
  return answers.map(([name, answer]) => {
    const [grouped, groupedMs] = time(() => o.groupLayout(answer));
    const [flat, flatMs] = time(() => o.flatLayout(answer));
    const groupedEnds = (g, s) => o.endBox(grouped, g, s);
    return {
      name, groups: answer.groups.length, members: answer.nodes.length, edges: answer.edges.length,
      grouped: {ms: groupedMs, crossings: o.straightCrossings(answer, groupedEnds),
                overlaps: o.overlappingPairs(grouped.groups.values()),
                width: grouped.bounds.maxX - grouped.bounds.minX,
                height: grouped.bounds.maxY - grouped.bounds.minY},
      flat: {ms: flatMs, crossings: o.straightCrossings(answer, flat.ends),
             overlaps: o.overlappingPairs(flat.extents.values()),
             width: flat.bounds.maxX - flat.bounds.minX,
             height: flat.bounds.maxY - flat.bounds.minY},
    };
  });
}"""


def test_the_group_layout_against_the_layered_one(
    page_of: Any, boutique: Served, large: Served, artifacts_dir: Path
) -> None:
    """The same overview answers through the group layout and through layout.js's layered
    layout (one box per drawn thing): time, crossings of the edges as straight lines, and
    overlapping group extents. Written to test-artifacts/overview-layout.json."""
    answers = [
        ("boutique by team", boutique.overview(("group_by", "team"))),
        (
            "boutique by team, checkout and payments expanded",
            boutique.overview(("group_by", "team"), ("expand", "checkout"), ("expand", "payments")),
        ),
        ("2,000 by team", large.overview(("group_by", "team"))),
        (
            "2,000 by team, 2 teams expanded",
            large.overview(("group_by", "team"), ("expand", "team-03"), ("expand", "team-17")),
        ),
        (
            "2,000 by team, 2 teams and (no team) expanded",
            large.overview(
                ("group_by", "team"),
                ("expand", "team-03"),
                ("expand", "team-17"),
                ("expand", "(no team)"),
            ),
        ),
    ]
    page = page_of(boutique)
    page.goto(f"{boutique.url}/")
    wait_drawn(page)
    figures: list[dict[str, Any]] = page.evaluate(MEASURE, {"answers": answers, "repeats": 3})
    (artifacts_dir / "overview-layout.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    for row in figures:
        assert row["grouped"]["overlaps"] == 0, row
    # Members of an expanded group spread over the layered layout's columns: their group
    # has no box of its own and its extent runs over the others'.
    assert any(row["flat"]["overlaps"] > 0 for row in figures if row["members"])


# --- 5,000 services, drawn and timed (the figures: test-artifacts/overview-5000.json) -------

PAN = """async (steps) => {
  const svg = document.querySelector('#graph');
  const box = svg.getBoundingClientRect();
  const frames = [];
  let last = performance.now();
  let running = true;
  const tick = (now) => {
    frames.push(now - last);
    last = now;
    if (running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const x0 = box.left + box.width / 2, y0 = box.top + box.height / 2;
  const fire = (type, x, y) => svg.dispatchEvent(new PointerEvent(type, {
    bubbles: true, pointerId: 1, button: 0, buttons: 1, clientX: x, clientY: y, isPrimary: true}));
  fire('pointerdown', x0, y0);
  for (let i = 1; i <= steps; i++) {
    fire('pointermove', x0 + i * 3, y0 + i * 2);
    await new Promise(r => requestAnimationFrame(r));
  }
  running = false;
  frames.shift();
  // The release: the view box moves once, and the drawing is painted where it now is.
  const released = performance.now();
  fire('pointerup', x0 + steps * 3, y0 + steps * 2);
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const release = performance.now() - released;
  const sorted = [...frames].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {frames: frames.length, median: pick(0.5), p95: pick(0.95),
          worst: sorted[sorted.length - 1], release_ms: release,
          moved: svg.getAttribute('viewBox')};
}"""

# The reference in the same run: the same drag as the page did before it moved the drawing
# as a picture, a new view box every frame (every path repainted each time).
PAN_BY_VIEW_BOX = """async (steps) => {
  const svg = document.querySelector('#graph');
  const [x, y, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
  const scale = svg.getScreenCTM().a;
  const frames = [];
  let last = performance.now();
  for (let i = 1; i <= steps; i++) {
    svg.setAttribute('viewBox', `${x - i * 3 / scale} ${y - i * 2 / scale} ${w} ${h}`);
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    frames.push(now - last);
    last = now;
  }
  frames.shift();
  const sorted = [...frames].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {frames: frames.length, median: pick(0.5), p95: pick(0.95),
          worst: sorted[sorted.length - 1]};
}"""

# A wheel zoom: 30 steps in, one per animation frame, at the middle of the drawing; the
# time between frames, and *settle*, from the last step to the second frame after the view
# box is set (the page sets it once the wheel rests). The reference, in the same tab: the
# same steps the way the page zoomed before 2026-12-05, a new view box per step.
WHEEL = """async (steps) => {
  const svg = document.querySelector('#graph');
  const box = svg.getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const frames = [];
  let last = performance.now();
  for (let i = 0; i < steps; i++) {
    svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -40, clientX: x, clientY: y,
      bubbles: true, cancelable: true}));
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    frames.push(now - last);
    last = now;
  }
  // Settled when the picture's transform is gone (the view box set); at most 5 s.
  const rested = performance.now();
  while (svg.style.transform !== '' && performance.now() - rested < 5000) {
    await new Promise(r => setTimeout(r, 5));
  }
  const set = performance.now();
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  frames.shift();
  const sorted = [...frames].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {frames: frames.length, median: pick(0.5), p95: pick(0.95),
          worst: sorted[sorted.length - 1], rest_ms: set - rested,
          settle_ms: performance.now() - set};
}"""

ZOOM_BY_VIEW_BOX = """async (steps) => {
  const svg = document.querySelector('#graph');
  let [x, y, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
  const f = Math.exp(-40 * 0.0015);
  const frames = [];
  let last = performance.now();
  for (let i = 0; i < steps; i++) {
    x += w * (1 - f) / 2; y += h * (1 - f) / 2; w *= f; h *= f;
    svg.setAttribute('viewBox', `${x} ${y} ${w} ${h}`);
    await new Promise(r => requestAnimationFrame(r));
    const now = performance.now();
    frames.push(now - last);
    last = now;
  }
  frames.shift();
  const sorted = [...frames].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {frames: frames.length, median: pick(0.5), p95: pick(0.95),
          worst: sorted[sorted.length - 1]};
}"""

FIRST_PAINT = """() => {
  const svg = document.querySelector('#graph');
  const request = performance.getEntriesByType('resource')
    .find(e => e.name.includes('/graph/overview'));
  return {painted_ms: Number(svg.dataset.paintedAt),
          layout_and_draw_ms: Number(svg.dataset.layoutMs),
          request_ms: request ? request.duration : null,
          svg_elements: svg.querySelectorAll('*').length};
}"""


def test_time_the_overview_at_5000_services(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> None:
    process, served = serve(
        tmp_path_factory.mktemp("overview-5000"), [("generated", generated(5000, seed=42))]
    )
    results: dict[str, Any] = {}
    problems: list[str] = []
    try:
        for name, address in (
            ("by team", "#view=overview&by=team"),
            ("by team, 2 teams expanded", "#view=overview&by=team&expand=team-03&expand=team-17"),
            (
                "by team, (no team) expanded (2,000 drawn)",
                "#view=overview&by=team&expand=(no team)",
            ),
        ):
            runs = []
            for _ in range(3):
                context, page = new_page(browser, served, problems)
                page.goto(f"{served.url}/ui/{address}")
                wait_drawn(page)
                page.wait_for_function("() => document.querySelector('#graph').dataset.paintedAt")
                first = page.evaluate(FIRST_PAINT)
                first["pan"] = page.evaluate(PAN, 90)
                first["pan_by_view_box"] = page.evaluate(PAN_BY_VIEW_BOX, 90)
                page.click("#zoom-fit")
                first["wheel"] = page.evaluate(WHEEL, 30)
                page.click("#zoom-fit")
                first["zoom_by_view_box"] = page.evaluate(ZOOM_BY_VIEW_BOX, 30)
                runs.append(first)
                context.close()
            results[name] = runs
    finally:
        stop(process)
    (artifacts_dir / "overview-5000.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    assert problems == []
