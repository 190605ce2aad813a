import { OBSERVED_SOURCES } from '@slo-engine/backstage-plugin-common';
import { CycleAlert, Direction, Subgraph, SubgraphEdge, SubgraphNode } from '../api/types';

/** slo-engine's discovery sources that report what traffic showed, not what people declared. */
const OBSERVED: ReadonlySet<string> = new Set(OBSERVED_SOURCES);

export type Row = SubgraphNode & {
  /** The edges that put this service on this side of the root. */
  edges: SubgraphEdge[];
  /** Every edge to it is stale (seen only with include_stale). */
  stale: boolean;
  /** Some edge to it was seen in traffic. */
  observed: boolean;
  /**
   * It lies on a circular dependency with a service of this answer: one slo-engine has
   * an open or an acknowledged alert for (acknowledging a cycle does not remove it from
   * the graph; only a resolved alert is left out).
   */
  inCycle: boolean;
};

export type Sides = {
  dependencies: Row[];
  dependents: Row[];
  /** Cycles (open or acknowledged) through the root service. */
  rootCycles: CycleAlert[];
  /** Edges on a cycle, as `source→target`. */
  cycleEdges: ReadonlySet<string>;
};

function reach(root: string, edges: SubgraphEdge[], forward: boolean): Set<string> {
  const next = new Map<string, string[]>();
  for (const edge of edges) {
    const [from, to] = forward ? [edge.source, edge.target] : [edge.target, edge.source];
    const list = next.get(from) ?? [];
    list.push(to);
    next.set(from, list);
  }
  const seen = new Set<string>();
  const queue = [root];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const to of next.get(at) ?? []) {
      if (to !== root && !seen.has(to)) {
        seen.add(to);
        queue.push(to);
      }
    }
  }
  return seen;
}

/**
 * Splits a subgraph answer into the root's dependencies (reached following calls) and
 * dependents (reached against them), each service with the edges that reach it, and
 * flags what lies on a cycle slo-engine reported.
 */
export function sidesOf(answer: Subgraph, direction: Direction, cycles: CycleAlert[]): Sides {
  const root = answer.service.service_id;
  const inCycle = new Map<string, CycleAlert[]>();
  for (const cycle of cycles) {
    for (const member of cycle.members) {
      inCycle.set(member, [...(inCycle.get(member) ?? []), cycle]);
    }
  }
  const cycleEdges = new Set<string>();
  for (const edge of answer.edges) {
    const shared = (inCycle.get(edge.source) ?? []).some(c => c.members.includes(edge.target));
    if (shared) cycleEdges.add(`${edge.source}→${edge.target}`);
  }
  const side = (forward: boolean): Row[] => {
    const reached = reach(root, answer.edges, forward);
    return answer.nodes
      .filter(node => reached.has(node.service_id))
      .map(node => {
        const edges = answer.edges.filter(edge =>
          forward ? edge.target === node.service_id : edge.source === node.service_id,
        );
        return {
          ...node,
          edges,
          stale: edges.length > 0 && edges.every(edge => edge.is_stale),
          observed: edges.some(edge => edge.discovery_sources.some(s => OBSERVED.has(s))),
          inCycle: edges.some(edge => cycleEdges.has(`${edge.source}→${edge.target}`)),
        };
      })
      .sort((a, b) => a.depth - b.depth || a.service_id.localeCompare(b.service_id));
  };
  return {
    dependencies: direction === 'upstream' ? [] : side(true),
    dependents: direction === 'downstream' ? [] : side(false),
    rootCycles: inCycle.get(root) ?? [],
    cycleEdges,
  };
}
