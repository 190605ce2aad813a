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
 * Hops from `start` to every service reachable along `next` (id -> [ids]) within
 * `limit` hops: breadth-first, O(V + E).
 */
function hops(start, next, limit) {
  const distance = new Map([[start, 0]]);
  let frontier = [start];
  for (let hop = 1; hop <= limit && frontier.length; hop += 1) {
    const reached = [];
    for (const id of frontier) {
      for (const other of next.get(id) ?? []) {
        if (distance.has(other)) continue;
        distance.set(other, hop);
        reached.push(other);
      }
    }
    frontier = reached;
  }
  return distance;
}

/**
 * The drawn graph of one answer of the subgraph API, asked with `direction`.
 *
 * Each service gets its side (down: the root calls it; up: it calls the root) and its
 * distance there. A `both` answer gives only the nearer of the two distances, so the
 * sides are found by walking the answer's own edges from the root, forwards and
 * backwards: the answer holds every edge of both walks between the services it keeps,
 * and after truncation it keeps the closest services, so whatever lies on a shortest
 * path to a kept one is kept too. A service as near on both sides is drawn downstream.
 * The services and edges drawn are exactly the answer's.
 *
 * Returns {root, nodes: Map id -> node (with side, distance, layer), edges: [edge],
 * truncated, maxNodes, unlisted: Map id -> neighbours the cut left out}.
 */
export function graphOfAnswer(answer, direction, maxNodes) {
  const root = answer.service;
  const rootId = root.service_id;
  let down = direction === "downstream" ? answer.nodes : null;
  let up = direction === "upstream" ? answer.nodes : null;
  if (direction === "both") {
    const forward = new Map();
    const backward = new Map();
    for (const { source, target } of answer.edges) {
      if (!forward.has(source)) forward.set(source, []);
      forward.get(source).push(target);
      if (!backward.has(target)) backward.set(target, []);
      backward.get(target).push(source);
    }
    const deepest = Math.max(0, ...answer.nodes.map((node) => node.depth));
    const asNodes = (distance) =>
      [...distance].map(([service_id, depth]) => ({ service_id, depth }));
    down = asNodes(hops(rootId, forward, deepest));
    up = asNodes(hops(rootId, backward, deepest));
  }
  const places = placeBySide(rootId, down, up);
  const nodes = new Map();
  nodes.set(rootId, { ...root, ...places.get(rootId), root: true });
  for (const node of answer.nodes) {
    // The fallback is only for an answer that breaks the contract above.
    const place = places.get(node.service_id) ?? {
      side: "down",
      distance: node.depth,
      layer: node.depth,
    };
    nodes.set(node.service_id, { ...node, ...place, root: false });
  }
  const edges = answer.edges.filter((e) => nodes.has(e.source) && nodes.has(e.target));
  // Where a cut answer was cut: service id -> how many of its neighbours were left out.
  const unlisted = new Map(
    Object.entries(answer.statistics.unlisted_neighbours ?? {}).filter(([id]) => nodes.has(id)),
  );
  return { root, nodes, edges, truncated: Boolean(answer.statistics.truncated), maxNodes, unlisted };
}
