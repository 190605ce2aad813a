// The blast radius on the picture: what an impact answer (GET /services/{id}/impact, or
// `include=impact`) says of each service and edge, and the graph of the answer alone.
// Pure: no DOM, no fetch; the page and the tests call the same functions.

import { edgeKey } from "./graph.js";
import { driftOfEdges } from "./marks.js";

const WORSE = { down: 2, degraded: 1 };

/**
 * What to mark: {failed: id, impactOf: Map id -> "down" | "degraded", effectOf: Map
 * edgeKey -> the worst effect any explaining path gives the edge's caller}. O(sum of the
 * paths' lengths).
 */
export function impactMarks(answer) {
  const impactOf = new Map();
  const effectOf = new Map();
  for (const affected of answer.affected ?? []) {
    impactOf.set(affected.service_id, affected.impact);
    for (const step of affected.path_edges ?? []) {
      const key = edgeKey(step.source, step.target);
      const known = effectOf.get(key);
      if (!known || (WORSE[step.effect] ?? 0) > (WORSE[known] ?? 0)) effectOf.set(key, step.effect);
    }
  }
  return { failed: answer.service?.service_id ?? null, impactOf, effectOf };
}

/**
 * The blast radius as a graph to draw (the shape graph.graphOfAnswer gives): the failed
 * service as the root, each affected service upstream at its distance, and the edges of
 * the explaining paths, so that every affected service listed is drawn with the path
 * that explains it. Only what the answer says: its edges carry the path's criticality
 * and mode, no traffic figures. `truncated` when the answer lists fewer services than
 * it counts (the worst hit are listed).
 */
export function graphOfImpact(answer) {
  const root = answer.service;
  const rootId = root.service_id;
  const nodes = new Map([[rootId, { ...root, side: "root", distance: 0, layer: 0, root: true }]]);
  for (const a of answer.affected ?? []) {
    if (a.service_id === rootId) continue;
    nodes.set(a.service_id, {
      service_id: a.service_id,
      display_name: a.display_name,
      team: a.team,
      criticality: a.criticality,
      discovered: a.discovered,
      kind: a.kind,
      depth: a.distance,
      side: "up",
      distance: a.distance,
      layer: -a.distance,
      root: false,
    });
  }
  const edges = new Map();
  for (const a of answer.affected ?? []) {
    for (const step of a.path_edges ?? []) {
      const key = edgeKey(step.source, step.target);
      if (edges.has(key) || !nodes.has(step.source) || !nodes.has(step.target)) continue;
      edges.set(key, {
        source: step.source,
        target: step.target,
        is_stale: false,
        discovery_sources: [],
        attributes: { criticality: step.criticality, communication_mode: step.communication_mode },
      });
    }
  }
  const listed = (answer.affected ?? []).length;
  return {
    root,
    nodes,
    edges: [...edges.values()],
    truncated: false,
    maxNodes: listed + 1,
    cut: listed < (answer.totals?.affected ?? listed),
    // Drift is judged for the subgraph's edges, not for these.
    drift: driftOfEdges(null, []),
  };
}

/**
 * The rows of the by-team chart: [{team, down, degraded}] hardest hit first, as the
 * answer orders them; at most `limit` rows, how many teams are left out, and the largest
 * row's count (the bars' scale).
 */
export function teamRows(totals, limit = 8) {
  const rows = (totals?.by_team ?? []).slice(0, limit);
  return {
    rows,
    more: Math.max(0, (totals?.by_team ?? []).length - limit),
    largest: Math.max(1, ...rows.map((row) => row.down + row.degraded)),
  };
}
