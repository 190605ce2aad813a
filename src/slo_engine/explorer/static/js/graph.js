// The drawn subgraph as plain data: answers of the subgraph API merged into one graph,
// and the cycles in it. Pure: no DOM, no fetch.

import { placeBySide } from "./layout.js";

export const edgeKey = (source, target) => `${source}\u2192${target}`;

/**
 * Strongly connected components of a directed graph, by Tarjan's algorithm written with
 * an explicit stack (no recursion, so no stack limit on long chains).
 *
 * `ids`: node ids; `edges`: [{source, target}] (ends outside `ids` are ignored). Returns
 * a Map id -> component number; components are numbered in the order Tarjan completes
 * them (reverse topological order of the condensation). O(V + E) time and memory.
 *
 * Example: ids a, b, c with a -> b, b -> a, b -> c: a and b share a number, c has its own.
 */
export function stronglyConnected(ids, edges) {
  const successors = new Map(ids.map((id) => [id, []]));
  for (const { source, target } of edges) {
    if (successors.has(source) && successors.has(target)) successors.get(source).push(target);
  }
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const component = new Map();
  let counter = 0;
  let components = 0;
  for (const start of ids) {
    if (index.has(start)) continue;
    // Each frame: a node and the position of the next successor to look at.
    const frames = [[start, 0]];
    index.set(start, counter);
    low.set(start, counter);
    counter += 1;
    stack.push(start);
    onStack.add(start);
    while (frames.length) {
      const frame = frames[frames.length - 1];
      const [node, next] = frame;
      const out = successors.get(node);
      if (next < out.length) {
        frame[1] = next + 1;
        const target = out[next];
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter);
          counter += 1;
          stack.push(target);
          onStack.add(target);
          frames.push([target, 0]);
        } else if (onStack.has(target)) {
          low.set(node, Math.min(low.get(node), index.get(target)));
        }
        continue;
      }
      frames.pop();
      if (frames.length) {
        const parent = frames[frames.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.set(member, components);
        } while (member !== node);
        components += 1;
      }
    }
  }
  return component;
}

/**
 * The keys (edgeKey) of the edges that lie on a cycle: both ends in one strongly
 * connected component, self-loops included. Stale edges are left out, as the service
 * does: a cycle only stale edges close is no longer an open alert.
 */
export function cycleEdges(ids, edges) {
  const live = edges.filter((e) => !e.is_stale);
  const component = stronglyConnected(ids, live);
  const keys = new Set();
  for (const e of live) {
    if (e.source === e.target || component.get(e.source) === component.get(e.target)) {
      if (component.has(e.source)) keys.add(edgeKey(e.source, e.target));
    }
  }
  return keys;
}

/**
 * One graph out of the answers of the subgraph API.
 *
 * `down`, `up`: the downstream and upstream answers (or null when that direction was not
 * asked); they give each service its side. `both` (optional): the API's `direction=both`
 * answer for the same query. When it is given, its services and edges are the ones drawn,
 * exactly: after truncation each one-direction answer keeps only the edges between the
 * services it kept itself, so their union can miss an edge between a service kept on one
 * side and one kept on the other (on a cycle through the root), which `both` returns.
 * Without `both`, `maxNodes` is the page's bound: when the union of the sides has more
 * services than that, the closest are kept (ties by service id, as the API does) and the
 * graph is marked truncated.
 *
 * Returns {root, nodes: Map id -> node (with side, distance, layer), edges: [edge],
 * truncated, maxNodes}.
 */
export function mergeAnswers(down, up, maxNodes, both = null) {
  const first = both ?? down ?? up;
  const root = first.service;
  const places = placeBySide(root.service_id, down?.nodes, up?.nodes);
  const nodes = new Map();
  nodes.set(root.service_id, { ...root, ...places.get(root.service_id), root: true });
  if (both) {
    for (const node of both.nodes) {
      // Every service the API keeps for `both` is kept by the side where it is closest
      // (what is ahead of it there is ahead of it in `both` too); the fallback is only
      // for an answer that breaks that contract.
      const place = places.get(node.service_id) ?? {
        side: "down",
        distance: node.depth,
        layer: node.depth,
      };
      nodes.set(node.service_id, { ...node, ...place, root: false });
    }
    const edges = both.edges.filter((e) => nodes.has(e.source) && nodes.has(e.target));
    return { root, nodes, edges, truncated: Boolean(both.statistics.truncated), maxNodes };
  }
  const info = new Map();
  for (const answer of [down, up]) {
    for (const node of answer?.nodes ?? []) info.set(node.service_id, node);
  }
  let ids = [...places.keys()].filter((id) => id !== root.service_id);
  let truncated = Boolean(down?.statistics.truncated || up?.statistics.truncated);
  if (ids.length > maxNodes) {
    ids.sort(
      (a, b) =>
        places.get(a).distance - places.get(b).distance || (a < b ? -1 : a > b ? 1 : 0),
    );
    ids = ids.slice(0, maxNodes);
    truncated = true;
  }
  for (const id of ids) nodes.set(id, { ...info.get(id), ...places.get(id), root: false });
  const edges = new Map();
  for (const answer of [down, up]) {
    for (const edge of answer?.edges ?? []) {
      if (!nodes.has(edge.source) || !nodes.has(edge.target)) continue;
      edges.set(edgeKey(edge.source, edge.target), edge);
    }
  }
  return { root, nodes, edges: [...edges.values()], truncated, maxNodes };
}
