"""What the explorer's picture says besides the graph's shape, in a real browser (Debian's
Chromium through Playwright) against a real `slo-cli serve` process (the server, the
database and the page fixtures of test_explorer_page.py): drift marks, team colours,
criticality badges, edge widths and colours from the observed figures, and the export of
the drawing as SVG and PNG.

The page tests' database already drifts: checkoutservice declares six calls that traffic
(which sees checkoutservice) never shows, and the observed-only extras (order-events,
fraud-check, the mesh's shippingservice -> checkoutservice). This module adds, through the
API, a small `dr-` topology with a mismatch (declared async and soft, observed sync and
hard), an observed-only edge and a declared-only one, with figures in every width and
colour class.
"""

from __future__ import annotations

import base64
import re
import struct
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from tests.e2e import test_explorer_page as explorer_page
from tests.e2e.test_explorer_page import Explorer, drawn, open_explorer, wait_for_root

# The page tests' fixtures, under their names (pytest finds fixtures by name in a module):
# a server on its own seeded database for this module, a fresh tab for each test.
explorer = explorer_page.explorer
page = explorer_page.page

CHECKOUT_VIEW = "#service=checkoutservice&direction=both&depth=3"
DRIFT_VIEW = "#service=dr-orders&direction=both&depth=2"
# A second ago, as the page's datetime-local field takes it (the browser's local time).
LOCAL_SECOND_AGO = """() => {
    const d = new Date(Date.now() - 1000);
    d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    return d.toISOString().slice(0, 19);
}"""

DECLARED = {
    "source": "manual",
    "nodes": [
        {"service_id": "dr-orders", "team": "orders", "criticality": "high"},
        {"service_id": "dr-mailer", "team": "messaging", "criticality": "low"},
        {"service_id": "dr-ledger", "team": "finance", "criticality": "critical"},
        {"service_id": "dr-legacy", "team": "orders", "criticality": "medium"},
    ],
    "edges": [
        {
            "source": "dr-orders",
            "target": "dr-mailer",
            "attributes": {"communication_mode": "async", "criticality": "soft"},
        },
        {"source": "dr-orders", "target": "dr-ledger", "attributes": {"criticality": "hard"}},
        {"source": "dr-orders", "target": "dr-legacy", "attributes": {"criticality": "hard"}},
    ],
}
OBSERVED = {
    "source": "service_mesh",
    "edges": [
        # Declared async and soft, seen sync and hard: a mismatch on both fields.
        {
            "source": "dr-orders",
            "target": "dr-mailer",
            "attributes": {
                "communication_mode": "sync",
                "criticality": "hard",
                "request_rate": 150.0,
                "error_rate": 0.08,
                "latency_p95_ms": 40,
            },
        },
        # Declared and seen alike: no drift.
        {
            "source": "dr-orders",
            "target": "dr-ledger",
            "attributes": {"request_rate": 20.0, "error_rate": 0.002, "latency_p95_ms": 12},
        },
        # Seen, declared by nobody.
        {
            "source": "dr-orders",
            "target": "dr-audit",
            "attributes": {"request_rate": 0.4, "error_rate": 0.03, "latency_p95_ms": 5},
        },
    ],
    # dr-orders -> dr-legacy: declared, and traffic sees dr-orders: declared only.
}


def fnv_colour(team: str, palette: list[str]) -> str:
    """The page's team colour, computed here on its own: 32-bit FNV-1a of the name."""
    value = 0x811C9DC5
    for character in team:
        value ^= ord(character)
        value = (value * 0x01000193) & 0xFFFFFFFF
    return palette[value % len(palette)]


def rate_class(rate: float | None) -> str | None:
    if rate is None:
        return None
    return f"rate-{sum(rate >= bound for bound in (1, 10, 100))}"


def error_class(errors: float | None) -> str | None:
    if errors is None:
        return None
    return "errors-high" if errors >= 0.05 else "errors-some" if errors >= 0.01 else "errors-low"


@pytest.fixture(scope="module")
def drift_story(explorer: Explorer) -> None:
    for document in (DECLARED, OBSERVED):
        response = httpx.post(
            f"{explorer.url}/api/v1/services/dependencies",
            json=document,
            headers={"Authorization": f"Bearer {explorer.admin_key}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


def api_drift(explorer: Explorer, services: set[str], edges: set[tuple[str, str]]) -> set[Any]:
    """The drift of the drawn edges as the API's per-service answers give it:
    (source, target, kind) of every item of every drawn service's edges that is drawn."""
    found = set()
    for service in services:
        answer = explorer.api(f"/services/{service}/drift", limit=1000)
        assert answer["next_cursor"] is None
        for item in answer["items"]:
            if (item["source"], item["target"]) in edges:
                found.add((item["source"], item["target"], item["drift"]))
    return found


def marked(page: Any, selector: str) -> set[Any]:
    """(source, target, kind) of every drawn element matching `selector`."""
    return {
        tuple(mark)
        for mark in page.eval_on_selector_all(
            selector,
            "all => all.map(e => [e.dataset.source, e.dataset.target, e.dataset.drift])",
        )
    }


def graph_reads(requests: list[str]) -> list[str]:
    return [url for url in requests if "/dependencies?" in url]


def test_drift_marks_are_the_apis_drift_of_the_view(
    page: Any, explorer: Explorer, drift_story: None
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_explorer(page, explorer, CHECKOUT_VIEW)
    wait_for_root(page, "checkoutservice")
    page.wait_for_selector("#graph .drift-badge")

    # One request drew it, with the drift in it.
    (read,) = graph_reads(requests)
    assert "include=impact%2Cavailability%2Cdrift" in read

    picture = drawn(page)
    services = {n["id"] for n in picture["nodes"]}
    edges = {(e["source"], e["target"]) for e in picture["edges"]}
    expected = api_drift(explorer, services, edges)
    assert marked(page, "#graph .edge[data-drift]") == expected
    assert marked(page, "#graph .drift-badge") == expected
    halos = page.eval_on_selector_all(
        "#graph .drift-halo",
        "all => all.map(e => [e.dataset.source, e.dataset.target, e.classList[1]])",
    )
    assert {tuple(h) for h in halos} == expected
    # What the drift author said the database holds: six declared-only checkout calls,
    # and the observed-only extras.
    declared = {(s, t) for s, t, kind in expected if kind == "declared_only"}
    assert len(declared) == 6 and all(s == "checkoutservice" for s, _ in declared)
    assert {(s, t) for s, t, kind in expected if kind == "observed_only"} == {
        ("checkoutservice", "order-events"),
        ("paymentservice", "fraud-check"),
        ("shippingservice", "checkoutservice"),
    }
    # The root's own drift, as its drift endpoint answers it, is on its edges.
    root = explorer.api("/services/checkoutservice/drift", limit=1000)
    assert {(i["source"], i["target"], i["drift"]) for i in root["items"]} <= expected
    summary = page.locator("#drift-summary")
    assert summary.get_attribute("data-declared-only") == "6"
    assert summary.get_attribute("data-observed-only") == "3"
    assert "6 declared only, 3 observed only, 0 mismatch" in summary.inner_text()

    # The legend says what each mark is.
    legend = page.locator("#legend-picture .legend-drift")
    assert legend.is_visible()
    assert all(
        words in legend.inner_html() for words in ("declared only", "observed only", "mismatch")
    )

    # Only drift: everything else fades; no request.
    asked = len(requests)
    page.select_option("#drift-filter", "only")
    assert page.get_attribute("#graph", "data-drift-filter") == "only"
    assert "drift=only" in page.url
    opacity = "e => Number(getComputedStyle(e).opacity)"
    plain = '#graph .edge[data-source="frontend"][data-target="checkoutservice"]'
    assert page.eval_on_selector(plain, opacity) < 0.2
    drifting = '#graph .edge[data-source="checkoutservice"][data-target="paymentservice"]'
    assert page.eval_on_selector(drifting, opacity) == 1
    assert page.eval_on_selector('#graph .node[data-service-id="loadgenerator"]', opacity) < 0.5
    assert page.eval_on_selector('#graph .node[data-service-id="fraud-check"]', opacity) == 1
    # Hidden: no halo, no badge; the edges stay.
    page.select_option("#drift-filter", "hide")
    assert page.locator("#graph .drift-badge").first.is_hidden()
    assert page.locator("#graph .drift-halo").first.is_hidden()
    assert page.eval_on_selector(plain, opacity) == 1
    page.select_option("#drift-filter", "show")
    assert page.locator("#graph .drift-badge").first.is_visible()
    assert graph_reads(requests[asked:]) == []
    assert "drift=" not in page.url

    # The service panel lists each edge's drift with its evidence; a badge selects the
    # caller and brings the edge's row into view.
    page.click('#graph .node[data-service-id="paymentservice"]')
    row = page.locator('#details .edge-row[data-target="fraud-check"]')
    row.wait_for()
    assert row.get_attribute("data-drift") == "observed_only"
    evidence = row.locator(".edge-drift").inner_text()
    assert "Observed only: seen by otel_service_graph" in evidence
    assert "declared by nobody" in evidence and "3.2 req/s, 2.00 % errors, p95 120 ms" in evidence
    page.click('#graph .drift-badge[data-target="productcatalogservice"]')
    row = page.locator('#details .edge-row.focused[data-target="productcatalogservice"]')
    row.wait_for()
    evidence = row.locator(".edge-drift").inner_text()
    assert "Declared only: declared by manual; no traffic seen in the last 168 h" in evidence
    assert "service_mesh, otel_service_graph" in evidence
    title = page.text_content('#graph .drift-badge[data-target="productcatalogservice"] title')
    assert "checkoutservice → productcatalogservice: Declared only" in (title or "")


def test_a_mismatch_lists_each_field_and_a_past_view_asks_no_drift(
    page: Any, explorer: Explorer, drift_story: None
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    open_explorer(page, explorer, DRIFT_VIEW)
    wait_for_root(page, "dr-orders")
    page.wait_for_selector("#graph .drift-badge")
    picture = drawn(page)
    edges = {(e["source"], e["target"]) for e in picture["edges"]}
    expected = api_drift(explorer, {n["id"] for n in picture["nodes"]}, edges)
    assert expected == {
        ("dr-orders", "dr-mailer", "mismatch"),
        ("dr-orders", "dr-audit", "observed_only"),
        ("dr-orders", "dr-legacy", "declared_only"),
    }
    assert marked(page, "#graph .edge[data-drift]") == expected
    assert "drift-mismatch" in page.get_attribute('#graph .edge[data-target="dr-mailer"]', "class")
    assert page.text_content('#graph .drift-badge[data-target="dr-mailer"] text') == "≠"
    evidence = page.locator('#details .edge-row[data-target="dr-mailer"] .edge-drift').inner_text()
    assert "criticality declared soft, observed hard" in evidence
    assert "communication_mode declared async, observed sync" in evidence
    assert "declared by manual, observed by service_mesh" in evidence

    # A past graph: drift is judged against the clock, so it is not asked, and the page
    # says so instead of marking nothing silently.
    at = page.evaluate("() => new Date(Date.now() - 1000).toISOString()")
    response = httpx.get(
        f"{explorer.url}/api/v1/services/dr-orders/dependencies",
        params={"direction": "both", "depth": 2, "as_of": at},
        headers={"Authorization": f"Bearer {explorer.admin_key}"},
    )
    assert response.status_code == 200, response.text
    asked = len(requests)
    page.fill("#as-of", page.evaluate(LOCAL_SECOND_AGO))
    page.click("#as-of-show")
    page.locator("#as-of-banner").wait_for(state="visible")
    page.wait_for_function("() => document.querySelectorAll('#graph .drift-badge').length === 0")
    (read,) = graph_reads(requests[asked:])
    assert "include=impact%2Cavailability&" in read + "&"
    assert page.is_disabled("#drift-filter")
    assert "not judged for a past graph" in page.inner_text("#drift-summary")


def test_teams_criticality_and_traffic_figures_on_the_picture(
    page: Any, explorer: Explorer, drift_story: None
) -> None:
    open_explorer(page, explorer, DRIFT_VIEW)
    wait_for_root(page, "dr-orders")
    answer = explorer.subgraph("dr-orders", direction="both", depth=2)
    palette = page.evaluate("async () => (await import('/ui/js/marks.js')).TEAM_PALETTE")
    assert len(set(palette)) == len(palette) >= 8

    # Nodes: the team's stripe and the criticality badge, as the API says.
    nodes = page.eval_on_selector_all(
        "#graph .node",
        """all => all.map(n => ({
            id: n.dataset.serviceId, team: n.dataset.team ?? null,
            stripe: n.querySelector('.team-stripe')?.getAttribute('fill') ?? null,
            badge: n.querySelector('.criticality-badge')?.textContent ?? null,
            badgeClass: n.querySelector('.criticality-badge')?.classList[1] ?? null }))""",
    )
    services = {n["service_id"]: n for n in [answer["service"], *answer["nodes"]]}
    assert {n["id"] for n in nodes} == set(services)
    for node in nodes:
        service = services[node["id"]]
        team, criticality = service["team"], service["criticality"]
        assert node["team"] == team
        assert node["stripe"] == (fnv_colour(team, palette) if team else None)
        assert node["badge"] == (criticality[0].upper() if criticality else None)
        assert node["badgeClass"] == criticality
    stripes = {n["id"]: n["stripe"] for n in nodes}
    assert stripes["dr-orders"] == stripes["dr-legacy"]  # one team, one colour
    assert stripes["dr-audit"] is None  # discovered only: no team
    assert {n["badge"] for n in nodes} == {"C", "H", "M", "L", None}

    # The legend lists the teams in view with the same colours.
    legend = page.eval_on_selector_all(
        "#legend-teams .team-entry",
        "all => all.map(e => [e.dataset.team, e.querySelector('rect').getAttribute('fill')])",
    )
    teams = sorted({s["team"] for s in services.values() if s["team"]})
    assert legend == [[team, fnv_colour(team, palette)] for team in teams]

    # Edges: width class by request rate, colour class by error rate, figures in the title.
    edges = page.eval_on_selector_all(
        "#graph .edge",
        """all => all.map(e => ({
            pair: [e.dataset.source, e.dataset.target], classes: [...e.classList],
            title: e.querySelector('title').textContent,
            width: getComputedStyle(e).strokeWidth, stroke: getComputedStyle(e).stroke }))""",
    )
    by_pair = {tuple(e["pair"]): e for e in edges}
    assert len(by_pair) == len(answer["edges"])
    for edge in answer["edges"]:
        shown = by_pair[(edge["source"], edge["target"])]
        rate, errors = edge["attributes"]["request_rate"], edge["attributes"]["error_rate"]
        assert {c for c in shown["classes"] if c.startswith("rate-")} == (
            {rate_class(rate)} if rate is not None else set()
        )
        assert {c for c in shown["classes"] if c.startswith("errors-")} == (
            {error_class(errors)} if errors is not None else set()
        )
    mailer = by_pair[("dr-orders", "dr-mailer")]
    assert {"rate-3", "errors-high"} <= set(mailer["classes"])
    assert "150.0 req/s, 8.00 % errors, p95 40 ms" in mailer["title"]
    assert mailer["width"] == "5.2px" and mailer["stroke"] == "rgb(143, 29, 29)"
    assert {"rate-2", "errors-low"} <= set(by_pair[("dr-orders", "dr-ledger")]["classes"])
    assert {"rate-0", "errors-some"} <= set(by_pair[("dr-orders", "dr-audit")]["classes"])
    legacy = by_pair[("dr-orders", "dr-legacy")]
    assert "no traffic figures" in legacy["title"] and legacy["width"] == "1.4px"
    widths = [float(by_pair[("dr-orders", t)]["width"][:-2]) for t in ("dr-audit", "dr-ledger")]
    assert 1.4 < widths[0] < widths[1] < 5.2

    # A cycle stays red whatever its error rate.
    page.evaluate("view => { location.hash = view; }", CHECKOUT_VIEW)
    wait_for_root(page, "checkoutservice")
    cycle = page.locator(
        '#graph .edge[data-source="shippingservice"][data-target="checkoutservice"]'
    )
    assert {"cycle", "rate-1", "errors-low"} <= set((cycle.get_attribute("class") or "").split())
    assert cycle.evaluate("e => getComputedStyle(e).stroke") == "rgb(198, 40, 40)"


SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_download_the_drawing_as_svg_and_png(
    page: Any, explorer: Explorer, drift_story: None, browser: Any, tmp_path: Path
) -> None:
    open_explorer(page, explorer, CHECKOUT_VIEW)
    wait_for_root(page, "checkoutservice")
    page.wait_for_selector("#graph .drift-badge")
    ids = {n["id"] for n in drawn(page)["nodes"]}
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.click("#zoom-in")  # the file holds the whole drawing, not the part zoomed to

    with page.expect_download() as svg_download:
        page.click("#download-svg")
    assert svg_download.value.suggested_filename == "slo-engine-checkoutservice-both-depth3.svg"
    svg_path = tmp_path / "drawing.svg"
    svg_download.value.save_as(svg_path)
    text = svg_path.read_text()
    root = ElementTree.fromstring(text.encode())
    assert root.tag == f"{SVG}svg"
    assert {e.get("data-service-id") for e in root.iter() if e.get("data-service-id")} == ids
    width, height = float(root.get("width") or 0), float(root.get("height") or 0)
    x, y, view_width, view_height = (float(v) for v in (root.get("viewBox") or "").split())
    assert (width, height) == (pytest.approx(view_width, abs=1), pytest.approx(view_height, abs=1))
    # Its look is written into it: no stylesheet needed.
    assert root.find(f"{SVG}style") is None
    edges = [e for e in root.iter(f"{SVG}path") if "edge" in (e.get("class") or "").split()]
    assert edges and all(e.get("stroke") and e.get("stroke-width") for e in edges)
    (cycle,) = [
        e
        for e in edges
        if (e.get("data-source"), e.get("data-target")) == ("shippingservice", "checkoutservice")
    ]
    assert cycle.get("stroke") == "rgb(198, 40, 40)"
    badges = [e for e in root.iter(f"{SVG}g") if "drift-badge" in (e.get("class") or "").split()]
    assert len(badges) == page.locator("#graph .drift-badge").count()

    with page.expect_download() as png_download:
        page.click("#download-png")
    assert png_download.value.suggested_filename.endswith("checkoutservice-both-depth3.png")
    png_path = tmp_path / "drawing.png"
    png_download.value.save_as(png_path)
    png = png_path.read_bytes()
    assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
    png_width, png_height = struct.unpack(">II", png[16:24])
    assert abs(png_width - 2 * view_width) <= 2 and abs(png_height - 2 * view_height) <= 2
    assert len(png) > 20_000
    assert [url for url in requests if "/api/" in url] == []  # saving asks nothing

    # Both stand on their own, in a page with no stylesheet: the SVG draws the cycle red
    # and the root's box blue; the PNG has the root's blue where the root's box is.
    (node,) = [e for e in root.iter(f"{SVG}g") if e.get("data-service-id") == "checkoutservice"]
    match = re.fullmatch(r"translate\(([-\d.]+),\s*([-\d.]+)\)", node.get("transform") or "")
    assert match
    centre = (
        (float(match[1]) - x) * png_width / view_width,
        (float(match[2]) - y) * png_height / view_height,
    )
    blank = browser.new_context()
    try:
        viewer = blank.new_page()
        viewer.set_content(f"<!doctype html><body>{text.split('?>', 1)[1]}</body>")
        assert (
            viewer.eval_on_selector(
                'path.edge[data-source="shippingservice"][data-target="checkoutservice"]',
                "e => getComputedStyle(e).stroke",
            )
            == "rgb(198, 40, 40)"
        )
        root_box = 'g[data-service-id="checkoutservice"] rect'
        assert (
            viewer.eval_on_selector(root_box, "e => getComputedStyle(e).fill") == "rgb(36, 87, 197)"
        )
        viewer.screenshot(path=str(tmp_path / "standalone.png"))
        pixel = viewer.evaluate(
            """async ([data, x, y]) => {
                const image = new Image();
                image.src = 'data:image/png;base64,' + data;
                await image.decode();
                const canvas = document.createElement('canvas');
                canvas.width = image.width; canvas.height = image.height;
                const context = canvas.getContext('2d');
                context.drawImage(image, 0, 0);
                // Left of the label, inside the box.
                return [...context.getImageData(Math.round(x) - 50, Math.round(y) - 8, 1, 1).data];
            }""",
            [base64.b64encode(png).decode(), *centre],
        )
        assert pixel == [36, 87, 197, 255]
    finally:
        blank.close()


def test_a_cut_drawing_offers_more_in_one_request(
    page: Any, explorer: Explorer, drift_story: None
) -> None:
    """The answer says only that it was cut, not which services lost neighbours: one
    marker under the drawing (and a button in the banner) asks again with twice the bound."""
    open_explorer(page, explorer, "#service=hub&direction=downstream&depth=2&max=150")
    wait_for_root(page, "hub")
    marker = page.locator("#graph .more-marker")
    marker.wait_for()
    assert "+ more services not drawn (max nodes 150): show up to 300" in (
        marker.text_content() or ""
    )
    assert page.inner_text("#truncated-more") == "Show up to 300"
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    marker.click()
    page.wait_for_function("() => document.querySelectorAll('#graph .node').length === 261")
    (read,) = graph_reads(requests)
    assert "max_nodes=300" in read and "max=300" in page.url
    assert page.input_value("#max-nodes") == "300"
    assert page.locator("#graph .more-marker").count() == 0
    assert page.locator("#truncated-banner").is_hidden()
    # Back returns to the cut view.
    page.go_back()
    page.wait_for_function("() => document.querySelectorAll('#graph .node').length === 151")
    page.click("#truncated-more")
    page.wait_for_function("() => document.querySelectorAll('#graph .node').length === 261")
