// The overview of the whole graph (GET /graph/overview): its query, and a layout that
// keeps each group a box. Pure: no DOM, no fetch; the page and the tests call the same
// functions.
//
// Groups are placed in columns by their edges, callers to the left of what they call:
//   1. a linear order of the groups with few edges pointing backwards (the greedy
//      heuristic of Eades, Lin and Smyth 1993: sinks to the end, sources to the front,
//      else the group with the most outgoing minus incoming weight first), O(V + E) with
//      buckets, here O(V^2 + E) as the groups are at most 500;
//   2. longest-path columns over the edges that point forward in that order; a graph
//      whose groups all call each other would get one group per column, so the columns
//      are squeezed into at most about sqrt(V) keeping their order (an edge never points
//      backwards because of it);
//   3. the groups of each column ordered against crossings with the sweeps of layout.js;
//   4. a column taller than the picture should be is folded into side-by-side
//      sub-columns, so the whole is roughly as tall as it is wide.
// An expanded group is a larger box with its members in a grid inside it (the most
// connected first, as the answer lists them). Boxes are stacked with gaps and columns
// are as wide as their widest box, so no two group boxes overlap, whatever their sizes.

import { filterParams } from "./filters.js";
import { labelText, layeredLayout, orderLayers } from "./layout.js";

export const GROUP_BY = ["team", "namespace", "kind", "system"];

// The overview's own options; the filters are the page's (filters.js), shared with the
// service view.
export const OVERVIEW_DEFAULTS = Object.freeze({ groupBy: "team", expand: [] });

export const GROUP_LAYOUT = Object.freeze({
  charWidth: 7.4, // the 12 px monospace label font, as layout.js
  lineHeight: 16,
  padding: 10,
  groupLabelChars: 32,
  memberLabelChars: 24,
  memberHeight: 22,
  memberGap: 8,
  columnGap: 120,
  rowGap: 28,
  subColumnGap: 48,
});

/** A fresh copy of overview options (expand is an array). */
export function copyOverview(options) {
  return { groupBy: options?.groupBy ?? OVERVIEW_DEFAULTS.groupBy, expand: [...(options?.expand ?? [])] };
}

/** The query of an overview: the parameters the endpoint takes (`expand` repeated), the
 * filters' included (filters.filterParams). */
export function overviewParams(options, filters, { includeStale = false, asOf = null } = {}) {
  const o = copyOverview(options);
  return {
    group_by: o.groupBy,
    expand: o.expand.length ? o.expand : null,
    ...filterParams(filters),
    include_stale: includeStale ? "true" : null,
    as_of: asOf,
  };
}

const KIND_SHORT = { service: "svc", database: "db", messaging: "msg", external: "ext", virtual: "virt" };

/** "12 svc · 3 db · 1 ext": a group's kinds, the most numerous first. */
export function kindsSummary(kinds) {
  return Object.entries(kinds ?? {})
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([kind, count]) => `${count} ${KIND_SHORT[kind] ?? kind}`)
    .join(" · ");
}

/** "6 services, 4 inside" (the second part only when the group has internal edges). */
export function countLine(group) {
  const services = `${group.services} service${group.services === 1 ? "" : "s"}`;
  const inside = group.internal_edges;
  return inside ? `${services}, ${inside} edge${inside === 1 ? "" : "s"} inside` : services;
}

/** The edges between distinct groups, summed: [{source, target, weight}]. */
function groupEdges(answer) {
  const summed = new Map();
  for (const edge of answer.edges) {
    if (edge.source_group === edge.target_group) continue;
    const key = `${edge.source_group}\u0000${edge.target_group}`;
    const known = summed.get(key);
    if (known) known.weight += edge.edges;
    else summed.set(key, { source: edge.source_group, target: edge.target_group, weight: edge.edges });
  }
  return [...summed.values()];
}

/** Eades-Lin-Smyth: an order of `ids` in which few (light) edges point backwards. */
export function feedbackOrder(ids, edges) {
  const out = new Map(ids.map((id) => [id, new Map()]));
  const into = new Map(ids.map((id) => [id, new Map()]));
  for (const { source, target, weight } of edges) {
    if (!out.has(source) || !out.has(target) || source === target) continue;
    out.get(source).set(target, (out.get(source).get(target) ?? 0) + weight);
    into.get(target).set(source, (into.get(target).get(source) ?? 0) + weight);
  }
  const left = new Set(ids);
  const front = [];
  const back = [];
  const remove = (id) => {
    left.delete(id);
    for (const target of out.get(id).keys()) into.get(target).delete(id);
    for (const source of into.get(id).keys()) out.get(source).delete(id);
  };
  const sum = (map) => {
    let total = 0;
    for (const value of map.values()) total += value;
    return total;
  };
  while (left.size) {
    let changed = true;
    while (changed) {
      changed = false;
      for (const id of [...left]) {
        if (out.get(id).size === 0) {
          back.push(id);
          remove(id);
          changed = true;
        } else if (into.get(id).size === 0) {
          front.push(id);
          remove(id);
          changed = true;
        }
      }
    }
    if (!left.size) break;
    let best = null;
    let bestScore = -Infinity;
    for (const id of left) {
      const score = sum(out.get(id)) - sum(into.get(id));
      if (score > bestScore) {
        best = id;
        bestScore = score;
      }
    }
    front.push(best);
    remove(best);
  }
  return [...front, ...back.reverse()];
}

/** Columns of the groups: longest path over the forward edges, squeezed. */
export function groupColumns(ids, edges) {
  const order = feedbackOrder(ids, edges);
  const rank = new Map(order.map((id, i) => [id, i]));
  const incoming = new Map(ids.map((id) => [id, []]));
  for (const { source, target } of edges) {
    if (rank.get(source) < rank.get(target)) incoming.get(target).push(source);
  }
  const column = new Map();
  let deepest = 0;
  for (const id of order) {
    let c = 0;
    for (const source of incoming.get(id)) c = Math.max(c, column.get(source) + 1);
    column.set(id, c);
    deepest = Math.max(deepest, c);
  }
  const most = Math.max(1, Math.ceil(Math.sqrt(ids.length)));
  if (deepest + 1 > most) {
    for (const id of ids) column.set(id, Math.floor((column.get(id) * most) / (deepest + 1)));
  }
  return column;
}

function groupHeader(group, o) {
  const lines = [labelText(group.label, o.groupLabelChars), countLine(group), kindsSummary(group.kinds)];
  const width = Math.max(120, ...lines.map((line) => line.length * o.charWidth)) + 2 * o.padding + 18;
  return { width: Math.ceil(width), height: lines.length * o.lineHeight + o.padding + 4 };
}

/**
 * Where everything of an overview answer goes. Returns {groups: Map id -> box, members:
 * Map service id -> box, column: Map id -> column, crossings, bounds}; a box is {x, y,
 * width, height, layer} (x, y: its centre; `layer`: the sub-column it is drawn in, left to
 * right, which render.js's edge curves read); a group box also has `header` (its height)
 * and, expanded, `grid` {columns, rows, cellWidth}.
 */
export function groupLayout(answer, options = {}) {
  const o = { ...GROUP_LAYOUT, ...options };
  const ids = answer.groups.map((g) => g.id);
  const edges = groupEdges(answer);
  const column = groupColumns(ids, edges);
  const { order, crossings } = orderLayers(
    ids.map((id) => ({ id, layer: column.get(id) })),
    edges,
  );
  const membersOf = new Map(ids.map((id) => [id, []]));
  for (const node of answer.nodes) membersOf.get(node.group)?.push(node);

  // Box sizes.
  const sizes = new Map();
  for (const group of answer.groups) {
    const header = groupHeader(group, o);
    const members = membersOf.get(group.id);
    if (!members.length) {
      sizes.set(group.id, { ...header, header: header.height });
      continue;
    }
    const cellWidth = Math.ceil(
      Math.max(...members.map((m) => labelText(m.service_id, o.memberLabelChars).length)) * o.charWidth +
        2 * o.padding,
    );
    // A grid about 4:3 on screen.
    const columns = Math.max(
      1,
      Math.round(Math.sqrt((members.length * 1.33 * (o.memberHeight + o.memberGap)) / (cellWidth + o.memberGap))),
    );
    const rows = Math.ceil(members.length / columns);
    const folded = group.members_shown < group.services ? o.lineHeight : 0;
    sizes.set(group.id, {
      width: Math.max(header.width, columns * (cellWidth + o.memberGap) - o.memberGap + 2 * o.padding),
      height: header.height + rows * (o.memberHeight + o.memberGap) + folded + o.padding,
      header: header.height,
      grid: { columns, rows, cellWidth },
    });
  }

  // Fold tall columns: the picture should be about as tall as it is wide.
  let area = 0;
  for (const size of sizes.values()) area += (size.width + o.columnGap) * (size.height + o.rowGap);
  const tallest = Math.max(0, ...[...sizes.values()].map((size) => size.height));
  const limit = Math.max(tallest, Math.sqrt(area) * 0.75);
  const subColumns = []; // [{ids, width, height}] left to right
  for (const c of [...order.keys()].sort((a, b) => a - b)) {
    let current = null;
    for (const id of order.get(c)) {
      const size = sizes.get(id);
      if (!current || current.height + o.rowGap + size.height > limit) {
        current = { ids: [], width: 0, height: -o.rowGap, column: c };
        subColumns.push(current);
      }
      current.ids.push(id);
      current.width = Math.max(current.width, size.width);
      current.height += o.rowGap + size.height;
    }
  }

  const groups = new Map();
  const members = new Map();
  let x = 0;
  let previousColumn = null;
  subColumns.forEach((sub, index) => {
    if (previousColumn !== null) x += sub.column === previousColumn ? o.subColumnGap : o.columnGap;
    previousColumn = sub.column;
    const centreX = x + sub.width / 2;
    let y = -sub.height / 2;
    for (const id of sub.ids) {
      const size = sizes.get(id);
      const box = { ...size, x: centreX, y: y + size.height / 2, layer: index };
      groups.set(id, box);
      if (size.grid) {
        const { columns, cellWidth } = size.grid;
        const left = centreX - size.width / 2 + o.padding;
        const top = y + size.header;
        membersOf.get(id).forEach((member, i) => {
          const col = i % columns;
          const row = Math.floor(i / columns);
          members.set(member.service_id, {
            x: left + col * (cellWidth + o.memberGap) + cellWidth / 2,
            y: top + row * (o.memberHeight + o.memberGap) + o.memberHeight / 2,
            width: cellWidth,
            height: o.memberHeight,
            layer: index,
          });
        });
      }
      y += size.height + o.rowGap;
    }
    x += sub.width;
  });
  return { groups, members, column, crossings, bounds: boundsOf(groups.values()) };
}

function boundsOf(boxes) {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const b of boxes) {
    minX = Math.min(minX, b.x - b.width / 2);
    maxX = Math.max(maxX, b.x + b.width / 2);
    minY = Math.min(minY, b.y - b.height / 2);
    maxY = Math.max(maxY, b.y + b.height / 2);
  }
  return minX === Infinity ? { minX: 0, maxX: 0, minY: 0, maxY: 0 } : { minX, maxX, minY, maxY };
}

/** The box an edge's end is drawn at: its member when it is drawn, else its group. */
export function endBox(layout, group, service) {
  return (service && layout.members.get(service)) || layout.groups.get(group);
}

// --- measuring a layout --------------------------------------------------------------

/**
 * The same answer through layout.js's layered layout, the page's service-view layout:
 * each drawn thing (a collapsed group, or a member of an expanded one) one box, the
 * columns those of groupColumns. Members of one group then spread over a column like any
 * other box: their group has no box of its own, only the extent of its members.
 */
export function flatLayout(answer) {
  const edges = groupEdges(answer);
  const column = groupColumns(
    answer.groups.map((g) => g.id),
    edges,
  );
  const expanded = new Set(answer.nodes.map((n) => n.group));
  const nodes = [
    ...answer.groups.filter((g) => !expanded.has(g.id)).map((g) => ({ id: `group:${g.id}`, layer: column.get(g.id) })),
    ...answer.nodes.map((n) => ({ id: n.service_id, layer: column.get(n.group) })),
  ];
  const drawnEdges = answer.edges.map((e) => ({
    source: e.source ?? `group:${e.source_group}`,
    target: e.target ?? `group:${e.target_group}`,
  }));
  const layout = layeredLayout(nodes, drawnEdges);
  // The extent of each group: its own box, or the box around its members.
  const extents = new Map();
  for (const group of answer.groups) {
    const boxes = expanded.has(group.id)
      ? answer.nodes.filter((n) => n.group === group.id).map((n) => layout.boxes.get(n.service_id))
      : [layout.boxes.get(`group:${group.id}`)];
    const b = boundsOf(boxes);
    extents.set(group.id, { x: (b.minX + b.maxX) / 2, y: (b.minY + b.maxY) / 2, width: b.maxX - b.minX, height: b.maxY - b.minY });
  }
  return {
    extents,
    ends: (group, service) => layout.boxes.get(service ?? `group:${group}`),
    bounds: layout.bounds,
  };
}

/** How many pairs of boxes overlap (touching edges do not count). O(n^2). */
export function overlappingPairs(boxes) {
  const list = [...boxes];
  let count = 0;
  for (let i = 0; i < list.length; i += 1) {
    const a = list[i];
    for (let j = i + 1; j < list.length; j += 1) {
      const b = list[j];
      if (Math.abs(a.x - b.x) * 2 < a.width + b.width && Math.abs(a.y - b.y) * 2 < a.height + b.height) {
        count += 1;
      }
    }
  }
  return count;
}

function segmentsCross(p, q) {
  const orient = (a, b, c) => Math.sign((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
  return (
    orient(p[0], p[1], q[0]) * orient(p[0], p[1], q[1]) < 0 &&
    orient(q[0], q[1], p[0]) * orient(q[0], q[1], p[1]) < 0
  );
}

/**
 * Crossings of the drawn edges taken as straight lines between box centres (edges that
 * share an end do not count): the same measure for any layout. O(E^2).
 */
export function straightCrossings(answer, ends) {
  const segments = answer.edges
    .filter((e) => !(e.source_group === e.target_group && e.source === e.target))
    .map((e) => {
      const a = ends(e.source_group, e.source);
      const b = ends(e.target_group, e.target);
      return { from: `${e.source_group}/${e.source}`, to: `${e.target_group}/${e.target}`, line: [a, b] };
    });
  let count = 0;
  for (let i = 0; i < segments.length; i += 1) {
    const s = segments[i];
    for (let j = i + 1; j < segments.length; j += 1) {
      const t = segments[j];
      if (s.from === t.from || s.from === t.to || s.to === t.from || s.to === t.to) continue;
      if (segmentsCross(s.line, t.line)) count += 1;
    }
  }
  return count;
}
