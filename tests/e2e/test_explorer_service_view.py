"""The explorer's service view on a large graph, in a real browser (Debian's Chromium
through Playwright) against a real `slo-cli serve` process holding a generated
2,000-service graph (bench/run.py generate_microservices, declared by `manual`) plus
databases and queues that traffic names (`otel_service_graph`, with figures).

What is drawn is held to the API's answers for the same question: the subgraph under
every filter the page offers (each change one request), the blast radius marked on the
drawing and drawn alone against GET /services/{id}/impact, the labels shown at the
default zoom apart from each other (checked on screen), keyboard navigation from service
to service, "+N" marks where a cut answer stopped, and the page at 1024 px. Screenshots go
to test-artifacts/; the blast radius picture of docs/explorer.md is taken here (copied
to docs/img/ with SLO_ENGINE_UPDATE_DOCS_SCREENSHOT=1).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_explorer_overview import (
    Requests,
    Served,
    generated,
    new_page,
    serve,
    stop,
)

DOCS_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "img" / "explorer-blast-radius.png"
ROOT = "svc-00200"  # called from across the graph: a wide upstream and a deep downstream
DEPENDENCIES = f"/api/v1/services/{ROOT}/dependencies"


def traffic(graph: dict[str, Any]) -> dict[str, Any]:
    """Databases and queues that only traffic names, called by every tenth service and
    by the root."""
    callers = [ROOT, *sorted({edge["source"] for edge in graph["edges"]})[::10]]
    edges = []
    for index, caller in enumerate(callers):
        kind = "database" if index % 3 else "messaging"
        edges.append(
            {
                "source": caller,
                "target": f"{kind[:2]}-{index % 17:02d}",
                "target_kind": kind,
                "attributes": {
                    "request_rate": float(index % 40),
                    "error_rate": (index % 7) / 100,
                    "communication_mode": "async" if kind == "messaging" else "sync",
                },
            }
        )
    return {"source": "otel_service_graph", "edges": edges}


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    graph = generated(2000, seed=17)
    process, served = serve(
        tmp_path_factory.mktemp("service-view-2000"),
        [("generated", graph), ("traffic", traffic(graph))],
    )
    try:
        yield served
    finally:
        stop(process)


@pytest.fixture
def tab(browser: Any, large: Served) -> Iterator[Any]:
    problems: list[str] = []
    context, page = new_page(browser, large, problems)
    try:
        yield page
        assert problems == []
    finally:
        context.close()


def api(served: Served, path: str, *params: tuple[str, Any]) -> dict[str, Any]:
    response = httpx.get(
        f"{served.url}{path}",
        params=list(params),
        headers={"Authorization": f"Bearer {served.key}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def wait_shown(page: Any, service_id: str) -> None:
    page.wait_for_function(
        "id => document.querySelector('#status').textContent === `Showing ${id} now.`",
        arg=service_id,
    )
    page.wait_for_selector(f'#graph .node.root[data-service-id="{service_id}"]')


def action(page: Any, requests: Requests, do: Any) -> list[str]:
    """Run `do()`, wait for the view it asks for, return the API requests it made."""
    requests.since_mark()
    page.evaluate("() => { document.querySelector('#status').textContent = ''; }")
    do()
    wait_shown(page, ROOT)
    page.wait_for_timeout(150)  # a second request, if any, would have left by now
    return requests.since_mark()


def picture(page: Any) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(
        """() => ({
            nodes: [...document.querySelectorAll('#graph .nodes .node')]
                .map(n => n.dataset.serviceId),
            edges: [...document.querySelectorAll('#graph .edges .edge')].map(
                e => [e.dataset.source, e.dataset.target]),
            impacts: Object.fromEntries([...document.querySelectorAll('#graph .node')]
                .filter(n => n.dataset.impact).map(n => [n.dataset.serviceId, n.dataset.impact])),
            failed: [...document.querySelectorAll('#graph .node.failed')]
                .map(n => n.dataset.serviceId),
            effects: Object.fromEntries([...document.querySelectorAll('#graph .edge.impact-path')]
                .map(e => [`${e.dataset.source}>${e.dataset.target}`, e.dataset.effect])),
        })"""
    )
    return result


def assert_drawn_is(page: Any, answer: dict[str, Any]) -> None:
    drawn = picture(page)
    assert sorted(drawn["nodes"]) == sorted(
        [answer["service"]["service_id"], *(n["service_id"] for n in answer["nodes"])]
    )
    assert sorted(map(tuple, drawn["edges"])) == sorted(
        (e["source"], e["target"]) for e in answer["edges"]
    )


def overlapping_labels(page: Any) -> dict[str, int]:
    """Labels shown (not hidden for their size) that overlap another, or leave their
    box; and how many are shown and hidden."""
    result: dict[str, int] = page.evaluate(
        """() => {
            const shown = [], boxes = [];
            let hidden = 0;
            for (const n of document.querySelectorAll('#graph .nodes .node')) {
                const text = n.querySelector(':scope > text');
                if (getComputedStyle(text).display === 'none') { hidden += 1; continue; }
                shown.push(text.getBoundingClientRect());
                boxes.push(n.querySelector('rect').getBoundingClientRect());
            }
            const apart = (a, b) => a.right <= b.left || b.right <= a.left
                || a.bottom <= b.top || b.bottom <= a.top;
            let overlaps = 0, outside = 0;
            for (let i = 0; i < shown.length; i++) {
                if (shown[i].left < boxes[i].left - 0.5 || shown[i].right > boxes[i].right + 0.5)
                    outside += 1;
                for (let j = i + 1; j < shown.length; j++)
                    if (!apart(shown[i], shown[j])) overlaps += 1;
            }
            return {overlaps, outside, shown: shown.length, hidden};
        }"""
    )
    return result


def most_common(values: list[Any]) -> Any:
    present = [value for value in values if value]
    return max(sorted(set(present)), key=present.count)


def filters_for(answer: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Each filter control of the page set to a value that keeps part of `answer`, then
    cleared: (control, value, the query parameters the API takes for it)."""
    # From the root's neighbours: the walk crosses only what passes, so a value no
    # neighbour has would keep the root alone.
    nodes = [n for n in answer["nodes"] if n["depth"] == 1]
    teams = sorted({n["team"] for n in nodes if n["team"]})[:2]
    criticality = most_common([n["criticality"] for n in nodes])
    return [
        ("kind", "service", [("kind", "service")]),
        ("kind", "", []),
        ("criticality", criticality, [("criticality", criticality)]),
        ("criticality", "", []),
        ("source", "otel_service_graph", [("discovery_source", "otel_service_graph")]),
        ("source", "", []),
        ("discovered", "only", [("discovered", "true")]),
        ("discovered", "declared", [("discovered", "false")]),
        ("discovered", "", []),
        ("min-rate", "60", [("min_request_rate", "60")]),
        ("min-rate", "0", []),
        ("team", ", ".join(teams), [("team", ",".join(teams))]),
        ("team", "", []),
    ]


def test_every_filter_draws_the_api_answer_in_one_request(tab: Any, large: Served) -> None:
    page = tab
    requests = Requests(page)
    view = (("direction", "both"), ("depth", "3"), ("max_nodes", "200"))
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=3")
    wait_shown(page, ROOT)
    unfiltered = api(large, DEPENDENCIES, *view)
    assert not unfiltered["statistics"]["truncated"]
    assert_drawn_is(page, unfiltered)
    # Filters as the page offers them: each change is one request, drawn as answered.
    sizes = []
    for control, value, params in filters_for(unfiltered):
        field = f"#filter-{control}"

        def change(field: str = field, value: Any = value) -> None:
            if page.eval_on_selector(field, "e => e.tagName") == "SELECT":
                page.select_option(field, value)
            else:
                page.fill(field, value)
                page.press(field, "Enter")

        urls = action(page, requests, change)
        assert len(urls) == 1, (control, value, urls)
        answer = api(large, DEPENDENCIES, *view, *params)
        for name, sent in params:
            assert f"{name}={sent}".replace(",", "%2C") in urls[0], (name, urls[0])
        assert_drawn_is(page, answer)
        sizes.append((control, value, len(answer["nodes"])))
    # Each filter narrows (and a cleared one draws everything again).
    everything = len(unfiltered["nodes"])
    for control, value, size in sizes:
        if value in ("", "0"):
            assert size == everything, (control, sizes)
        else:
            assert 0 < size < everything, (control, value, sizes)
    # The address keeps the filters.
    page.select_option("#filter-kind", "database")
    wait_shown(page, ROOT)
    assert "kind=database" in page.url
    page.reload()
    wait_shown(page, ROOT)
    assert page.input_value("#filter-kind") == "database"
    assert_drawn_is(page, api(large, DEPENDENCIES, *view, ("kind", "database")))


def test_blast_radius_marked_and_alone_equal_the_impact_answer(
    tab: Any, large: Served, artifacts_dir: Path
) -> None:
    page = tab
    requests = Requests(page)
    # The view's answer carries the blast radius as `include=impact` lists it: the 200
    # worst hit (of 211 here), counted in full.
    impact = api(large, f"/api/v1/services/{ROOT}/impact", ("max_affected", 200))
    affected = {a["service_id"]: a["impact"] for a in impact["affected"]}
    assert impact["totals"]["down"] > 0 and impact["totals"]["degraded"] > 0
    assert impact["truncated"] and len(affected) == 200

    page.goto(f"{large.url}/ui/#service={ROOT}&direction=upstream&depth=2")
    wait_shown(page, ROOT)
    page.wait_for_selector("#impact .blast-marked")
    requests.since_mark()
    # Marked on the drawing: the colours of the drawn services are the answer's.
    page.click("#impact .blast-marked")
    page.wait_for_selector("#graph.blast")
    drawn = picture(page)
    assert drawn["failed"] == [ROOT]
    in_view = {sid: impact for sid, impact in affected.items() if sid in drawn["nodes"]}
    assert drawn["impacts"] == in_view
    assert 0 < len(in_view) < len(affected)  # depth 2 draws part of the radius
    assert page.get_attribute("#impact .impact-drawn", "data-drawn") == str(len(in_view))
    assert "blast=marked" in page.url
    # The picture of docs/explorer.md (copied there with SLO_ENGINE_UPDATE_DOCS_SCREENSHOT=1).
    marked = artifacts_dir / "explorer-blast-radius.png"
    page.locator(".layout").screenshot(path=str(marked))
    if os.environ.get("SLO_ENGINE_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(marked, DOCS_PICTURE)
    # Every marked path edge lies on an explaining path, with its effect.
    # The worst effect any explaining path gives an edge's caller.
    effects: dict[str, str] = {}
    for a in impact["affected"]:
        for step in a["path_edges"]:
            key = f"{step['source']}>{step['target']}"
            if effects.get(key) != "down":
                effects[key] = step["effect"]
    assert drawn["effects"]
    for key, effect in drawn["effects"].items():
        assert effects.get(key) == effect, key

    # Alone: the failed service, every affected service listed, and the explaining paths.
    page.click("#impact .blast-alone")
    page.wait_for_function(
        "n => document.querySelectorAll('#graph .nodes .node').length === n",
        arg=len(affected) + 1,
    )
    alone = picture(page)
    assert sorted(alone["nodes"]) == sorted([ROOT, *affected])
    assert alone["impacts"] == affected
    assert {f"{s}>{t}" for s, t in alone["edges"]} == set(effects)
    assert requests.since_mark() == []  # drawn from the answer the panel holds
    assert f"Listing the 200 worst hit of {impact['totals']['affected']}" in page.inner_text(
        "#impact"
    )
    teams = page.eval_on_selector_all(
        "#impact .team-chart .bar-row",
        "rows => rows.map(r => [r.dataset.team, Number(r.dataset.down),"
        " Number(r.dataset.degraded)])",
    )
    assert teams == [
        [t["team"] or "", t["down"], t["degraded"]] for t in impact["totals"]["by_team"][:8]
    ]
    page.screenshot(path=str(artifacts_dir / "explorer-blast-alone.png"))

    # Off: the dependencies drawn again, unmarked, still without a request.
    page.click("#impact .blast-alone")
    page.wait_for_function("() => !document.querySelector('#graph.blast')")
    assert sorted(picture(page)["nodes"]) == sorted(drawn["nodes"])
    assert picture(page)["impacts"] == {}
    assert requests.since_mark() == []
    assert "blast=" not in page.url


def test_labels_shown_never_overlap_and_small_ones_hide(
    tab: Any, large: Served, artifacts_dir: Path
) -> None:
    page = tab
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=6")
    wait_shown(page, ROOT)
    page.wait_for_timeout(100)
    assert page.locator("#graph .nodes .node").count() == 201  # cut at max nodes 200
    fitted = overlapping_labels(page)
    assert fitted["overlaps"] == 0 and fitted["outside"] == 0, fitted
    # 200 services at "Fit" are drawn too small to read: their labels hide, the root's stays.
    assert fitted["hidden"] > 0 and fitted["shown"] >= 1
    page.screenshot(path=str(artifacts_dir / "explorer-2000-fit.png"))
    # Hovering a service shows its label.
    node = page.locator("#graph .nodes .node:not(.root)").first
    node.hover()
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector("
            "'#graph .nodes .node:not(.root):hover > text')).display"
        )
        != "none"
    )
    # Zoomed in, every label shows, still apart.
    for _ in range(4):
        page.click("#zoom-in")
    zoomed = overlapping_labels(page)
    assert zoomed["hidden"] == 0 and zoomed["overlaps"] == 0 and zoomed["outside"] == 0, zoomed
    page.screenshot(path=str(artifacts_dir / "explorer-2000-zoomed.png"))


def test_arrow_keys_walk_from_service_to_service(tab: Any, large: Served) -> None:
    page = tab
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=1")
    wait_shown(page, ROOT)
    page.focus(f'#graph .node.root[data-service-id="{ROOT}"]')
    left = page.evaluate(
        "() => document.querySelector('#graph .node.root').getBoundingClientRect().left"
    )
    # Left of the root lie its callers, right of it what it calls.
    page.keyboard.press("ArrowLeft")
    caller = page.evaluate("() => document.activeElement.dataset.side")
    assert caller == "up"
    assert page.evaluate("() => document.activeElement.getBoundingClientRect().left") < left
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.dataset.side") == "down"
    focused = page.evaluate("() => document.activeElement.dataset.serviceId")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#details h3:text-is('{focused}')")
    # On the drawing itself (no service focused), the arrows pan.
    before = page.get_attribute("#graph", "viewBox")
    page.keyboard.press("Escape")
    page.focus("#graph")
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#graph", "viewBox") != before


def test_at_1024_pixels_nothing_overlaps_or_overflows(
    tab: Any, large: Served, artifacts_dir: Path
) -> None:
    page = tab
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=2")
    wait_shown(page, ROOT)
    layout = page.evaluate(
        """() => {
            const rect = (e) => e.getBoundingClientRect();
            const apart = (a, b) => a.right <= b.left || b.right <= a.left
                || a.bottom <= b.top || b.bottom <= a.top;
            const clashes = (selector) => {
                const items = [...document.querySelectorAll(selector)]
                    .filter(e => e.offsetParent !== null).map(rect);
                let count = 0;
                for (let i = 0; i < items.length; i++)
                    for (let j = i + 1; j < items.length; j++)
                        if (!apart(items[i], items[j])) count += 1;
                return count;
            };
            return {
                scroll: document.documentElement.scrollWidth,
                header: rect(document.querySelector('header.top')).height,
                controls: clashes('header.top .field, header.top h1, header.top .sign-in-line'),
                filters: clashes('#filter-controls .field'),
                toolbar: clashes('.toolbar > *'),
                graph: rect(document.querySelector('#graph')).height,
            };
        }"""
    )
    assert layout["scroll"] <= 1024, layout
    assert layout["controls"] == 0 and layout["filters"] == 0 and layout["toolbar"] == 0, layout
    # Two rows of controls at most, and most of the height left to the drawing.
    assert layout["header"] < 120 and layout["graph"] > 300, layout
    page.screenshot(path=str(artifacts_dir / "explorer-1024.png"))


def test_plus_n_marks_where_the_answer_was_cut_and_open_from_there(
    tab: Any, large: Served, artifacts_dir: Path
) -> None:
    page = tab
    requests = Requests(page)
    answer = api(large, DEPENDENCIES, ("direction", "both"), ("depth", "3"), ("max_nodes", "25"))
    unlisted = answer["statistics"]["unlisted_neighbours"]
    assert answer["statistics"]["truncated"] and len(unlisted) > 3
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=3&max=25")
    wait_shown(page, ROOT)
    marks = page.eval_on_selector_all(
        "#graph .more-here",
        "all => all.map(m => [m.dataset.serviceId, Number(m.dataset.unlisted)])",
    )
    assert dict(marks) == unlisted
    # Each on its own box's corner, clear of every other box (however the columns fold).
    placed = page.evaluate(
        """() => {
            const boxes = new Map([...document.querySelectorAll('#graph .nodes .node')]
                .map(n => [n.dataset.serviceId, n.querySelector('rect').getBoundingClientRect()]));
            const meet = (a, b) => !(a.right <= b.left || b.right <= a.left
                || a.bottom <= b.top || b.bottom <= a.top);
            return [...document.querySelectorAll('#graph .more-here')].map(m => {
                const mark = m.querySelector('rect').getBoundingClientRect();
                const others = [...boxes].filter(([id, box]) =>
                    id !== m.dataset.serviceId && meet(mark, box)).length;
                return [meet(mark, boxes.get(m.dataset.serviceId)), others];
            });
        }"""
    )
    assert placed and all(own and others == 0 for own, others in placed), placed
    page.screenshot(path=str(artifacts_dir / "explorer-plus-n.png"))
    # A click draws that service's dependencies: one request, the same direction and depth.
    far = max(unlisted, key=lambda sid: (unlisted[sid], sid))
    requests.since_mark()
    page.click(f'#graph .more-here[data-service-id="{far}"]')
    page.wait_for_selector(f'#graph .node.root[data-service-id="{far}"]')
    page.wait_for_timeout(150)
    urls = requests.since_mark()
    assert len(urls) == 1 and f"/services/{far}/dependencies" in urls[0], urls
    assert "direction=both" in urls[0] and "depth=3" in urls[0]
    # Back returns to the cut view.
    page.go_back()
    wait_shown(page, ROOT)
    assert page.locator("#graph .more-here").count() == len(unlisted)


def test_a_rate_limited_filter_keeps_the_view_and_its_controls(tab: Any, large: Served) -> None:
    page = tab
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=2&kind=service")
    wait_shown(page, ROOT)
    before = picture(page)
    url = page.url

    def limited(route: Any) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "23", "Content-Type": "application/problem+json"},
            body=json.dumps({"title": "Too Many Requests", "status": 429, "detail": "slow down"}),
        )

    def discovered_only(url: str) -> bool:
        return "/dependencies" in url and "discovered=true" in url

    page.route(discovered_only, limited)
    page.select_option("#filter-discovered", "only")
    error = page.locator("#error")
    error.wait_for(state="visible")
    text = error.inner_text()
    assert "Retry in 23 s" in text and f"Still showing {ROOT} now" in text
    # The drawing, the address and every filter control as they were.
    assert picture(page) == before
    assert page.url == url
    assert page.input_value("#filter-discovered") == ""
    assert page.input_value("#filter-kind") == "service"
    # The next change asks with the filters drawn, not the refused one.
    page.unroute(discovered_only)
    page.select_option("#filter-kind", "")
    page.wait_for_function("() => !location.hash.includes('kind=')")
    wait_shown(page, ROOT)
    assert "discovered=" not in page.url


def test_the_blast_radius_follows_the_selection_and_always_has_a_way_back(
    tab: Any, large: Served
) -> None:
    page = tab
    impact = api(large, f"/api/v1/services/{ROOT}/impact", ("max_affected", 200))
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=upstream&depth=2")
    wait_shown(page, ROOT)
    # From the keyboard: the button pressed keeps the focus though the panel is redrawn.
    page.focus("#impact .blast-alone")
    page.keyboard.press("Enter")
    page.wait_for_selector("#graph.blast")
    assert page.evaluate("() => document.activeElement.classList.contains('blast-alone')")
    assert page.get_attribute("#impact .blast-alone", "aria-pressed") == "true"

    # A service whose failure hurts nobody, picked in the drawing alone: the dependencies
    # are drawn again (nothing to draw alone), and the buttons stay to turn it off.
    calm = next(
        a["service_id"]
        for a in impact["affected"]
        if not api(large, f"/api/v1/services/{a['service_id']}/impact")["affected"]
    )
    page.click(f'#graph .nodes .node[data-service-id="{calm}"]')
    page.wait_for_selector("#impact .impact-summary[data-affected='0']")
    page.wait_for_selector(f'#graph .node.root[data-service-id="{ROOT}"]')
    assert page.get_attribute("#impact .blast-alone", "aria-pressed") == "true"
    page.click("#impact .blast-alone")
    page.wait_for_function("() => !location.hash.includes('blast=')")

    # Marked, then another service whose blast radius cannot be read: no marks of the
    # earlier one are left on the drawing.
    page.click(f'#graph .node.root[data-service-id="{ROOT}"]')
    page.click("#impact .blast-marked")
    page.wait_for_selector("#graph.blast")
    other = next(
        sid
        for sid in page.eval_on_selector_all(
            "#graph .nodes .node", "all => all.map(n => n.dataset.serviceId)"
        )
        if sid != ROOT
    )

    def unavailable(route: Any) -> None:
        route.fulfill(
            status=503,
            headers={"Content-Type": "application/problem+json", "Retry-After": "5"},
            body=json.dumps({"title": "Service unavailable", "status": 503, "detail": "down"}),
        )

    page.route(lambda u: f"/api/v1/services/{other}?" in u, unavailable)
    page.click(f'#graph .nodes .node[data-service-id="{other}"]')
    page.wait_for_selector("#impact .note.error")
    assert not page.evaluate("() => document.querySelector('#graph').classList.contains('blast')")
    assert page.locator("#graph .node.failed, #graph [data-impact]").count() == 0
    assert "blast radius" not in page.inner_text("#graph-caption")


def test_a_wheel_zoom_keeps_the_point_under_the_pointer(tab: Any, large: Served) -> None:
    page = tab
    page.goto(f"{large.url}/ui/#service={ROOT}&direction=both&depth=3")
    wait_shown(page, ROOT)
    box = "#graph .nodes .node:not(.root) rect"
    centre = page.evaluate(
        f"""() => {{ const b = document.querySelector('{box}').getBoundingClientRect();
                   return [b.left + b.width / 2, b.top + b.height / 2]; }}"""
    )
    before = page.get_attribute("#graph", "viewBox")
    page.mouse.move(*centre)
    for _ in range(5):
        page.mouse.wheel(0, -120)
    # The drawing scales as a picture, then the view box is set once the wheel rests.
    page.wait_for_function(
        "b => { const s = document.querySelector('#graph');"
        " return s.getAttribute('viewBox') !== b && s.style.transform === ''; }",
        arg=before,
    )
    zoomed = [float(v) for v in (page.get_attribute("#graph", "viewBox") or "").split()]
    assert zoomed[2] < [float(v) for v in (before or "").split()][2] / 2
    after = page.evaluate(
        f"""() => {{ const b = document.querySelector('{box}').getBoundingClientRect();
                   return [b.left + b.width / 2, b.top + b.height / 2]; }}"""
    )
    assert abs(after[0] - centre[0]) < 2 and abs(after[1] - centre[1]) < 2, (centre, after)
