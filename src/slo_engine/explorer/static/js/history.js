// The graph's history as the page uses it. Pure: no DOM, no fetch.
//
// Times: the page's datetime-local inputs hold a wall-clock time of the browser's time
// zone; the URL and the API take RFC 3339 with an offset. A chosen time is sent with the
// offset the browser's zone had at that moment (2026-11-27T10:15:30+05:45), so the
// server answers for the instant the person meant, whatever the zone of the server.
//
// Changes: GET /graph/diff answers for the whole graph, one entry per edge *report*
// (caller, callee, discovery source). The drawing has one edge per caller and callee, so
// the reports are grouped by pair, and only what lies in the drawn subgraph is kept.

import { edgeKey } from "./graph.js";

const pad = (number, width = 2) => String(number).padStart(width, "0");

// What a datetime-local input gives: seconds and milliseconds only when not zero (or
// when its step asks for them).
const LOCAL_INPUT = /^(\d{4,6})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** The wall-clock time of `date` in the browser's zone: 2026-11-27T10:15:30[.250]. */
function localClock(date) {
  const milliseconds = date.getMilliseconds();
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    (milliseconds ? `.${pad(milliseconds, 3)}` : "")
  );
}

/** The browser zone's offset at `date` as RFC 3339 wants it: +05:45, -03:00. */
function localOffset(date) {
  // Rounded: a zone's historical local mean time can be seconds off a whole minute.
  const minutes = -Math.round(date.getTimezoneOffset());
  const sign = minutes < 0 ? "-" : "+";
  const size = Math.abs(minutes);
  return `${sign}${pad(Math.floor(size / 60))}:${pad(size % 60)}`;
}

/** An instant as RFC 3339 in the browser's zone: 2026-11-27T10:15:30+05:45. */
export function localRfc3339(date) {
  return localClock(date) + localOffset(date);
}

/**
 * A datetime-local value (a wall-clock time of the browser's zone) as RFC 3339 with that
 * zone's offset; null when the value is empty or not a time.
 *
 * Example, in Asia/Kathmandu: "2026-11-27T10:15:30" gives "2026-11-27T10:15:30+05:45".
 */
export function fromLocalInput(value) {
  const match = LOCAL_INPUT.exec(value ?? "");
  if (!match) return null;
  const [, year, month, day, hours, minutes, seconds, fraction] = match;
  const date = new Date(2000, 0, 1, Number(hours), Number(minutes), Number(seconds ?? 0));
  date.setMilliseconds(Number((fraction ?? "0").padEnd(3, "0")));
  // Set apart: the Date constructor reads the years 0 to 99 as 1900 to 1999.
  date.setFullYear(Number(year), Number(month) - 1, Number(day));
  return Number.isNaN(date.getTime()) ? null : localRfc3339(date);
}

/** The Date of an RFC 3339 time with an offset; null for anything else. */
export function parseTime(text) {
  if (!RFC3339.test(text ?? "")) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** An RFC 3339 time as a datetime-local value in the browser's zone ("" when not one). */
export function toLocalInput(text) {
  const date = parseTime(text);
  return date ? localClock(date) : "";
}

/** An RFC 3339 time for a person: the date and time in the browser's zone, zone named. */
export function describeTime(text) {
  const date = parseTime(text);
  if (!date) return text ?? "";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" }).format(date);
}

// --- the diff, cut down to the drawn subgraph ------------------------------------------

/** Edge reports of a diff grouped by pair: Map edgeKey -> {source, target, added, removed, changed}. */
function reportsByPair(diff) {
  const pairs = new Map();
  for (const kind of ["added", "removed", "changed"]) {
    for (const report of diff.edges[kind]) {
      const key = edgeKey(report.source, report.target);
      if (!pairs.has(key)) {
        const { source, target } = report;
        pairs.set(key, { source, target, added: [], removed: [], changed: [] });
      }
      pairs.get(key)[kind].push(report);
    }
  }
  return pairs;
}

/**
 * What a drawn pair's reports say of the edge: "added" when every source that reports it
 * now started after `from` and none stopped (the edge did not exist then), else
 * "changed" (a source came or went, or a report's fields changed).
 */
function drawnStatus(pair, edge) {
  const newSources = new Set(pair.added.map((report) => report.discovery_source));
  const allNew = (edge.discovery_sources ?? []).every((source) => newSources.has(source));
  return allNew && !pair.removed.length && !pair.changed.length ? "added" : "changed";
}

/**
 * Whether the view follows a service's edges one way ("down": what it calls, "up": what
 * calls it): the subgraph API walks calls from the root and its downstream side, callers
 * from the root and its upstream side, up to the depth.
 */
function follows(node, way, view) {
  if (node.distance >= view.depth) return false;
  const side = way === "down" ? "down" : "up";
  const excluded = way === "down" ? "upstream" : "downstream";
  return view.direction !== excluded && (node.root || node.side === side);
}

/**
 * Where a removed edge would have been drawn from: null when the view would not have drawn
 * it (neither its caller's calls nor its callee's callers are followed there), {} when
 * both its ends are drawn, else {id, place}: its end that is not drawn, one column
 * further out than the drawn one.
 */
function removedEnds(pair, nodes, view) {
  const caller = nodes.get(pair.source);
  const callee = nodes.get(pair.target);
  const fromCaller = caller && follows(caller, "down", view);
  const fromCallee = callee && follows(callee, "up", view);
  if (!fromCaller && !fromCallee) return null;
  if (caller && callee) return {};
  if (fromCaller) {
    const place = { side: "down", distance: caller.distance + 1, layer: caller.layer + 1 };
    return { id: pair.target, place };
  }
  const place = { side: "up", distance: callee.distance + 1, layer: callee.layer - 1 };
  return { id: pair.source, place };
}

/**
 * The part of a diff that lies in the drawn subgraph.
 *
 * `diff`: the answer of GET /graph/diff (from the compared time to the drawn one);
 * `graph`: the drawn graph (graph.mergeAnswers); `view`: {direction, depth} it was asked
 * with. An edge is kept when it is drawn and changed (added, or "changed": a source came
 * or went, a field changed), or when it was removed and the view would have drawn it: its
 * caller is drawn and the view follows its calls, or its callee is drawn and the view
 * follows its callers. The end of such an edge that is not drawn becomes a ghost service
 * one column further out. Only
 * one hop: what lay beyond a removed edge is not in the diff's terms (show the earlier
 * time to see it). Services are kept when drawn or ghosts; cycles when a member is.
 *
 * Returns {edges: Map edgeKey -> {source, target, status, added, removed, changed},
 * services: Map id -> {status, entry}, ghosts: Map id -> place, cycles: {opened,
 * resolved}, truncated}. O(size of the diff + drawn edges).
 */
export function changesInView(diff, graph, view) {
  const drawnEdges = new Map(graph.edges.map((edge) => [edgeKey(edge.source, edge.target), edge]));
  const edges = new Map();
  const ghosts = new Map();
  for (const [key, pair] of reportsByPair(diff)) {
    const drawn = drawnEdges.get(key);
    if (drawn) {
      edges.set(key, { ...pair, status: drawnStatus(pair, drawn) });
      continue;
    }
    if (!pair.removed.length) continue; // added or changed, yet not drawn: outside the view
    const end = removedEnds(pair, graph.nodes, view);
    if (!end) continue;
    if (end.id && !ghosts.has(end.id)) ghosts.set(end.id, end.place);
    edges.set(key, { ...pair, status: "removed" });
  }
  const inView = (id) => graph.nodes.has(id) || ghosts.has(id);
  const services = new Map();
  for (const status of ["added", "removed", "changed"]) {
    for (const entry of diff.services[status]) {
      if (inView(entry.service_id)) services.set(entry.service_id, { status, entry });
    }
  }
  const touches = (cycle) => cycle.cycle_path.some(inView);
  return {
    edges,
    services,
    ghosts,
    cycles: {
      opened: diff.cycles.opened.filter(touches),
      resolved: diff.cycles.resolved.filter(touches),
    },
    truncated: Boolean(diff.truncated),
  };
}
