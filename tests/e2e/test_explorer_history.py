"""The explorer's time control and its what-changed panel, in a real browser (Debian's
Chromium through Playwright) against a real `slo-cli serve` process: the server, the
database and the page fixtures of test_explorer_page.py.

The story, written through the API once for the module: a small topology around
`hx-root`; the time `before` (a whole second, after that write); then `hx-a -> hx-old`
retracted (hx-old is reached by nothing else), `hx-b -> hx-new` added, `hx-root -> hx-b`
declared hard (changed), and an edge far from hx-root (`hx-far-1 -> hx-far-2`), which the
panel must leave out. The browser runs in
Asia/Kathmandu (UTC+05:45), so the times typed are not UTC and the offset is not whole
hours.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e import test_explorer_page as explorer_page
from tests.e2e.test_explorer_page import Explorer, drawn, enter_key, wait_for_root

# The page tests' fixtures, under their names (pytest finds fixtures by name in a module):
# a server on its own seeded database for this module, a fresh tab for each test.
explorer = explorer_page.explorer
page = explorer_page.page

DOCS_IMAGES = explorer_page.DOCS_SCREENSHOT.parent
BROWSER_ZONE = "Asia/Kathmandu"
# Nepal has kept UTC+05:45 all year since 1986.
BROWSER_OFFSET = timezone(timedelta(hours=5, minutes=45))
ROOT_VIEW = "#service=hx-root&direction=both&depth=3"
RETRACTED = ("hx-a", "hx-old")
ADDED = ("hx-b", "hx-new")
CHANGED = ("hx-root", "hx-b")
ELSEWHERE = ("hx-far-1", "hx-far-2")


@dataclass(frozen=True)
class Story:
    before: datetime  # after the first write, before the others (a whole second, UTC)


def write(explorer: Explorer, method: str, path: str, **body: Any) -> None:
    response = httpx.request(
        method,
        f"{explorer.url}/api/v1{path}",
        json=body or None,
        headers={"Authorization": f"Bearer {explorer.admin_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def ingest(explorer: Explorer, *pairs: tuple[str, str], **attributes: Any) -> None:
    edges = [{"source": s, "target": t, "attributes": attributes} for s, t in pairs]
    write(explorer, "POST", "/services/dependencies", source="manual", edges=edges)


@pytest.fixture(scope="module")
def story(explorer: Explorer) -> Story:
    ingest(
        explorer,
        ("hx-root", "hx-a"),
        RETRACTED,
        CHANGED,
        ("hx-b", "hx-c"),
    )
    # A whole second (the time control's precision) after that write's commit...
    before = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
    # ...and before the next ones.
    time.sleep((before - datetime.now(UTC)).total_seconds() + 0.3)
    caller, callee = RETRACTED
    write(explorer, "DELETE", f"/services/{caller}/dependencies/{callee}")
    ingest(explorer, ADDED, ELSEWHERE)
    ingest(explorer, CHANGED, criticality="hard")
    return Story(before)


def typed(moment: datetime) -> str:
    """What a person types in the datetime-local input for `moment`, in the browser's
    zone, as Chromium normalises it (no seconds when they are zero)."""
    local = moment.astimezone(BROWSER_OFFSET)
    return local.strftime("%Y-%m-%dT%H:%M" if local.second == 0 else "%Y-%m-%dT%H:%M:%S")


def sent(moment: datetime) -> str:
    """The time the page sends for `moment`: RFC 3339 with the browser zone's offset."""
    return moment.astimezone(BROWSER_OFFSET).isoformat()


def open_in_zone(page: Any, explorer: Explorer, hash_: str) -> None:
    """Open the page with the browser's clock in BROWSER_ZONE and enter the admin key."""
    session = page.context.new_cdp_session(page)
    session.send("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    page.goto(f"{explorer.url}/ui/{hash_}")
    enter_key(page, explorer.admin_key)


def screenshot(page: Any, artifacts_dir: Path, name: str, *, in_docs: bool = False) -> None:
    """Written to test-artifacts/; the one docs/explorer.md shows (`in_docs`) is copied to
    docs/img/ by hand when it changes, or with SLO_ENGINE_UPDATE_DOCS_SCREENSHOT=1, as
    test_explorer_page.py does with its own."""
    target = artifacts_dir / name
    page.screenshot(path=str(target))
    if in_docs and os.environ.get("SLO_ENGINE_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(target, DOCS_IMAGES / name)


def pairs(edges: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in edges}


def node_ids(answer: dict[str, Any]) -> set[str]:
    return {n["service_id"] for n in answer["nodes"]} | {answer["service"]["service_id"]}


def api_requests(page: Any) -> list[str]:
    """The URLs of the API requests the page makes from now on (a live list)."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "/api/v1/" in r.url else None)
    return urls


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def hash_state(page: Any) -> dict[str, list[str]]:
    """The view's state in the page URL's hash."""
    return parse_qs(urlsplit(page.url).fragment)


def ghosts(page: Any) -> dict[str, Any]:
    """The removed edges and the ghost services drawn."""
    result: dict[str, Any] = page.evaluate(
        """() => ({
            edges: [...document.querySelectorAll('#graph .ghost-edge')].map(e => ({
                source: e.dataset.source, target: e.dataset.target })),
            nodes: [...document.querySelectorAll('#graph .ghost-node')].map(n => ({
                id: n.dataset.serviceId, x: n.getBoundingClientRect().x })),
        })"""
    )
    return result


def listed(page: Any) -> set[tuple[str, str, str]]:
    """The what-changed panel's entries: (kind, status, what)."""
    rows = page.eval_on_selector_all(
        "#changes li.change",
        """all => all.map(li => [
            li.classList.contains('edge-change') ? 'edge'
                : li.classList.contains('service-change') ? 'service' : 'cycle',
            ['added', 'removed', 'changed', 'opened', 'resolved'].find(
                s => li.classList.contains(s)),
            li.dataset.serviceId ?? `${li.dataset.source} -> ${li.dataset.target}`])""",
    )
    return {tuple(row) for row in rows}


def test_a_chosen_time_draws_the_graph_as_it_was(
    page: Any, explorer: Explorer, story: Story, artifacts_dir: Path
) -> None:
    requests = api_requests(page)
    open_in_zone(page, explorer, ROOT_VIEW)
    wait_for_root(page, "hx-root")
    assert RETRACTED not in pairs(drawn(page)["edges"])
    assert page.locator("#as-of-banner").is_hidden()

    page.fill("#as-of", typed(story.before))
    asked_from = len(requests)
    page.click("#as-of-show")
    banner = page.locator("#as-of-banner")
    banner.wait_for(state="visible")
    page.wait_for_selector("#impact .impact-summary")

    # The drawing is the API's answer for that time: the retracted edge, not the new one.
    at = sent(story.before)
    then = explorer.subgraph("hx-root", direction="both", depth=3, as_of=at)
    picture = drawn(page)
    assert pairs(picture["edges"]) == pairs(then["edges"])
    assert len(picture["edges"]) == len(then["edges"])
    assert {n["id"] for n in picture["nodes"]} == node_ids(then)
    assert RETRACTED in pairs(picture["edges"]) and ADDED not in pairs(picture["edges"])

    # Every graph request of that view carried the time, with the browser's offset.
    asked = requests[asked_from:]
    graph_reads = [u for u in asked if "/api/v1/services/hx-root/" in u]
    # One request: the subgraph with the root's insights (include=), of that time.
    (graph_read,) = graph_reads
    assert urlsplit(graph_read).path.endswith("/hx-root/dependencies")
    assert query_of(graph_read)["include"] == ["impact,availability"]
    assert query_of(graph_read)["as_of"] == [at]
    assert at.endswith("+05:45")

    # The banner says it is the past, from the server's X-Graph-As-Of and revision.
    echoed = httpx.get(
        f"{explorer.url}/api/v1/services/hx-root/dependencies",
        params={"direction": "both", "depth": 3, "as_of": at},
        headers={"Authorization": f"Bearer {explorer.admin_key}"},
    )
    assert page.get_attribute("#as-of-time", "datetime") == echoed.headers["x-graph-as-of"]
    assert f"graph revision {echoed.headers['x-graph-revision']}" in banner.inner_text()
    assert "The past" in banner.inner_text()
    assert "past" in (page.get_attribute("#graph", "class") or "")
    screenshot(page, artifacts_dir, "explorer-as-of.png")

    # The search answers from then too: hx-new did not exist.
    page.fill("#service-search", "hx-")
    page.wait_for_selector('#service-suggestions li[data-service-id="hx-old"]')
    assert page.locator('#service-suggestions li[data-service-id="hx-new"]').count() == 0
    (search,) = [u for u in requests if "search=hx-" in u]
    assert query_of(search)["as_of"] == [at]
    page.keyboard.press("Escape")

    # The time is in the URL: a reload (or a link) shows the same past view.
    assert hash_state(page)["at"] == [at]
    page.reload()
    banner.wait_for(state="visible")
    wait_for_root(page, "hx-root")
    assert pairs(drawn(page)["edges"]) == pairs(then["edges"])
    assert page.input_value("#as-of") == typed(story.before)

    # From the banner: now, with what changed since that time marked.
    page.click("#as-of-banner-compare")
    page.wait_for_selector('#graph .ghost-edge[data-source="hx-a"][data-target="hx-old"]')
    assert banner.is_hidden()
    state = hash_state(page)
    assert state["since"] == [at] and "at" not in state
    assert page.input_value("#as-of") == ""


def test_what_changed_since_a_time_is_listed_and_marked(
    page: Any, explorer: Explorer, story: Story, artifacts_dir: Path
) -> None:
    requests = api_requests(page)
    open_in_zone(page, explorer, ROOT_VIEW)
    wait_for_root(page, "hx-root")
    assert page.locator("#legend-changes").is_hidden()

    page.fill("#compare-since", typed(story.before))
    page.click("#compare-show")
    page.wait_for_selector('#graph .ghost-edge[data-source="hx-a"][data-target="hx-old"]')

    # One diff request for the action, from the time typed, to now (no `to`).
    at = sent(story.before)
    diffs = [u for u in requests if "/api/v1/graph/diff" in u]
    assert len(diffs) == 1
    assert query_of(diffs[0]) == {"from": [at]}

    # The drawing is now's graph; the new edge is marked added, the retracted one is a
    # dashed ghost to a ghost box (hx-old is in the subgraph no more), one column out.
    now = explorer.subgraph("hx-root", direction="both", depth=3)
    picture = drawn(page)
    assert pairs(picture["edges"]) == pairs(now["edges"])
    assert {n["id"] for n in picture["nodes"]} == node_ids(now)
    marked = {
        status: {(e["source"], e["target"]) for e in picture["edges"] if status in e["classes"]}
        for status in ("added", "changed")
    }
    assert marked == {"added": {ADDED}, "changed": {CHANGED}}
    (added_node,) = [n["id"] for n in picture["nodes"] if "added" in n["classes"]]
    assert added_node == "hx-new"
    gone = ghosts(page)
    assert pairs(gone["edges"]) == {RETRACTED}
    assert [n["id"] for n in gone["nodes"]] == ["hx-old"]
    x = {n["id"]: n["x"] for n in picture["nodes"]}
    assert gone["nodes"][0]["x"] > x["hx-a"]
    halos = page.eval_on_selector_all(
        "#graph .change-halo", "all => all.map(h => [h.classList[1], getComputedStyle(h).stroke])"
    )
    assert sorted(halos) == [["added", "rgb(46, 139, 62)"], ["changed", "rgb(123, 82, 171)"]]
    ghost = page.locator("#graph .ghost-edge")
    assert ghost.evaluate("e => getComputedStyle(e).strokeDasharray") != "none"
    assert page.locator("#legend-changes").is_visible()

    # The panel lists exactly what touches the drawn subgraph; the API's whole diff has
    # the far edge and its services as well.
    assert listed(page) == {
        ("edge", "added", "hx-b -> hx-new"),
        ("edge", "removed", "hx-a -> hx-old"),
        ("edge", "changed", "hx-root -> hx-b"),
        ("service", "added", "hx-new"),
    }
    whole = explorer.api("/graph/diff", **{"from": at})
    assert ELSEWHERE in pairs(whole["edges"]["added"])
    assert {s["service_id"] for s in whole["services"]["added"]} >= {"hx-new", *ELSEWHERE}
    summary = page.locator("#changes .changes-summary")
    assert summary.get_attribute("data-added") == "1"
    assert summary.get_attribute("data-removed") == "1"
    assert summary.get_attribute("data-changed") == "1"
    assert "reported by manual" in page.inner_text('#changes li.added[data-source="hx-b"]')
    assert "manual: criticality — → hard" in page.inner_text("#changes li.changed")
    assert hash_state(page)["since"] == [at]
    screenshot(page, artifacts_dir, "explorer-changes.png", in_docs=True)

    # Picking a listed service selects it in the graph.
    page.click('#changes li.service-change[data-service-id="hx-new"] button')
    page.wait_for_selector("#details h3:text-is('hx-new')")

    # Another action (re-rooting on hx-b) asks once more, and hx-a -> hx-old, which
    # hx-b's subgraph would not draw, is left out of the list and the drawing.
    page.dblclick('#graph .node[data-service-id="hx-b"]')
    wait_for_root(page, "hx-b")
    page.wait_for_selector("#changes .changes-summary[data-removed='0']")
    assert len([u for u in requests if "/api/v1/graph/diff" in u]) == 2
    assert listed(page) == {
        ("edge", "added", "hx-b -> hx-new"),
        ("edge", "changed", "hx-root -> hx-b"),
        ("service", "added", "hx-new"),
    }
    assert ghosts(page) == {"edges": [], "nodes": []}

    # Clear: no marks, no diff request.
    page.click("#compare-clear")
    page.wait_for_selector("#changes p.note")
    assert page.locator("#graph .change-halo").count() == 0
    assert len([u for u in requests if "/api/v1/graph/diff" in u]) == 2
    assert "since" not in hash_state(page)


def problem_detail(explorer: Explorer, path: str, **params: Any) -> str:
    response = httpx.get(
        f"{explorer.url}/api/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {explorer.admin_key}"},
    )
    assert response.status_code in (400, 410), response.text
    detail: str = response.json()["detail"]
    return detail


def test_a_time_beyond_the_history_says_why_and_keeps_the_view(
    page: Any, explorer: Explorer, story: Story
) -> None:
    open_in_zone(page, explorer, ROOT_VIEW)
    wait_for_root(page, "hx-root")
    page.fill("#compare-since", typed(story.before))
    page.click("#compare-show")
    page.wait_for_selector("#graph .ghost-edge")

    def drawing() -> dict[str, Any]:
        """The drawing as drawn: its view box, nodes and edges (not where they land on
        screen, which the error line above the drawing moves)."""
        picture = {**drawn(page), "ghosts": ghosts(page)}
        for node in [*picture["nodes"], *picture["ghosts"]["nodes"]]:
            del node["x"]
        return {"view": page.get_attribute("#graph", "viewBox"), **picture}

    kept = {
        "url": page.url,
        "picture": drawing(),
        "listed": listed(page),
        "since": page.input_value("#compare-since"),
    }

    def still_as_it_was() -> None:
        assert page.url == kept["url"]
        assert drawing() == kept["picture"]
        assert listed(page) == kept["listed"]
        assert page.input_value("#compare-since") == kept["since"]
        assert page.input_value("#as-of") == ""
        assert page.locator("#as-of-banner").is_hidden()

    error = page.locator("#error")
    old = datetime(2000, 1, 1, 9, 30, tzinfo=BROWSER_OFFSET)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    cases = [
        ("#as-of", "#as-of-show", "/services/hx-root/dependencies", "as_of", old),  # 410
        ("#as-of", "#as-of-show", "/services/hx-root/dependencies", "as_of", tomorrow),  # 400
        ("#compare-since", "#compare-show", "/graph/diff", "from", old),  # 410
        ("#compare-since", "#compare-show", "/graph/diff", "from", tomorrow),  # 400
    ]
    for field, button, path, parameter, when in cases:
        moment = when.replace(microsecond=0)
        detail = problem_detail(explorer, path, **{parameter: sent(moment)})
        page.fill(field, typed(moment))
        page.click(button)
        page.wait_for_function(
            "detail => document.querySelector('#error').textContent.includes(detail)", arg=detail
        )
        assert error.is_visible()
        assert "Still showing hx-root now." in error.inner_text()
        still_as_it_was()

    # A good time after those: shown, and the message goes.
    page.fill("#as-of", typed(story.before))
    page.click("#as-of-show")
    page.locator("#as-of-banner").wait_for(state="visible")
    assert error.is_hidden()
