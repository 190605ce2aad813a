"""The explorer's pure modules (layout.js, graph.js) run in the real browser on synthetic
graphs. No server: the page's static files are answered from the package directory by
Playwright's request routing, so the modules load exactly as the service serves them."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from slo_engine.explorer import routes

STATIC = Path(routes.__file__).resolve().parent / "static"
ORIGIN = "http://explorer.test"


def _serve(route: Any) -> None:
    path = route.request.url.removeprefix(f"{ORIGIN}/ui/").split("?")[0] or "index.html"
    if path == "blank.html":
        route.fulfill(body="<!doctype html><title>layout</title>", content_type="text/html")
        return
    file = (STATIC / path).resolve()
    if STATIC not in file.parents or not file.is_file():
        route.fulfill(status=404, body="not found")
        return
    content_type = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file)[0]
    route.fulfill(body=file.read_bytes(), content_type=content_type or "text/plain")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.route(f"{ORIGIN}/**", _serve)
    tab.goto(f"{ORIGIN}/ui/blank.html")
    try:
        yield tab
        assert errors == []
    finally:
        context.close()


# A synthetic layered graph of 200 services around a root: 3 upstream and 4 downstream
# layers, every non-root node linked to one to three nodes of the layer next to it towards
# the root, plus a few backward and same-layer edges; ids of varied length (some longer
# than the label limit); the nodes handed over in a shuffled order.
SYNTHETIC = """
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const sizes = {"-3": 14, "-2": 26, "-1": 30, 0: 1, 1: 34, 2: 40, 3: 35, 4: 20};
const nodes = [];
const byLayer = new Map();
for (const [layer, size] of Object.entries(sizes)) {
  const l = Number(layer);
  byLayer.set(l, []);
  for (let i = 0; i < size; i++) {
    const id = l === 0 ? "root" : `svc${l < 0 ? "u" : "d"}${Math.abs(l)}-${i}` +
      "-x".repeat(Math.floor(random() * 4) * (i % 7 === 0 ? 8 : 1));
    nodes.push({id, layer: l});
    byLayer.get(l).push(id);
  }
}
const edges = [];
for (const node of nodes) {
  if (node.layer === 0) continue;
  const inner = byLayer.get(node.layer > 0 ? node.layer - 1 : node.layer + 1);
  const links = 1 + Math.floor(random() * 3);
  for (let k = 0; k < links; k++) {
    const other = inner[Math.floor(random() * inner.length)];
    if (node.layer > 0) edges.push({source: other, target: node.id});
    else edges.push({source: node.id, target: other});
  }
}
for (let k = 0; k < 15; k++) {
  const a = nodes[Math.floor(random() * nodes.length)];
  const b = nodes[Math.floor(random() * nodes.length)];
  if (b.layer <= a.layer) edges.push({source: a.id, target: b.id});
}
for (let i = nodes.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
}
"""

# Crossings counted the slow, obvious way: every pair of edges between the same two
# neighbouring columns whose ends are in opposite orders.
BRUTE_CROSSINGS = """
const bruteCrossings = (order, edges, layerOf) => {
  const pos = new Map();
  for (const ids of order.values()) ids.forEach((id, i) => pos.set(id, i));
  const spans = edges
    .filter(e => Math.abs(layerOf.get(e.source) - layerOf.get(e.target)) === 1)
    .map(e => layerOf.get(e.source) < layerOf.get(e.target)
      ? {layer: layerOf.get(e.source), a: pos.get(e.source), b: pos.get(e.target)}
      : {layer: layerOf.get(e.target), a: pos.get(e.target), b: pos.get(e.source)});
  let count = 0;
  for (let i = 0; i < spans.length; i++)
    for (let j = i + 1; j < spans.length; j++) {
      const p = spans[i], q = spans[j];
      if (p.layer === q.layer && (p.a - q.a) * (p.b - q.b) < 0) count++;
    }
  return count;
};
"""


def test_layout_of_200_nodes(page: Any) -> None:
    result = page.evaluate(
        "async () => {"
        "const L = await import('/ui/js/layout.js');"
        + SYNTHETIC
        + BRUTE_CROSSINGS
        + """
        const started = performance.now();
        const layout = L.layeredLayout(nodes, edges);
        const elapsed = performance.now() - started;
        const layerOf = new Map(nodes.map(n => [n.id, n.layer]));
        const boxes = [...layout.boxes.entries()].map(([id, b]) => ({id, ...b}));
        const root = layout.boxes.get("root");
        // Columns: each layer spans its own x range, ranges in layer order, left of the
        // root for upstream layers and right of it for downstream ones.
        const range = new Map();
        let columnsOk = true;
        for (const b of boxes) {
          if (b.layer !== layerOf.get(b.id)) columnsOk = false;
          const r = range.get(b.layer) ?? {left: Infinity, right: -Infinity};
          r.left = Math.min(r.left, b.x - b.width / 2);
          r.right = Math.max(r.right, b.x + b.width / 2);
          range.set(b.layer, r);
          if (b.layer > 0 && !(b.x > root.x)) columnsOk = false;
          if (b.layer < 0 && !(b.x < root.x)) columnsOk = false;
        }
        const layers = [...range.keys()].sort((a, b) => a - b);
        const increasing = layers.every(
          (l, i) => i === 0 || range.get(l).left > range.get(layers[i - 1]).right);
        const folded = [...layout.columns.values()].filter(c => c.folds > 1).length;
        // Boxes (each holds its label) never overlap.
        let overlaps = 0;
        for (let i = 0; i < boxes.length; i++)
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (Math.abs(a.x - b.x) < (a.width + b.width) / 2
                && Math.abs(a.y - b.y) < (a.height + b.height) / 2) overlaps++;
          }
        // Each label fits its box.
        const d = L.LAYOUT_DEFAULTS;
        const tooNarrow = boxes.filter(b =>
          L.labelText(b.id).length * d.charWidth > b.width - 2 * d.paddingX + 0.01).length;
        const input = new Map();
        for (const n of nodes) {
          if (!input.has(n.layer)) input.set(n.layer, []);
          input.get(n.layer).push(n.id);
        }
        return {
          count: boxes.length, columnsOk, increasing, overlaps, tooNarrow, elapsed, folded,
          layers: layers.length,
          crossings: layout.crossings,
          initial: layout.initialCrossings,
          bruteFinal: bruteCrossings(layout.order, edges, layerOf),
          bruteInput: bruteCrossings(input, edges, layerOf),
          recount: L.countCrossings(layout.order, edges, layerOf),
          sameMembers: [...layout.order.entries()].every(([l, ids]) =>
            [...ids].sort().join() === [...(input.get(l) ?? [])].sort().join()),
          longest: Math.max(...boxes.map(b => L.labelText(b.id).length)),
        };
    }"""
    )
    assert result["count"] == 200
    assert result["layers"] == 8
    assert result["columnsOk"] and result["increasing"]
    assert result["folded"] == 5  # the layers of more than 20 nodes
    assert result["overlaps"] == 0
    assert result["tooNarrow"] == 0
    assert result["longest"] == 30  # long ids shortened
    assert result["sameMembers"]
    # The crossing counter agrees with the obvious O(E^2) count.
    assert result["initial"] == result["bruteInput"]
    assert result["crossings"] == result["bruteFinal"] == result["recount"]
    # Never worse than the input order; on this graph, much better.
    assert result["crossings"] <= result["initial"]
    assert result["crossings"] < result["initial"] / 2, result


def test_crossings_strictly_fewer_on_a_twisted_case(page: Any) -> None:
    result = page.evaluate(
        """async () => {
        const L = await import('/ui/js/layout.js');
        // root -> a, b, c; a -> z, b -> y, c -> x, but the right column is given as x, y, z.
        const nodes = [
          {id: "root", layer: 0}, {id: "a", layer: 1}, {id: "b", layer: 1}, {id: "c", layer: 1},
          {id: "x", layer: 2}, {id: "y", layer: 2}, {id: "z", layer: 2},
          {id: "p", layer: -1}, {id: "q", layer: -1},
        ];
        const edges = [
          {source: "root", target: "a"}, {source: "root", target: "b"},
          {source: "root", target: "c"},
          {source: "a", target: "z"}, {source: "b", target: "y"}, {source: "c", target: "x"},
          {source: "p", target: "root"}, {source: "q", target: "root"},
        ];
        const layout = L.layeredLayout(nodes, edges);
        const untouched = L.layeredLayout(nodes.slice(0, 1), []);
        return {
          initial: layout.initialCrossings, crossings: layout.crossings,
          right: layout.order.get(2), middle: layout.order.get(1),
          rootAlone: untouched.boxes.get("root"),
          bilayer: L.bilayerCrossings([[0, 2], [1, 1], [2, 0]], 3),
        };
    }"""
    )
    assert result["bilayer"] == 3
    assert result["initial"] == 3
    assert result["crossings"] == 0
    # The order is consistent: a, b, c pair with z, y, x in the same order.
    pairs = dict(zip(result["middle"], result["right"], strict=True))
    assert pairs == {"a": "z", "b": "y", "c": "x"}
    assert result["rootAlone"]["x"] == 0 and result["rootAlone"]["y"] == 0


def test_sides_by_smaller_distance_downstream_on_ties(page: Any) -> None:
    places = page.evaluate(
        """async () => {
        const L = await import('/ui/js/layout.js');
        const places = L.placeBySide(
          "r",
          [{service_id: "a", depth: 1}, {service_id: "b", depth: 3}, {service_id: "c", depth: 2}],
          [{service_id: "a", depth: 1}, {service_id: "b", depth: 1}, {service_id: "d", depth: 2},
           {service_id: "r", depth: 2}],
        );
        return Object.fromEntries([...places].map(([id, p]) => [id, p]));
    }"""
    )
    assert places == {
        "r": {"side": "root", "distance": 0, "layer": 0},
        "a": {"side": "down", "distance": 1, "layer": 1},  # a tie: downstream
        "b": {"side": "up", "distance": 1, "layer": -1},  # closer upstream
        "c": {"side": "down", "distance": 2, "layer": 2},
        "d": {"side": "up", "distance": 2, "layer": -2},
    }


def test_cycles_by_iterative_tarjan_and_sides_of_a_both_answer(page: Any) -> None:
    result = page.evaluate(
        """async () => {
        const G = await import('/ui/js/graph.js');
        // A ring of 200,000 nodes: one component, no recursion limit hit.
        const n = 200000;
        const ids = Array.from({length: n}, (_, i) => `n${i}`);
        const ring = ids.map((id, i) => ({source: id, target: ids[(i + 1) % n]}));
        const components = new Set(G.stronglyConnected(ids, ring).values());
        const small = G.cycleEdges(["a", "b", "c", "d", "e"], [
          {source: "a", target: "b"}, {source: "b", target: "a"}, {source: "b", target: "c"},
          {source: "d", target: "d"},
          {source: "c", target: "e"}, {source: "e", target: "c", is_stale: true},
        ]);
        const answer = (nodes, edges, truncated = false) => ({
          service: {service_id: "r", discovered: false},
          nodes: nodes.map(([id, depth]) => ({service_id: id, depth, discovered: false})),
          edges: edges.map(([source, target]) => ({source, target, attributes: {}})),
          statistics: {truncated},
        });
        // A `both` answer: r calls a, a calls b and c; u and a call r, w calls u. a is 1
        // hop each way and b 2 hops each way (r -> a -> b, b -> u -> r): ties, drawn
        // downstream.
        const both = answer(
          [["a", 1], ["u", 1], ["b", 2], ["c", 2], ["w", 2]],
          [["r", "a"], ["a", "b"], ["a", "c"], ["u", "r"], ["a", "r"], ["b", "u"], ["w", "u"]],
          true,
        );
        const merged = G.graphOfAnswer(both, "both", 5);
        const downOnly = G.graphOfAnswer(answer([["a", 1]], [["r", "a"]]), "downstream", 5);
        const upOnly = G.graphOfAnswer(answer([["u", 1]], [["u", "r"]]), "upstream", 5);
        return {
          ringComponents: components.size,
          cycle: [...small].sort(),
          kept: [...merged.nodes.keys()].sort(),
          edges: merged.edges.map(e => `${e.source}>${e.target}`).sort(),
          truncated: merged.truncated,
          sides: Object.fromEntries(
            [...merged.nodes].map(([id, n]) => [id, `${n.side}${n.distance}`]),
          ),
          downOnly: downOnly.nodes.get("a").side,
          upOnly: upOnly.nodes.get("u").side,
        };
    }"""
    )
    assert result["ringComponents"] == 1
    assert result["cycle"] == ["a→b", "b→a", "d→d"]  # the stale edge closes no cycle
    # The answer's services and edges, exactly; its truncation flag as it says.
    assert result["kept"] == ["a", "b", "c", "r", "u", "w"]
    assert result["edges"] == ["a>b", "a>c", "a>r", "b>u", "r>a", "u>r", "w>u"]
    assert result["truncated"] is True
    # Sides from walking the answer's edges from the root both ways; a tie is downstream.
    assert result["sides"] == {
        "r": "root0",
        "a": "down1",
        "u": "up1",
        "b": "down2",
        "c": "down2",
        "w": "up2",
    }
    assert (result["downOnly"], result["upOnly"]) == ("down", "up")
