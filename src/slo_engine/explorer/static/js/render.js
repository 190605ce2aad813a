// Drawing the graph into the page's SVG, and moving around it (wheel zoom, drag pan,
// keyboard). The geometry comes from layout.js; the classes drawn here are the legend's.

import { s } from "./elements.js";
import { cycleEdges, edgeKey } from "./graph.js";
import { labelText, layeredLayout } from "./layout.js";

const MARGIN = 40;
const MIN_ZOOM_WIDTH = 80; // svg units across at the closest zoom
const DRAG_THRESHOLD = 4; // px of movement before a press becomes a pan

const CRITICALITIES = new Set(["hard", "soft", "degraded"]);

/** The classes of an edge, as the legend explains them. */
export function edgeClasses(edge, inCycle, layerOf) {
  const criticality = edge.attributes?.criticality;
  const classes = ["edge", CRITICALITIES.has(criticality) ? criticality : "unknown"];
  if (edge.attributes?.communication_mode === "async") classes.push("async");
  if (edge.is_stale) classes.push("stale");
  if (inCycle) classes.push("cycle");
  const from = layerOf.get(edge.source);
  const to = layerOf.get(edge.target);
  if (edge.source === edge.target) classes.push("self");
  else if (to <= from) classes.push("back");
  return classes;
}

function markerId(classes) {
  const tone = classes.includes("stale")
    ? "stale"
    : classes.includes("cycle")
      ? "cycle"
      : classes.includes("unknown")
        ? "unknown"
        : "plain";
  return `arrow-${tone}-${classes.includes("async") ? "async" : "sync"}`;
}

function markers() {
  const defs = s("defs", {});
  for (const tone of ["plain", "unknown", "stale", "cycle", "ghost"]) {
    for (const mode of ["sync", "async"]) {
      defs.append(
        s(
          "marker",
          {
            id: `arrow-${tone}-${mode}`,
            class: `marker ${tone} ${mode}`,
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            markerWidth: 8,
            markerHeight: 8,
            markerUnits: "userSpaceOnUse",
            orient: "auto",
          },
          // Sync: a filled head; async: an open chevron (fire and forget).
          mode === "sync"
            ? s("path", { d: "M0,1 L10,5 L0,9 z" })
            : s("path", { d: "M1,1 L9,5 L1,9", fill: "none" }),
        ),
      );
    }
  }
  return defs;
}

/** The SVG path of an edge between two laid-out boxes. */
export function edgePath(from, to) {
  const right = (b) => b.x + b.width / 2;
  const left = (b) => b.x - b.width / 2;
  if (from === to) {
    const x = right(from) - 14;
    const top = from.y - from.height / 2;
    return `M${x},${top} C${x},${top - 30} ${right(from) + 34},${from.y} ${right(from)},${from.y}`;
  }
  if (to.layer > from.layer) {
    const x1 = right(from);
    const x2 = left(to);
    const dx = (x2 - x1) / 2;
    return `M${x1},${from.y} C${x1 + dx},${from.y} ${x2 - dx},${to.y} ${x2},${to.y}`;
  }
  if (to.layer === from.layer) {
    const bulge = 36 + Math.abs(to.y - from.y) * 0.15;
    return `M${right(from)},${from.y} C${right(from) + bulge},${from.y} ${right(to) + bulge},${to.y} ${right(to)},${to.y}`;
  }
  // Backwards (against the left-to-right flow): leave on the left, arrive on the right,
  // bowing below the straight line so it does not hide the forward edges.
  const bend = 30 + Math.abs(from.x - to.x) * 0.12;
  const x1 = left(from);
  const x2 = right(to);
  return `M${x1},${from.y} C${x1 - 40},${from.y + bend} ${x2 + 40},${to.y + bend} ${x2},${to.y}`;
}

// Corner radius by node kind: a database a capsule, something external square-cornered,
// the rest (with their own colours and borders in style.css) rounded like a service.
const CORNERS = { database: (height) => height / 2, external: () => 0 };

/** A service's box and label, centred on its group's origin. */
function boxOf(box, id, kind = "service") {
  const rx = (CORNERS[kind] ?? (() => 5))(box.height);
  return [
    s("rect", { x: -box.width / 2, y: -box.height / 2, width: box.width, height: box.height, rx }),
    s("text", { "text-anchor": "middle", dy: "0.35em" }, labelText(id)),
  ];
}

/** A removed edge: present at the compared time, gone at the time drawn. */
function ghostEdge(change, d) {
  return s(
    "path",
    {
      class: "ghost-edge removed",
      d,
      "data-source": change.source,
      "data-target": change.target,
      "marker-end": "url(#arrow-ghost-sync)",
    },
    s("title", {}, `${change.source} → ${change.target}: removed since the compared time`),
  );
}

/** The end of a removed edge that is not in the drawn subgraph (any more). */
function ghostNode(id, place, box) {
  return s(
    "g",
    {
      class: "ghost-node",
      "data-service-id": id,
      "data-side": place.side,
      "data-distance": place.distance,
      transform: `translate(${box.x},${box.y})`,
    },
    boxOf(box, id),
    s("title", {}, `${id}: not in the drawn subgraph; drawn for a removed edge`),
  );
}

export class GraphView {
  /** `svg`: the page's <svg>; `onSelect(id)`, `onReroot(id)`: node actions. */
  constructor(svg, { onSelect, onReroot }) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.onReroot = onReroot;
    this.view = { x: -100, y: -100, width: 200, height: 200 };
    this.bounds = null;
    this.layout = null;
    this.graph = null;
    this.selected = null;
    this.installPanZoom();
  }

  /**
   * Draw `graph` (from graph.mergeAnswers) and fit it in view. `changes` (optional, from
   * history.changesInView): added and changed edges and services are marked, removed
   * edges are drawn as dashed ghosts, with ghost boxes for their ends not drawn.
   */
  draw(graph, changes = null) {
    this.graph = graph;
    const ghosts = changes?.ghosts ?? new Map();
    const removed = [...(changes?.edges.values() ?? [])].filter((c) => c.status === "removed");
    const nodes = [
      ...[...graph.nodes.values()].map((n) => ({ id: n.service_id, layer: n.layer })),
      ...[...ghosts].map(([id, place]) => ({ id, layer: place.layer })),
    ];
    // Ghost edges take part in the ordering, so that a ghost sits by what it touched.
    const layout = layeredLayout(nodes, [...graph.edges, ...removed]);
    this.layout = layout;
    const layerOf = new Map(nodes.map((n) => [n.id, n.layer]));
    const pathOf = (edge) => edgePath(layout.boxes.get(edge.source), layout.boxes.get(edge.target));
    const statusOf = (edge) => changes?.edges.get(edgeKey(edge.source, edge.target))?.status;

    // Change marks are wide halos under the edges, so that an edge keeps its own look
    // (criticality, cycle, stale) and shows that it changed as well.
    const halos = s(
      "g",
      { class: "change-halos" },
      graph.edges
        .filter(statusOf)
        .map((edge) => s("path", { class: ["change-halo", statusOf(edge)], d: pathOf(edge) })),
    );
    const edgeGroup = s("g", { class: "edges" }, this.edgeElements(graph, layerOf, pathOf, statusOf));
    const ghostEdges = s("g", { class: "ghost-edges" }, removed.map((c) => ghostEdge(c, pathOf(c))));
    const nodeGroup = s("g", { class: "nodes" }, this.nodeElements(graph, layout, changes));
    const ghostNodes = s(
      "g",
      { class: "ghost-nodes" },
      [...ghosts].map(([id, place]) => ghostNode(id, place, layout.boxes.get(id))),
    );
    const viewport = s("g", { class: "viewport" }, halos, edgeGroup, ghostEdges, nodeGroup, ghostNodes);
    this.svg.replaceChildren(markers(), viewport);
    this.svg.dataset.crossings = String(layout.crossings);
    this.bounds = layout.bounds;
    this.selected = null;
    this.fit();
  }

  edgeElements(graph, layerOf, pathOf, statusOf) {
    const inCycle = cycleEdges([...graph.nodes.keys()], graph.edges);
    return graph.edges.map((edge) => {
      const classes = edgeClasses(edge, inCycle.has(edgeKey(edge.source, edge.target)), layerOf);
      const status = statusOf(edge);
      const a = edge.attributes ?? {};
      return s(
        "path",
        {
          class: [...classes, status],
          d: pathOf(edge),
          "data-source": edge.source,
          "data-target": edge.target,
          "marker-end": `url(#${markerId(classes)})`,
        },
        s(
          "title",
          {},
          `${edge.source} → ${edge.target}: ${a.criticality ?? "criticality unknown"}, ` +
            `${a.communication_mode ?? "mode unknown"}${edge.is_stale ? ", stale" : ""}` +
            (status ? `; ${status} since the compared time` : ""),
        ),
      );
    });
  }

  nodeElements(graph, layout, changes) {
    return [...graph.nodes.values()].map((node) => {
      const box = layout.boxes.get(node.service_id);
      const side = node.root ? "root" : node.side === "down" ? "downstream" : "upstream";
      const status = changes?.services.get(node.service_id)?.status;
      return s(
        "g",
        {
          class: [
            "node",
            node.root && "root",
            node.discovered && "discovered",
            node.kind && node.kind !== "service" && `kind-${node.kind}`,
            node.criticality && `criticality-${node.criticality}`,
            `side-${node.side}`,
            status,
          ],
          "data-service-id": node.service_id,
          "data-side": node.side,
          "data-distance": node.distance,
          transform: `translate(${box.x},${box.y})`,
          tabindex: 0,
          role: "button",
          "aria-label":
            `${node.service_id}` +
            (node.root ? ", the root" : `, ${side} at distance ${node.distance}`) +
            (node.kind && node.kind !== "service" ? `, a ${node.kind} node` : "") +
            (node.discovered ? ", discovered only" : "") +
            (status ? `, ${status} since the compared time` : ""),
        },
        boxOf(box, node.service_id, node.kind),
        s("title", {}, node.display_name ? `${node.service_id} (${node.display_name})` : node.service_id),
      );
    });
  }

  clear() {
    this.svg.replaceChildren();
    this.graph = null;
    this.layout = null;
  }

  /** Highlight a node and the edges touching it. */
  select(id) {
    this.selected = id;
    // Other edges fade only when a service other than the root is picked.
    this.svg.classList.toggle("has-selection", id !== null && !this.graph?.nodes.get(id)?.root);
    for (const element of this.svg.querySelectorAll(".node")) {
      element.classList.toggle("selected", element.dataset.serviceId === id);
    }
    for (const element of this.svg.querySelectorAll(".edge")) {
      const touching = element.dataset.source === id || element.dataset.target === id;
      element.classList.toggle("touching", touching);
    }
  }

  fit() {
    if (!this.bounds) return;
    const b = this.bounds;
    this.setView({
      x: b.minX - MARGIN,
      y: b.minY - MARGIN,
      width: b.maxX - b.minX + 2 * MARGIN,
      height: b.maxY - b.minY + 2 * MARGIN,
    });
  }

  setView(view) {
    this.view = view;
    this.svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.width} ${view.height}`);
  }

  /** Zoom by `factor` (< 1 zooms in) keeping the svg point (px, py) where it is. */
  zoom(factor, px = this.view.x + this.view.width / 2, py = this.view.y + this.view.height / 2) {
    const v = this.view;
    const largest = this.bounds
      ? Math.max(this.bounds.maxX - this.bounds.minX, this.bounds.maxY - this.bounds.minY) * 4 + 400
      : 10000;
    const width = Math.min(Math.max(v.width * factor, MIN_ZOOM_WIDTH), largest);
    const f = width / v.width;
    this.setView({
      x: px - (px - v.x) * f,
      y: py - (py - v.y) * f,
      width: v.width * f,
      height: v.height * f,
    });
  }

  pan(dx, dy) {
    const v = this.view;
    this.setView({ ...v, x: v.x + dx, y: v.y + dy });
  }

  svgPoint(clientX, clientY) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return { x: 0, y: 0 };
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return { x: point.x, y: point.y };
  }

  installPanZoom() {
    const svg = this.svg;
    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const p = this.svgPoint(event.clientX, event.clientY);
        this.zoom(Math.exp(event.deltaY * 0.0015), p.x, p.y);
      },
      { passive: false },
    );
    let press = null;
    let dragged = false;
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      press = { x: event.clientX, y: event.clientY, view: { ...this.view }, id: event.pointerId };
      dragged = false;
    });
    svg.addEventListener("pointermove", (event) => {
      if (!press || event.pointerId !== press.id) return;
      const dx = event.clientX - press.x;
      const dy = event.clientY - press.y;
      if (!dragged && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
      if (!dragged) {
        dragged = true;
        svg.setPointerCapture(event.pointerId);
        svg.classList.add("panning");
      }
      const scale = svg.getScreenCTM()?.a || 1;
      this.setView({ ...press.view, x: press.view.x - dx / scale, y: press.view.y - dy / scale });
    });
    const release = (event) => {
      if (press && event.pointerId === press.id) {
        press = null;
        svg.classList.remove("panning");
      }
    };
    svg.addEventListener("pointerup", release);
    svg.addEventListener("pointercancel", release);
    svg.addEventListener("click", (event) => {
      if (dragged) {
        dragged = false;
        return;
      }
      const node = event.target.closest?.(".node");
      if (node) this.onSelect(node.dataset.serviceId);
    });
    svg.addEventListener("dblclick", (event) => {
      const node = event.target.closest?.(".node");
      if (node) this.onReroot(node.dataset.serviceId);
    });
    svg.addEventListener("keydown", (event) => {
      const node = event.target.closest?.(".node");
      if (node && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        if (event.shiftKey) this.onReroot(node.dataset.serviceId);
        else this.onSelect(node.dataset.serviceId);
        return;
      }
      const step = this.view.width * 0.1;
      const actions = {
        "+": () => this.zoom(0.8),
        "=": () => this.zoom(0.8),
        "-": () => this.zoom(1.25),
        0: () => this.fit(),
        ArrowLeft: () => this.pan(-step, 0),
        ArrowRight: () => this.pan(step, 0),
        ArrowUp: () => this.pan(0, -step),
        ArrowDown: () => this.pan(0, step),
      };
      const action = actions[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
    });
  }
}
