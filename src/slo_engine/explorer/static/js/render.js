// Drawing the graph into the page's SVG, and moving around it (wheel zoom, drag pan,
// keyboard). The geometry comes from layout.js; the classes drawn here are the legend's.

import { s } from "./elements.js";
import { cycleEdges, edgeKey } from "./graph.js";
import { labelText, layeredLayout } from "./layout.js";
import { GROUP_LAYOUT, countLine, endBox, groupLayout, kindsSummary } from "./overview.js";
import {
  DRIFT_WORDS,
  criticalityBadge,
  describeDrift,
  errorClass,
  rateClass,
  teamColour,
  trafficFigures,
} from "./marks.js";
import { formatNumber } from "./panels.js";

const MARGIN = 40;
const MIN_ZOOM_WIDTH = 80; // svg units across at the closest zoom
const DRAG_THRESHOLD = 4; // px of movement before a press becomes a pan
const WHEEL_REST = 150; // ms without a wheel step before a wheel zoom sets the view box
// Screen pixels per drawing unit below which small labels (a service's name, an overview's
// members, edge counts and group details) are hidden, and below which group names are
// too: a 12 px label drawn smaller than about 7 px is unreadable. Hovering or focusing
// shows them; the root's, the selected and the failed service's stay.
const SMALL_LABELS = 0.6;
const MEMBER_LABEL_CHARS = GROUP_LAYOUT.memberLabelChars;
const TINY_LABELS = 0.3;

const CRITICALITIES = new Set(["hard", "soft", "degraded"]);

/** The classes of an edge, as the legend explains them. */
export function edgeClasses(edge, inCycle, layerOf) {
  const criticality = edge.attributes?.criticality;
  const classes = ["edge", CRITICALITIES.has(criticality) ? criticality : "unknown"];
  if (edge.attributes?.communication_mode === "async") classes.push("async");
  if (edge.is_stale) classes.push("stale");
  if (inCycle) classes.push("cycle");
  // The observed figures: width by request rate, colour by error rate (a cycle's red and
  // a stale edge's grey win over the colour; the figures stay in the tooltip).
  const rate = rateClass(edge.attributes?.request_rate);
  const errors = errorClass(edge.attributes?.error_rate);
  if (rate) classes.push(rate);
  if (errors) classes.push(errors);
  const from = layerOf.get(edge.source);
  const to = layerOf.get(edge.target);
  if (edge.source === edge.target) classes.push("self");
  else if (to <= from) classes.push("back");
  return classes;
}

const ERROR_TONES = ["errors-low", "errors-some", "errors-high"];
// Edges this wide (by request rate) get heads that grow with their width: a fixed 8 px
// head would vanish under a 5 px line.
const WIDE = new Set(["rate-1", "rate-2", "rate-3"]);

function markerId(classes) {
  const tone = classes.includes("stale")
    ? "stale"
    : classes.includes("cycle")
      ? "cycle"
      : (ERROR_TONES.find((name) => classes.includes(name)) ??
        (classes.includes("unknown") ? "unknown" : "plain"));
  const wide = classes.some((name) => WIDE.has(name)) ? "-wide" : "";
  return `arrow-${tone}-${classes.includes("async") ? "async" : "sync"}${wide}`;
}

function markers() {
  const defs = s("defs", {});
  for (const tone of ["plain", "unknown", "stale", "cycle", "ghost", "down", "degraded", ...ERROR_TONES]) {
    for (const [mode, wide] of ["sync", "async"].flatMap((m) => [
      [m, false],
      [m, true],
    ])) {
      defs.append(
        s(
          "marker",
          {
            id: `arrow-${tone}-${mode}${wide ? "-wide" : ""}`,
            class: `marker ${tone} ${mode}`,
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            // Wide: in units of the edge's stroke width (3.2 widths long).
            markerWidth: wide ? 3.2 : 8,
            markerHeight: wide ? 3.2 : 8,
            markerUnits: wide ? "strokeWidth" : "userSpaceOnUse",
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

/**
 * The cubic Bézier of an edge between two laid-out boxes: [start, control, control, end],
 * each {x, y}.
 */
export function edgeCurve(from, to) {
  const right = (b) => b.x + b.width / 2;
  const left = (b) => b.x - b.width / 2;
  const p = (x, y) => ({ x, y });
  if (from === to) {
    const x = right(from) - 14;
    const top = from.y - from.height / 2;
    return [p(x, top), p(x, top - 30), p(right(from) + 34, from.y), p(right(from), from.y)];
  }
  if (to.layer > from.layer) {
    const x1 = right(from);
    const x2 = left(to);
    const dx = (x2 - x1) / 2;
    return [p(x1, from.y), p(x1 + dx, from.y), p(x2 - dx, to.y), p(x2, to.y)];
  }
  if (to.layer === from.layer) {
    const bulge = 36 + Math.abs(to.y - from.y) * 0.15;
    return [
      p(right(from), from.y),
      p(right(from) + bulge, from.y),
      p(right(to) + bulge, to.y),
      p(right(to), to.y),
    ];
  }
  // Backwards (against the left-to-right flow): leave on the left, arrive on the right,
  // bowing below the straight line so it does not hide the forward edges.
  const bend = 30 + Math.abs(from.x - to.x) * 0.12;
  const x1 = left(from);
  const x2 = right(to);
  return [p(x1, from.y), p(x1 - 40, from.y + bend), p(x2 + 40, to.y + bend), p(x2, to.y)];
}

/** The SVG path of an edge between two laid-out boxes. */
export function edgePath(from, to) {
  const [a, b, c, d] = edgeCurve(from, to);
  return `M${a.x},${a.y} C${b.x},${b.y} ${c.x},${c.y} ${d.x},${d.y}`;
}

/** The middle of an edge's curve (t = 1/2), where its drift badge sits. */
export function edgeMiddle(from, to) {
  const [a, b, c, d] = edgeCurve(from, to);
  return { x: (a.x + 3 * b.x + 3 * c.x + d.x) / 8, y: (a.y + 3 * b.y + 3 * c.y + d.y) / 8 };
}

// Corner radius by node kind: a database a capsule, something external square-cornered,
// the rest (with their own colours and borders in style.css) rounded like a service.
const CORNERS = { database: (height) => height / 2, external: () => 0 };

const TEAM_STRIPE = 5; // px: the team's colour along the left side of a box

/**
 * A service's box and label, centred on its group's origin; with `team`, a stripe of the
 * team's colour down the box's left side (clipped to the box's own corners by `clipId`);
 * with `criticality`, its badge on the top right corner.
 */
function boxOf(box, id, kind = "service", { team = null, criticality = null, clipId = null, maxChars } = {}) {
  const rx = (CORNERS[kind] ?? (() => 5))(box.height);
  const shape = { x: -box.width / 2, y: -box.height / 2, width: box.width, height: box.height, rx };
  const badge = criticalityBadge(criticality);
  return [
    s("rect", { ...shape, class: "box" }),
    ...(team && clipId
      ? [
          s("clipPath", { id: clipId }, s("rect", shape)),
          // A path, not a rect: the boxes' rect rules of style.css would paint over its fill.
          s("path", {
            class: "team-stripe",
            d: `M${shape.x},${shape.y} h${TEAM_STRIPE} v${box.height} h${-TEAM_STRIPE} z`,
            fill: teamColour(team),
            "clip-path": `url(#${clipId})`,
            "data-team": team,
          }),
        ]
      : []),
    s("text", { "text-anchor": "middle", dy: "0.35em" }, labelText(id, maxChars)),
    badge
      ? s(
          "g",
          {
            class: ["criticality-badge", criticality],
            transform: `translate(${box.width / 2 - 3},${-box.height / 2})`,
          },
          s("circle", { r: 6.5 }),
          s("text", { "text-anchor": "middle", dy: "0.35em" }, badge),
        )
      : null,
  ];
}

/** The drift badge of an edge, on the middle of its curve; its title is the evidence. */
function driftBadge(edge, mark, middle, window) {
  return s(
    "g",
    {
      class: ["drift-badge", mark.kind],
      "data-source": edge.source,
      "data-target": edge.target,
      "data-drift": mark.kind,
      transform: `translate(${middle.x},${middle.y})`,
    },
    s("circle", { r: 7 }),
    s("text", { "text-anchor": "middle", dy: "0.35em" }, DRIFT_WORDS[mark.kind].glyph),
    s("title", {}, `${edge.source} → ${edge.target}: ${describeDrift(mark, window)}`),
  );
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

/** The tooltip of an overview edge: its ends, how many service edges, the figures. */
function overviewEdgeTitle(edge) {
  const end = (group, service) => (service ? `${service} (${group})` : group);
  const figures = [
    edge.request_rate == null ? null : `${formatNumber(edge.request_rate, 1)} req/s summed`,
    edge.error_rate == null ? null : `worst ${(edge.error_rate * 100).toFixed(2)} % errors`,
  ].filter(Boolean);
  return (
    `${end(edge.source_group, edge.source)} → ${end(edge.target_group, edge.target)}: ` +
    `${edge.edges} service edge${edge.edges === 1 ? "" : "s"}` +
    (figures.length ? `; ${figures.join(", ")}` : "; no traffic figures")
  );
}

/** A group's box: its name, size and kinds, a cycle mark, and its drawn members. */
function groupElement(group, box, members, layout) {
  const left = -box.width / 2;
  const top = -box.height / 2;
  const line = (index) => top + 10 + 12 + index * 16;
  const expanded = members.length > 0;
  const folded = group.services - group.members_shown;
  return s(
    "g",
    {
      class: ["group", expanded && "expanded", group.in_cycle && "in-cycle", group.discovered === group.services && "discovered"],
      "data-group-id": group.id,
      "data-services": group.services,
      "data-internal-edges": group.internal_edges,
      "data-members-shown": group.members_shown,
      transform: `translate(${box.x},${box.y})`,
      tabindex: 0,
      role: "button",
      "aria-expanded": String(expanded),
      "aria-label":
        `Group ${group.label}: ${countLine(group)}` +
        (group.in_cycle ? ", on a circular dependency" : "") +
        (expanded ? "; Enter collapses it" : "; Enter expands it"),
    },
    s("rect", { class: "group-box", x: left, y: top, width: box.width, height: box.height, rx: 8 }),
    s(
      "text",
      { class: "group-label", x: left + 10, y: line(0) },
      `${expanded ? "▾" : "▸"} ${labelText(group.label, 32)}`,
    ),
    s("text", { class: "group-detail group-count", x: left + 10, y: line(1) }, countLine(group)),
    s("text", { class: "group-detail group-kinds", x: left + 10, y: line(2) }, kindsSummary(group.kinds)),
    group.in_cycle
      ? s(
          "g",
          { class: "cycle-mark", transform: `translate(${box.width / 2 - 14},${top + 14})` },
          s("circle", { r: 8 }),
          s("text", { "text-anchor": "middle", dy: "0.35em" }, "↻"),
        )
      : null,
    ...members.map((member) => memberElement(member, layout.members.get(member.service_id), box)),
    expanded && folded > 0
      ? s(
          "text",
          { class: "group-detail group-folded", x: left + 10, y: box.height / 2 - 10 },
          `+ ${folded} more not drawn (member budget)`,
        )
      : null,
    s(
      "title",
      {},
      `${group.label}: ${countLine(group)}; ${kindsSummary(group.kinds)}` +
        (group.discovered ? `; ${group.discovered} discovered only` : "") +
        (group.in_cycle ? "; on a circular dependency" : "") +
        (expanded ? ". Click to collapse." : ". Click to expand."),
    ),
  );
}

/** A member service inside its group's box (positions relative to the group's centre). */
function memberElement(node, box, groupBox) {
  return s(
    "g",
    {
      class: [
        "node",
        "member",
        node.discovered && "discovered",
        node.kind && node.kind !== "service" && `kind-${node.kind}`,
        node.in_cycle && "in-cycle",
      ],
      "data-service-id": node.service_id,
      "data-group": node.group,
      "data-team": node.team,
      transform: `translate(${box.x - groupBox.x},${box.y - groupBox.y})`,
      tabindex: 0,
      role: "button",
      "aria-label": `${node.service_id}, in ${node.group}; Shift+Enter opens its dependencies`,
    },
    boxOf(box, node.service_id, node.kind, { criticality: node.criticality, maxChars: MEMBER_LABEL_CHARS }),
    s(
      "title",
      {},
      (node.display_name ? `${node.service_id} (${node.display_name})` : node.service_id) +
        (node.team ? `; team ${node.team}` : "") +
        (node.request_rate == null ? "" : `; ${formatNumber(node.request_rate, 1)} req/s in and out`) +
        (node.in_cycle ? "; on a circular dependency" : "") +
        ". Double-click for its dependencies.",
    ),
  );
}

// Arrow keys as directions on screen.
const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

/**
 * The element of `candidates` nearest to `from` in the direction `way` ([dx, dy], unit),
 * by their centres on screen: only those whose centre lies beyond `from`'s edge that way
 * (so the boxes of one column, however wide, are not to each other's right), neither
 * inside nor around `from`; being off the line counts twice. O(candidates); null when
 * none is.
 */
export function nearestThatWay(from, way, candidates) {
  const centre = (r) => ({ x: r.left + r.width / 2, y: r.top + r.height / 2 });
  const rect = from.getBoundingClientRect();
  const here = centre(rect);
  // How far along `way` the centre must be: to the edge of `from`.
  const reach = Math.abs(way[0]) * (rect.width / 2) + Math.abs(way[1]) * (rect.height / 2);
  let best = null;
  let bestScore = Infinity;
  for (const element of candidates) {
    if (element === from || element.contains(from) || from.contains(element)) continue;
    const there = centre(element.getBoundingClientRect());
    const dx = there.x - here.x;
    const dy = there.y - here.y;
    const along = dx * way[0] + dy * way[1];
    const across = Math.abs(dx * way[1] - dy * way[0]);
    if (along <= reach) continue;
    const score = along + 2 * across;
    if (score < bestScore) {
      bestScore = score;
      best = element;
    }
  }
  return best;
}

/**
 * "+N" on a service the cut answer stopped at: N of its neighbours in reach are not
 * drawn. A badge on the box's bottom right corner (as the criticality badge is on its
 * top right), so that it stays within the gaps the layout keeps between boxes, however
 * the columns fold; a click draws that service's own dependencies, where they are.
 */
function moreHereMark(node, count, box) {
  const text = `+${count}`;
  const width = text.length * 6 + 8;
  const x = box.x + box.width / 2 - width / 2 + 2;
  const y = box.y + box.height / 2;
  const what = `${count} more service${count === 1 ? "" : "s"} next to ${node.service_id} not drawn (max nodes)`;
  return s(
    "g",
    {
      class: "more-here",
      "data-service-id": node.service_id,
      "data-unlisted": count,
      transform: `translate(${x},${y})`,
      tabindex: 0,
      role: "button",
      "aria-label": `${what}; Enter draws its dependencies`,
    },
    s("rect", { x: -width / 2, y: -6, width, height: 12, rx: 6 }),
    s("text", { "text-anchor": "middle", dy: "0.35em" }, text),
    s("title", {}, `${what}: click to draw its dependencies`),
  );
}

/** The bound the "+ more" marker asks for: twice the current one, within the control's. */
export function moreNodes(maxNodes) {
  return Math.min(100000, maxNodes * 2);
}

export class GraphView {
  /**
   * `svg`: the page's <svg>; `onSelect(id, target?)` (a drift badge names the edge's
   * target too), `onReroot(id)`: node actions.
   */
  constructor(svg, { onSelect, onReroot, onMore = () => {}, onGroup = () => {} }) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.onGroup = onGroup;
    this.onReroot = onReroot;
    this.onMore = onMore;
    this.view = { x: -100, y: -100, width: 200, height: 200 };
    this.bounds = null;
    this.layout = null;
    this.graph = null;
    this.selected = null;
    this.driftFilter = "show";
    this.wheelView = null; // the view a wheel zoom shows as a picture, until it rests
    this.wheelTimer = null;
    this.wheelBox = null;
    this.installPanZoom();
  }

  /**
   * How drift marks show: "show" (marked), "only" (every edge without drift, and every
   * service not at the end of one, fades), "hide" (no marks). Drawn already: no request.
   */
  setDriftFilter(mode) {
    this.driftFilter = mode;
    this.svg.dataset.driftFilter = mode;
  }

  /**
   * Draw `graph` (from graph.graphOfAnswer, with `drift` from marks.driftOfEdges when
   * asked) and fit it in view. `changes` (optional, from history.changesInView): added
   * and changed edges and services are marked, removed edges are drawn as dashed ghosts,
   * with ghost boxes for their ends not drawn.
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
    const drift = graph.drift?.byEdge ?? new Map();
    const driftOf = (edge) => drift.get(edgeKey(edge.source, edge.target));

    // Change marks are wide halos under the edges, so that an edge keeps its own look
    // (criticality, cycle, stale) and shows that it changed as well.
    const halos = s(
      "g",
      { class: "change-halos" },
      graph.edges
        .filter(statusOf)
        .map((edge) => s("path", { class: ["change-halo", statusOf(edge)], d: pathOf(edge) })),
    );
    // Drift marks: a halo of their own colours (narrower than a change's) and a badge
    // on the middle of the edge, whose letter says the kind without the colour.
    const driftEdges = graph.edges.filter(driftOf);
    const driftHalos = s(
      "g",
      { class: "drift-halos" },
      driftEdges.map((edge) =>
        s("path", {
          class: ["drift-halo", driftOf(edge).kind],
          d: pathOf(edge),
          "data-source": edge.source,
          "data-target": edge.target,
        }),
      ),
    );
    const driftBadges = s(
      "g",
      { class: "drift-badges" },
      driftEdges.map((edge) =>
        driftBadge(
          edge,
          driftOf(edge),
          edgeMiddle(layout.boxes.get(edge.source), layout.boxes.get(edge.target)),
          graph.drift.window,
        ),
      ),
    );
    const edgeGroup = s(
      "g",
      { class: "edges" },
      this.edgeElements(graph, layerOf, pathOf, statusOf, driftOf),
    );
    const ghostEdges = s("g", { class: "ghost-edges" }, removed.map((c) => ghostEdge(c, pathOf(c))));
    const driftEnds = new Set(driftEdges.flatMap((edge) => [edge.source, edge.target]));
    const nodeGroup = s("g", { class: "nodes" }, this.nodeElements(graph, layout, changes, driftEnds));
    const ghostNodes = s(
      "g",
      { class: "ghost-nodes" },
      [...ghosts].map(([id, place]) => ghostNode(id, place, layout.boxes.get(id))),
    );
    const moreHere = s(
      "g",
      { class: "more-here-marks" },
      [...(graph.unlisted ?? new Map())].map(([id, count]) =>
        moreHereMark(graph.nodes.get(id), count, layout.boxes.get(id)),
      ),
    );
    const viewport = s(
      "g",
      { class: "viewport" },
      halos,
      driftHalos,
      edgeGroup,
      ghostEdges,
      nodeGroup,
      ghostNodes,
      driftBadges,
      moreHere,
    );
    // A cut answer says only that more services lie beyond (not where, nor how many): one
    // marker under the drawing says so and asks again with a larger bound.
    const bounds = { ...layout.bounds };
    if (graph.truncated) {
      const centre = (bounds.minX + bounds.maxX) / 2;
      const y = bounds.maxY + 34;
      const text = `+ more services not drawn (max nodes ${graph.maxNodes}): show up to ${moreNodes(graph.maxNodes)}`;
      const width = text.length * 6.6 + 24;
      viewport.append(
        s(
          "g",
          {
            class: "more-marker",
            transform: `translate(${centre},${y})`,
            tabindex: 0,
            role: "button",
            "aria-label": text,
          },
          s("rect", { x: -width / 2, y: -13, width, height: 26, rx: 13 }),
          s("text", { "text-anchor": "middle", dy: "0.35em" }, text),
          s("title", {}, "The answer was cut at max nodes: ask again with twice the bound"),
        ),
      );
      bounds.maxY = y + 13;
      bounds.minX = Math.min(bounds.minX, centre - width / 2);
      bounds.maxX = Math.max(bounds.maxX, centre + width / 2);
    }
    this.svg.replaceChildren(markers(), viewport);
    this.svg.classList.remove("overview", "small-labels", "tiny-labels", "blast");
    this.svg.dataset.crossings = String(layout.crossings);
    this.svg.dataset.driftFilter = this.driftFilter;
    this.bounds = bounds;
    this.selected = null;
    this.fit();
  }

  edgeElements(graph, layerOf, pathOf, statusOf, driftOf) {
    const inCycle = cycleEdges([...graph.nodes.keys()], graph.edges);
    return graph.edges.map((edge) => {
      const classes = edgeClasses(edge, inCycle.has(edgeKey(edge.source, edge.target)), layerOf);
      const status = statusOf(edge);
      const drift = driftOf(edge);
      const a = edge.attributes ?? {};
      const figures = trafficFigures(a);
      return s(
        "path",
        {
          class: [...classes, status, drift && `drift-${drift.kind.replace("_", "-")}`],
          d: pathOf(edge),
          "data-source": edge.source,
          "data-target": edge.target,
          "data-drift": drift?.kind,
          "data-request-rate": a.request_rate,
          "data-error-rate": a.error_rate,
          "marker-end": `url(#${markerId(classes)})`,
        },
        s(
          "title",
          {},
          `${edge.source} → ${edge.target}: ${a.criticality ?? "criticality unknown"}, ` +
            `${a.communication_mode ?? "mode unknown"}${edge.is_stale ? ", stale" : ""}` +
            (figures ? `; ${figures}` : "; no traffic figures") +
            (status ? `; ${status} since the compared time` : "") +
            (drift ? `. ${describeDrift(drift, graph.drift.window)}` : ""),
        ),
      );
    });
  }

  nodeElements(graph, layout, changes, driftEnds) {
    return [...graph.nodes.values()].map((node, index) => {
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
            driftEnds.has(node.service_id) && "drift-end",
          ],
          "data-service-id": node.service_id,
          "data-team": node.team,
          "data-criticality": node.criticality,
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
            (node.team ? `, team ${node.team}` : "") +
            (node.criticality ? `, ${node.criticality} criticality` : "") +
            (status ? `, ${status} since the compared time` : ""),
        },
        boxOf(box, node.service_id, node.kind, {
          team: node.team,
          criticality: node.criticality,
          clipId: `node-clip-${index}`,
        }),
        s(
          "title",
          {},
          (node.display_name ? `${node.service_id} (${node.display_name})` : node.service_id) +
            (node.team ? `; team ${node.team}` : "") +
            (node.criticality ? `; ${node.criticality} criticality` : ""),
        ),
      );
    });
  }

  /**
   * Draw an overview answer (GET /graph/overview): a box per group with its label, size,
   * kinds and a cycle mark; an expanded group's members inside its box; an edge per
   * answer edge labelled with the number of service edges it stands for, its width by
   * the summed request rate and its colour by the worst error rate (the legend's
   * classes). Returns the layout.
   */
  drawOverview(answer) {
    const layout = groupLayout(answer);
    this.graph = null;
    this.layout = layout;
    const pathOf = (edge) =>
      edgePath(endBox(layout, edge.source_group, edge.source), endBox(layout, edge.target_group, edge.target));
    const edges = answer.edges.map((edge) => {
      const classes = ["edge", "aggregate", rateClass(edge.request_rate), errorClass(edge.error_rate)];
      const from = endBox(layout, edge.source_group, edge.source);
      const to = endBox(layout, edge.target_group, edge.target);
      if (from === to) classes.push("self");
      else if (to.layer < from.layer) classes.push("back");
      return s(
        "path",
        {
          class: classes,
          d: pathOf(edge),
          "data-source-group": edge.source_group,
          "data-target-group": edge.target_group,
          "data-source": edge.source ?? undefined,
          "data-target": edge.target ?? undefined,
          "data-edges": edge.edges,
          "data-request-rate": edge.request_rate,
          "data-error-rate": edge.error_rate,
          "marker-end": `url(#${markerId(classes)})`,
        },
        s("title", {}, overviewEdgeTitle(edge)),
      );
    });
    const counts = answer.edges.map((edge) => {
      const middle = edgeMiddle(
        endBox(layout, edge.source_group, edge.source),
        endBox(layout, edge.target_group, edge.target),
      );
      return s(
        "text",
        { class: "edge-count", x: middle.x, y: middle.y, dy: "0.35em", "text-anchor": "middle" },
        String(edge.edges),
      );
    });
    const membersOf = new Map();
    for (const node of answer.nodes) {
      if (!membersOf.has(node.group)) membersOf.set(node.group, []);
      membersOf.get(node.group).push(node);
    }
    const groups = answer.groups.map((group) =>
      groupElement(group, layout.groups.get(group.id), membersOf.get(group.id) ?? [], layout),
    );
    const viewport = s(
      "g",
      { class: "viewport" },
      s("g", { class: "groups" }, groups),
      s("g", { class: "edges" }, edges),
      s("g", { class: "edge-counts" }, counts),
    );
    this.svg.replaceChildren(markers(), viewport);
    this.svg.classList.remove("blast");
    this.svg.classList.add("overview");
    this.svg.dataset.crossings = String(layout.crossings);
    this.bounds = { ...layout.bounds };
    this.selected = null;
    this.fit();
    return layout;
  }

  /**
   * Mark a blast radius on the drawing (blast.impactMarks): the failed service, each
   * affected service drawn coloured down or degraded, the edges of the explaining paths
   * in the colour of what their caller suffers; the rest fades. Returns how many of the
   * affected services are drawn. Drawn already: no request, no new layout.
   */
  markImpact(marks) {
    this.clearImpact();
    this.svg.classList.add("blast");
    this.svg.dataset.failed = marks.failed ?? "";
    let drawn = 0;
    for (const element of this.svg.querySelectorAll(".node")) {
      const id = element.dataset.serviceId;
      const impact = marks.impactOf.get(id);
      if (id === marks.failed) element.classList.add("failed");
      else if (impact) {
        element.classList.add(`impact-${impact}`);
        element.dataset.impact = impact;
        drawn += 1;
      } else element.classList.add("unaffected");
    }
    for (const element of this.svg.querySelectorAll(".edge")) {
      const effect = marks.effectOf.get(edgeKey(element.dataset.source, element.dataset.target));
      if (effect) {
        element.classList.add("impact-path", `effect-${effect}`);
        element.dataset.effect = effect;
        // The head in the path's colour; the edge's own comes back with clearImpact.
        const head = element.getAttribute("marker-end");
        element.dataset.head = head;
        element.setAttribute("marker-end", head.replace(/arrow-[a-z-]+?-(sync|async)/, `arrow-${effect}-$1`));
      }
    }
    return drawn;
  }

  clearImpact() {
    this.svg.classList.remove("blast");
    delete this.svg.dataset.failed;
    for (const element of this.svg.querySelectorAll(".failed, .impact-down, .impact-degraded, .unaffected")) {
      element.classList.remove("failed", "impact-down", "impact-degraded", "unaffected");
      delete element.dataset.impact;
    }
    for (const element of this.svg.querySelectorAll(".impact-path")) {
      element.classList.remove("impact-path", "effect-down", "effect-degraded");
      delete element.dataset.effect;
      if (element.dataset.head) element.setAttribute("marker-end", element.dataset.head);
      delete element.dataset.head;
    }
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
    // A wheel zoom shown as a picture (wheelZoom) is over once the view is set.
    clearTimeout(this.wheelTimer);
    this.wheelView = null;
    this.svg.classList.remove("zooming");
    this.svg.style.transform = "";
    const zoomed = view.width !== this.view.width;
    this.view = view;
    this.svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.width} ${view.height}`);
    // Only a zoom changes the labels' size on screen; a pan keeps it (and reads no layout).
    if (zoomed || !this.svg.dataset.scale) this.showLabelsBySize();
  }

  /** Hide the overview's labels that would be drawn too small to read. */
  showLabelsBySize() {
    const width = this.svg.clientWidth || this.svg.getBoundingClientRect().width;
    const height = this.svg.clientHeight || this.svg.getBoundingClientRect().height;
    if (!width || !height) return;
    // The viewBox is fitted to the element keeping its aspect ratio (meet).
    const scale = Math.min(width / this.view.width, height / this.view.height);
    this.svg.dataset.scale = scale.toFixed(3);
    this.svg.classList.toggle("small-labels", scale < SMALL_LABELS);
    this.svg.classList.toggle("tiny-labels", scale < TINY_LABELS);
  }

  /** The view `v` zoomed by `factor` (< 1 zooms in) keeping the svg point (px, py)
   * where it is, within the closest and the farthest zoom. */
  zoomedView(v, factor, px, py) {
    const largest = this.bounds
      ? Math.max(this.bounds.maxX - this.bounds.minX, this.bounds.maxY - this.bounds.minY) * 4 + 400
      : 10000;
    const width = Math.min(Math.max(v.width * factor, MIN_ZOOM_WIDTH), largest);
    const f = width / v.width;
    return { x: px - (px - v.x) * f, y: py - (py - v.y) * f, width: v.width * f, height: v.height * f };
  }

  /** Zoom by `factor` (< 1 zooms in) keeping the svg point (px, py) where it is. */
  zoom(factor, px, py) {
    this.settleWheel();
    const v = this.view;
    this.setView(this.zoomedView(v, factor, px ?? v.x + v.width / 2, py ?? v.y + v.height / 2));
  }

  /**
   * A wheel step: the drawing scales as a picture (a CSS transform the browser
   * composites, no paint of its paths), and the view box follows once the wheel rests
   * (WHEEL_REST ms), as a drag does on release. `clientX`, `clientY`: the pointer, the
   * point kept where it is.
   */
  wheelZoom(factor, clientX, clientY) {
    const base = this.view;
    if (!this.wheelView) this.wheelBox = this.svg.getBoundingClientRect();
    const shown = this.wheelView ?? base;
    const { left, top, width: w, height: h } = this.wheelBox;
    // The fitting of the view box to the element (preserveAspectRatio meet): units to px
    // by `k`, the drawing centred by the offsets.
    const k = Math.min(w / base.width, h / base.height);
    const offsetX = (w - base.width * k) / 2;
    const offsetY = (h - base.height * k) / 2;
    const scaleOf = (view) => base.width / view.width;
    // The unit under the pointer in the picture as it looks now.
    const s = scaleOf(shown);
    const px = shown.x + (clientX - left - offsetX) / (k * s);
    const py = shown.y + (clientY - top - offsetY) / (k * s);
    const next = this.zoomedView(shown, factor, px, py);
    const n = scaleOf(next);
    const tx = offsetX * (1 - n) + (base.x - next.x) * k * n;
    const ty = offsetY * (1 - n) + (base.y - next.y) * k * n;
    this.wheelView = next;
    this.svg.classList.add("zooming");
    this.svg.style.transform = `translate(${tx}px, ${ty}px) scale(${n})`;
    clearTimeout(this.wheelTimer);
    this.wheelTimer = setTimeout(() => this.settleWheel(), WHEEL_REST);
  }

  /** The wheel zoom shown as a picture becomes the view (no-op when there is none). */
  settleWheel() {
    if (this.wheelView) this.setView(this.wheelView);
  }

  /** Pan so that `element` (drawn) is in view, when it is not. */
  reveal(element) {
    this.settleWheel();
    const box = element.getBBox();
    const matrix = element.getCTM();
    const viewport = this.svg.querySelector(".viewport")?.getCTM();
    if (!matrix || !viewport) return;
    // The element's centre in the drawing's own units.
    const centre = new DOMPoint(box.x + box.width / 2, box.y + box.height / 2)
      .matrixTransform(matrix)
      .matrixTransform(viewport.inverse());
    const v = this.view;
    const inside =
      centre.x > v.x + v.width * 0.05 &&
      centre.x < v.x + v.width * 0.95 &&
      centre.y > v.y + v.height * 0.05 &&
      centre.y < v.y + v.height * 0.95;
    if (!inside) this.setView({ ...v, x: centre.x - v.width / 2, y: centre.y - v.height / 2 });
  }

  pan(dx, dy) {
    this.settleWheel();
    const v = this.view;
    this.setView({ ...v, x: v.x + dx, y: v.y + dy });
  }

  installPanZoom() {
    const svg = this.svg;
    svg.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        this.wheelZoom(Math.exp(event.deltaY * 0.0015), event.clientX, event.clientY);
      },
      { passive: false },
    );
    let press = null;
    let dragged = false;
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      this.settleWheel();
      press = { x: event.clientX, y: event.clientY, dx: 0, dy: 0, view: { ...this.view }, id: event.pointerId };
      dragged = false;
    });
    svg.addEventListener("pointermove", (event) => {
      if (!press || event.pointerId !== press.id) return;
      // The button let go outside the drawing (no pointerup came here): no drag.
      if ((event.buttons & 1) === 0) {
        release(event);
        return;
      }
      const dx = event.clientX - press.x;
      const dy = event.clientY - press.y;
      if (!dragged && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
      if (!dragged) {
        dragged = true;
        svg.setPointerCapture(event.pointerId);
        svg.classList.add("panning");
      }
      // While dragging, the drawing moves as a picture: a transform the compositor
      // applies, without repainting its paths (thousands in a large overview); the view
      // box follows once, on release. The frame around it clips what moves out.
      press.dx = dx;
      press.dy = dy;
      svg.style.transform = `translate(${dx}px, ${dy}px)`;
    });
    const release = (event) => {
      if (!press || event.pointerId !== press.id) return;
      if (dragged) {
        svg.style.transform = "";
        const scale = svg.getScreenCTM()?.a || 1;
        this.setView({ ...press.view, x: press.view.x - press.dx / scale, y: press.view.y - press.dy / scale });
      }
      press = null;
      svg.classList.remove("panning");
    };
    svg.addEventListener("pointerup", release);
    svg.addEventListener("pointercancel", release);
    svg.addEventListener("click", (event) => {
      if (dragged) {
        dragged = false;
        return;
      }
      const more = event.target.closest?.(".more-here");
      if (more) {
        this.onReroot(more.dataset.serviceId);
        return;
      }
      const node = event.target.closest?.(".node");
      if (node) this.onSelect(node.dataset.serviceId);
      const group = !node && event.target.closest?.(".group");
      if (group) this.onGroup(group.dataset.groupId);
      if (event.target.closest?.(".more-marker")) this.onMore();
      // A drift badge selects the caller, whose panel lists the edge with its evidence.
      const badge = event.target.closest?.(".drift-badge");
      if (badge) this.onSelect(badge.dataset.source, badge.dataset.target);
    });
    svg.addEventListener("dblclick", (event) => {
      const node = event.target.closest?.(".node");
      if (node) this.onReroot(node.dataset.serviceId);
    });
    svg.addEventListener("keydown", (event) => {
      if (event.target.closest?.(".more-marker") && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.onMore();
        return;
      }
      const more = event.target.closest?.(".more-here");
      if (more && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.onReroot(more.dataset.serviceId);
        return;
      }
      const node = event.target.closest?.(".node");
      if (node && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        if (event.shiftKey) this.onReroot(node.dataset.serviceId);
        else this.onSelect(node.dataset.serviceId);
        return;
      }
      const group = event.target.closest?.(".group");
      if (group && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.onGroup(group.dataset.groupId);
        return;
      }
      // On a service or a group, the arrows move the focus to the nearest one that way
      // (and bring it into view); elsewhere they pan.
      const focusable = event.target.closest?.(".node[tabindex], .group[tabindex]");
      const way = ARROWS[event.key];
      if (focusable && way && !event.shiftKey) {
        event.preventDefault();
        const next = nearestThatWay(focusable, way, this.svg.querySelectorAll(".node[tabindex], .group[tabindex]"));
        if (next) {
          next.focus({ preventScroll: true });
          this.reveal(next);
        }
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
