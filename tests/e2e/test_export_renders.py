"""The DOT and Mermaid exports render in their own tools: Graphviz's `dot -Tsvg`, and
Mermaid itself in a real browser (Chromium through Playwright).

Real topologies (examples/, ingested through the API) must come out with exactly
their services and edges, and hostile display names and teams must render as the very
text they are. Mermaid is installed at test time, outside git, by `make test`
(`npm install --prefix .test-tools mermaid@11`); in CI a missing tool fails, elsewhere
it skips with the reason.

The exports are made once per module, on SQLite, in a worker thread: the session's
Playwright keeps an event loop running on the main thread, where the database fixtures'
`asyncio.run` would then fail. (What the exports hold is engine-independent and checked
on both engines by test_exports.py.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from slo_engine.app import create_app
from slo_engine.infra.migrate import upgrade_database
from slo_engine.jobs.runner import JOBS
from tests.e2e.conftest import (
    BOUTIQUE,
    INGEST,
    JSON_CONTENT,
    SOCK_SHOP,
    ingest,
    query,
    settings_for,
)

REPOSITORY = Path(__file__).resolve().parents[2]
TOPOLOGIES = [BOUTIQUE, SOCK_SHOP]
MERMAID_JS = REPOSITORY / ".test-tools" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
SVG = "{http://www.w3.org/2000/svg}"
GRAPH = "/api/v1/graph"

# Free text as people type it, and worse: quotes, backslashes (Graphviz's \N escape),
# entities, markup, Mermaid's shape and link characters, a comment marker, non-ASCII.
HOSTILE_NAME = 'Pay "Now" \\N <b>&amp;</b> [x] {y} (z) |p| #35; `t` ;%% end --> é✓'
HOSTILE_TEAM = "a&b <i>team</i> 'q'"
# Mermaid drops the last `;` of a line matching `style.*:\S*#.*;` (or `classDef...`)
# before decoding `#N;` codes: a `:` in a label, then a coded character, would match.
STYLE_LIKE = {"lifestyle:8080": "Lifestyle:Café", "classDef:x": "Zürich"}
# Control characters (C0, DEL, C1) are shown as spaces.
CONTROLS = "bell\x07nel\x85csi\x9bdel\x7fend"
CONTROLS_SHOWN = "bell nel csi del end"


def tool_missing(what: str, how: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} must be installed in CI: {how}")
    pytest.skip(f"{what} is not installed: {how}")


def expected_graph(topology: Path) -> tuple[set[str], set[tuple[str, str]]]:
    document = json.loads(topology.read_text())
    pairs = {(e["source"], e["target"]) for e in document["edges"]}
    services = {n["service_id"] for n in document.get("nodes") or []}
    services |= {s for pair in pairs for s in pair}
    return services, pairs


def ingest_file(client: TestClient, topology: Path) -> None:
    response = client.post(INGEST, content=topology.read_bytes(), headers=JSON_CONTENT)
    assert response.status_code == 200, response.text


def get_text(client: TestClient, path: str, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.text


def whole_graph(topology: Path) -> Callable[[TestClient], dict[str, Any]]:
    def make(client: TestClient) -> dict[str, Any]:
        ingest_file(client, topology)
        return {f: get_text(client, GRAPH, format=f) for f in ("dot", "mermaid")}

    return make


def hostile(client: TestClient) -> dict[str, Any]:
    ingest(
        client,
        [
            ("api", "payments"),
            ("payments", "db"),
            ("api", "queue"),
            ("api", "lifestyle:8080"),
            ("lifestyle:8080", "classDef:x"),
            ("api", "controls"),
        ],
        nodes=[
            {"service_id": "payments", "display_name": HOSTILE_NAME, "team": HOSTILE_TEAM},
            {"service_id": "api", "display_name": "line one\nline two"},
            {"service_id": "controls", "display_name": CONTROLS},
            *({"service_id": i, "display_name": name} for i, name in STYLE_LIKE.items()),
        ],
    )
    return {f: get_text(client, GRAPH, format=f) for f in ("dot", "mermaid")}


def every_style(client: TestClient) -> dict[str, Any]:
    """A subgraph with every edge style: hard, soft, degraded, async, stale; a
    discovered-only service; and a node of every kind."""
    ingest_file(client, BOUTIQUE)
    ingest(
        client,
        [
            {
                "source": "frontend",
                "target": "events",
                "attributes": {"communication_mode": "async", "criticality": "soft"},
            },
            {"source": "frontend", "target": "audit", "attributes": {"criticality": "degraded"}},
            # Every node kind's shape.
            {"source": "frontend", "target": "sessions-db", "target_kind": "database"},
            {"source": "frontend", "target": "clicks", "target_kind": "messaging"},
            {"source": "frontend", "target": "maps-api", "target_kind": "external"},
            {"source": "browser", "target": "frontend", "source_kind": "virtual"},
        ],
    )
    ingest(
        client,
        [("frontend", "legacy")],
        source="otel_service_graph",
        observed_at="2020-01-01T00:00:00Z",
    )
    client.portal.call(JOBS.of(client.app).run_now, "mark-stale")  # type: ignore[arg-type]
    params = {"direction": "both", "depth": 2, "include_stale": "true"}
    path = "/api/v1/services/frontend/dependencies"
    return {
        "answer": query(client, "frontend", **params),
        **{f: get_text(client, path, format=f, **params) for f in ("dot", "mermaid")},
    }


CASES: dict[str, Callable[[TestClient], dict[str, Any]]] = {
    "online-boutique": whole_graph(BOUTIQUE),
    "sock-shop": whole_graph(SOCK_SHOP),
    "hostile": hostile,
    "every-style": every_style,
}


def _export_all(directory: Path) -> dict[str, dict[str, Any]]:
    exports = {}
    for name, make in CASES.items():
        url = f"sqlite+aiosqlite:///{directory / name}.db"
        upgrade_database(url)
        settings = settings_for(url, auth_enabled=False, scheduler_enabled=False)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            exports[name] = make(client)
    return exports


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each case's exports (and answers), made through the API on its own database."""
    directory = tmp_path_factory.mktemp("export-renders")
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(_export_all, directory).result()


# ------------------------------------------------------------------ Graphviz


@pytest.fixture(scope="session")
def dot_command() -> str:
    found = shutil.which("dot")
    if found is None:
        tool_missing("Graphviz (`dot`)", "apt-get install graphviz (.ci/run does)")
    return str(found)


def render_dot(dot_command: str, text: str) -> ET.Element:
    """The SVG Graphviz draws of `text`, parsed (so it must be well-formed XML)."""
    done = subprocess.run(
        [dot_command, "-Tsvg"], input=text.encode(), capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0 and not done.stderr, done.stderr.decode()
    return ET.fromstring(done.stdout)


def svg_groups(svg: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if g.get("class") == kind]


def svg_titles(groups: list[ET.Element]) -> set[str]:
    return {g.findtext(f"{SVG}title") or "" for g in groups}


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=lambda p: p.stem)
def test_dot_of_a_real_topology_renders_every_service_and_edge(
    exports: dict[str, dict[str, Any]], dot_command: str, topology: Path
) -> None:
    services, pairs = expected_graph(topology)
    svg = render_dot(dot_command, exports[topology.stem]["dot"])
    nodes, edges = svg_groups(svg, "node"), svg_groups(svg, "edge")
    assert len(nodes) == len(services) and len(edges) == len(pairs)
    assert svg_titles(nodes) == services
    # Graphviz titles an edge "source->target".
    assert svg_titles(edges) == {f"{s}->{t}" for s, t in pairs}


def test_dot_of_a_subgraph_with_every_style_renders_its_answer(
    exports: dict[str, dict[str, Any]], dot_command: str
) -> None:
    case = exports["every-style"]
    svg = render_dot(dot_command, case["dot"])
    nodes = {g.findtext(f"{SVG}title"): g for g in svg_groups(svg, "node")}
    assert set(nodes) == {"frontend"} | {n["service_id"] for n in case["answer"]["nodes"]}
    assert len(svg_groups(svg, "edge")) == len(case["answer"]["edges"])
    # The root is filled, a discovered-only service's border dashed.
    assert nodes["frontend"].find(f"{SVG}path").get("fill") == "#fff3b0"  # type: ignore[union-attr]
    assert nodes["legacy"].find(f"{SVG}path").get("stroke-dasharray")  # type: ignore[union-attr]


def test_dot_shows_hostile_names_as_they_are(
    exports: dict[str, dict[str, Any]], dot_command: str
) -> None:
    svg = render_dot(dot_command, exports["hostile"]["dot"])
    nodes = {g.findtext(f"{SVG}title"): g for g in svg_groups(svg, "node")}
    assert set(nodes) == {"api", "payments", "db", "queue", "controls", *STYLE_LIKE}
    lines = [t.text for t in nodes["payments"].iter(f"{SVG}text")]
    assert lines == ["payments", HOSTILE_NAME, HOSTILE_TEAM]
    assert [t.text for t in nodes["api"].iter(f"{SVG}text")] == ["api", "line one", "line two"]
    for service_id, name in {**STYLE_LIKE, "controls": CONTROLS_SHOWN}.items():
        assert [t.text for t in nodes[service_id].iter(f"{SVG}text")] == [service_id, name]
    assert len(svg_groups(svg, "edge")) == 6


# ------------------------------------------------------------------ Mermaid


@pytest.fixture(scope="session")
def mermaid_js() -> Path:
    if not MERMAID_JS.exists():
        tool_missing(
            "Mermaid (npm)", "make .test-tools/node_modules/mermaid/package.json (make test does)"
        )
    return MERMAID_JS


# Renders with Mermaid's own API and reports what it drew. `securityLevel: strict` is
# Mermaid's default: labels are sanitised, as any site embedding our text would have it.
RENDER = """async (text) => {
  mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
  let drawn;
  try {
    drawn = await mermaid.render("export", text);
  } catch (error) {
    return {error: String((error && error.message) || error)};
  }
  const holder = document.getElementById("out");
  holder.innerHTML = drawn.svg;
  const svg = holder.querySelector("svg");
  const nodes = [...svg.querySelectorAll("g.node")];
  // Mermaid's SVG must be XML (saved as .svg, embedded): parse it as such. Its HTML
  // labels hold <br> (HTML, not XML) even for plain text: close those first.
  const asXml = new DOMParser().parseFromString(
    drawn.svg.replace(/<br>/g, "<br/>"), "image/svg+xml");
  const xmlError = asXml.querySelector("parsererror");
  return {
    error: svg.querySelector(".error-icon, .error-text") ? "error diagram" : null,
    xmlError: xmlError ? xmlError.textContent : null,
    nodes: nodes.length,
    labels: nodes.map((node) => node.textContent),
    edges: svg.querySelectorAll("g.edgePaths > path").length,
    edgeLabels: [...svg.querySelectorAll("g.edgeLabel")].map((l) => l.textContent),
  };
}"""


@pytest.fixture
def mermaid_page(browser: Any, mermaid_js: Path) -> Iterator[Any]:
    page = browser.new_page()
    try:
        page.set_content('<!doctype html><html><body><div id="out"></div></body></html>')
        page.add_script_tag(path=str(mermaid_js))
        yield page
    finally:
        page.close()


def render_mermaid(page: Any, text: str) -> dict[str, Any]:
    drawn: dict[str, Any] = page.evaluate(RENDER, text)
    assert drawn["error"] is None, (drawn["error"], text)
    assert drawn["xmlError"] is None, (drawn["xmlError"], text)
    return drawn


@pytest.mark.parametrize("topology", TOPOLOGIES, ids=lambda p: p.stem)
def test_mermaid_of_a_real_topology_renders_every_service_and_edge(
    exports: dict[str, dict[str, Any]], mermaid_page: Any, topology: Path
) -> None:
    services, pairs = expected_graph(topology)
    drawn = render_mermaid(mermaid_page, exports[topology.stem]["mermaid"])
    assert drawn["nodes"] == len(services) and drawn["edges"] == len(pairs)
    # Each label starts with its service id (then its team and criticality, if known).
    assert {
        next(s for s in sorted(services, key=len, reverse=True) if label.startswith(s))
        for label in drawn["labels"]
    } == services


def test_mermaid_of_a_subgraph_with_every_style_renders_its_answer(
    exports: dict[str, dict[str, Any]], mermaid_page: Any
) -> None:
    case = exports["every-style"]
    drawn = render_mermaid(mermaid_page, case["mermaid"])
    assert drawn["nodes"] == len(case["answer"]["nodes"]) + 1  # and the root
    assert drawn["edges"] == len(case["answer"]["edges"])
    assert drawn["edgeLabels"].count("async") == 1


def test_every_node_kind_has_its_shape(exports: dict[str, dict[str, Any]]) -> None:
    case = exports["every-style"]
    kinds = {n["service_id"]: n["kind"] for n in case["answer"]["nodes"]}
    assert {k: kinds[k] for k in ("sessions-db", "clicks", "maps-api", "browser")} == {
        "sessions-db": "database",
        "clicks": "messaging",
        "maps-api": "external",
        "browser": "virtual",
    }
    for name, shape in (
        ("sessions-db", "cylinder"),
        ("clicks", "cds"),
        ("maps-api", "component"),
        ("browser", "ellipse"),
    ):
        (line,) = [x for x in case["dot"].splitlines() if x.startswith(f'  "{name}" [')]
        assert f'shape="{shape}"' in line, line
    for opening, label in (('[("', "sessions-db"), ('>"', "clicks"), ('{{"', "maps-api")):
        assert f"{opening}{label}" in case["mermaid"], label
    assert '(("browser' in case["mermaid"]


def test_mermaid_shows_hostile_names_as_they_are(
    exports: dict[str, dict[str, Any]], mermaid_page: Any
) -> None:
    drawn = render_mermaid(mermaid_page, exports["hostile"]["mermaid"])
    assert drawn["nodes"] == 7 and drawn["edges"] == 6
    assert sorted(drawn["labels"]) == sorted(
        [
            "apiline one line two",  # a line break within a name: a space
            f"payments{HOSTILE_NAME}{HOSTILE_TEAM}",
            "db",
            "queue",
            f"controls{CONTROLS_SHOWN}",
            *(f"{service_id}{name}" for service_id, name in STYLE_LIKE.items()),
        ]
    )
