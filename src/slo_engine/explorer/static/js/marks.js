// What the picture says besides the shape of the graph: drift marks on edges, a colour
// per team, criticality badges, edge widths by request rate and colours by error rate.
// Pure: no DOM, no fetch; render.js, panels.js and the tests call the same functions.

import { edgeKey } from "./graph.js";

/** The drift kinds of the API (docs/drift.md), in the order the legend lists them. */
export const DRIFT_KINDS = ["declared_only", "observed_only", "mismatch"];

/** How a drift kind is said, and the glyph of its badge on the edge. */
export const DRIFT_WORDS = {
  declared_only: { name: "declared only", glyph: "D" },
  observed_only: { name: "observed only", glyph: "O" },
  mismatch: { name: "mismatch", glyph: "≠" },
};

/**
 * The drift of the drawn edges, from an answer's `drift` member (`include=drift`):
 * {byEdge: Map edgeKey -> {kind, items}, totals, listed, window}. A pair drifts one way
 * only (docs/drift.md), so each edge has one kind; a mismatch may have an item per field.
 * Items of pairs not drawn are left out. `drift` null (not asked): no marks.
 *
 * Example: items [{source: "a", target: "b", drift: "declared_only"}] with the edge a -> b
 * drawn give byEdge a→b: {kind: "declared_only", items: [that item]}.
 */
export function driftOfEdges(drift, edges) {
  const drawn = new Set(edges.map((e) => edgeKey(e.source, e.target)));
  const byEdge = new Map();
  for (const item of drift?.items ?? []) {
    const key = edgeKey(item.source, item.target);
    if (!drawn.has(key)) continue;
    if (!byEdge.has(key)) byEdge.set(key, { kind: item.drift, items: [] });
    byEdge.get(key).items.push(item);
  }
  const totals = drift?.totals ?? {};
  const all = DRIFT_KINDS.reduce((sum, kind) => sum + (totals[kind] ?? 0), 0);
  return {
    asked: Boolean(drift),
    byEdge,
    totals,
    // The answer lists at most 1,000 items; its totals count every one.
    cut: (drift?.items?.length ?? 0) < all,
    window: drift?.window_hours ?? null,
  };
}

/** How many drawn edges drift each way: {declared_only: n, ...}. */
export function driftCounts(drift) {
  const counts = Object.fromEntries(DRIFT_KINDS.map((kind) => [kind, 0]));
  for (const { kind } of drift.byEdge.values()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

const percent = (value) => `${(value * 100).toFixed(2)} %`;

/** "12.5 req/s, 0.10 % errors, p95 8 ms" (the figures given), or "" when none is. */
export function trafficFigures({ request_rate: rate, error_rate: errors, latency_p95_ms: p95 }) {
  return [
    rate == null ? null : `${Number(rate).toFixed(1)} req/s`,
    errors == null ? null : `${percent(errors)} errors`,
    p95 == null ? null : `p95 ${Number(p95).toFixed(0)} ms`,
  ]
    .filter(Boolean)
    .join(", ");
}

/** "8 min ago" (a time in RFC 3339, against `now` in ms); "" without a time. */
export function agoText(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = (now - new Date(iso).getTime()) / 1000;
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

/**
 * The evidence of an edge's drift in a sentence or two, for the tooltip and the service
 * panel. `window`: the hours within which an observation counts.
 */
export function describeDrift(mark, window, now = Date.now()) {
  const [first] = mark.items;
  const evidence = first.evidence ?? {};
  const sources = (list) => (list?.length ? list.join(", ") : "nobody");
  const confidence = `Confidence ${(first.confidence * 100).toFixed(1)} %.`;
  const within = window ? ` in the last ${window} h` : "";
  if (mark.kind === "declared_only") {
    const coverage = evidence.caller_coverage;
    return (
      `Declared only: declared by ${sources(evidence.declared_by)}; no traffic seen${within}` +
      (coverage
        ? `, though traffic shows the caller (${sources(coverage.observed_by)}; ` +
          `${coverage.edges} edge${coverage.edges === 1 ? "" : "s"}, last seen ${agoText(coverage.last_seen, now)})`
        : "") +
      `. ${confidence}`
    );
  }
  if (mark.kind === "observed_only") {
    const seen = (evidence.observed_by ?? [])
      .map((source) => {
        const at = evidence.last_seen?.[source];
        return at ? `${source} ${agoText(at, now)}` : source;
      })
      .join(", ");
    const figures = trafficFigures(evidence);
    return (
      `Observed only: seen by ${seen || "nobody"}; declared by nobody` +
      (figures ? `; ${figures}` : "") +
      `. ${confidence}`
    );
  }
  const fields = mark.items
    .map((item) => `${item.field} declared ${item.declared ?? "—"}, observed ${item.observed ?? "—"}`)
    .join("; ");
  return (
    `Mismatch: ${fields} (declared by ${sources(evidence.declared_by)}, ` +
    `observed by ${sources(evidence.observed_by)}). ${confidence}`
  );
}

// --- teams ---------------------------------------------------------------------------

// Eleven colours apart from each other and from the marks' own colours; a team keeps its
// colour from view to view (and page to page) because it is hashed, not assigned.
export const TEAM_PALETTE = [
  "#3b7dd8",
  "#e8833a",
  "#43a35e",
  "#9b5fc0",
  "#d1ad1f",
  "#2fb0ad",
  "#e0607e",
  "#8d6e4f",
  "#7d8a99",
  "#a3c940",
  "#1d4f91",
];

/**
 * The colour of a team: 32-bit FNV-1a of its name (UTF-16 code units) modulo the palette.
 *
 * Example: teamColour("checkout") is always the same one of TEAM_PALETTE.
 */
export function teamColour(team) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < team.length; i += 1) {
    hash ^= team.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return TEAM_PALETTE[(hash >>> 0) % TEAM_PALETTE.length];
}

/** The teams of the drawn services, sorted, each with its colour: [[team, colour]]. */
export function teamsInView(nodes) {
  const teams = new Set();
  for (const node of nodes) if (node.team) teams.add(node.team);
  return [...teams].sort().map((team) => [team, teamColour(team)]);
}

// --- criticality of services -----------------------------------------------------------

export const SERVICE_CRITICALITIES = ["critical", "high", "medium", "low"];

/** The letter of a criticality badge: C, H, M, L (null for none or another value). */
export function criticalityBadge(criticality) {
  return SERVICE_CRITICALITIES.includes(criticality) ? criticality[0].toUpperCase() : null;
}

// --- traffic figures of edges -----------------------------------------------------------

// Lower bounds, in requests per second, of the width classes rate-0 .. rate-3.
export const RATE_STEPS = [0, 1, 10, 100];
// Lower bounds of the error-rate colour classes errors-low, errors-some, errors-high.
export const ERROR_STEPS = [
  ["errors-low", 0],
  ["errors-some", 0.01],
  ["errors-high", 0.05],
];

/** The width class of an observed request rate (null when none was measured). */
export function rateClass(rate) {
  if (rate == null || !Number.isFinite(Number(rate))) return null;
  let step = 0;
  RATE_STEPS.forEach((bound, index) => {
    if (Number(rate) >= bound) step = index;
  });
  return `rate-${step}`;
}

/** The colour class of an observed error rate (a fraction; null when none). */
export function errorClass(errors) {
  if (errors == null || !Number.isFinite(Number(errors))) return null;
  let found = ERROR_STEPS[0][0];
  for (const [name, bound] of ERROR_STEPS) if (Number(errors) >= bound) found = name;
  return found;
}
