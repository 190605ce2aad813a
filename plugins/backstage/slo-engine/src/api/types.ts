/**
 * The parts of slo-engine's HTTP API (v1) the plugin reads. The server's OpenAPI
 * document (`/openapi.json`) is the contract; these types name only the fields used.
 */

/** @public */
export type Direction = 'downstream' | 'upstream' | 'both';

/** @public */
export type ServiceSummary = {
  service_id: string;
  display_name: string | null;
  team: string | null;
  criticality: string | null;
  discovered: boolean;
  /** What the node is: service, database, messaging, external or virtual. */
  kind?: string;
};

/** @public */
export type Service = ServiceSummary & {
  metadata: Record<string, unknown>;
};

/** @public */
export type SubgraphNode = ServiceSummary & { depth: number };

/** @public */
export type SubgraphEdge = {
  source: string;
  target: string;
  attributes: {
    communication_mode?: string | null;
    criticality?: string | null;
    protocol?: string | null;
    request_rate?: number | null;
    error_rate?: number | null;
  };
  confidence_score: number;
  discovery_sources: string[];
  last_observed_at: string;
  is_stale: boolean;
};

/** @public */
export type Subgraph = {
  service: Service;
  nodes: SubgraphNode[];
  edges: SubgraphEdge[];
  statistics: {
    total_nodes: number;
    total_edges: number;
    max_depth_reached: number;
    truncated: boolean;
    /** When truncated: service id -> how many of its neighbours the cut left out. */
    unlisted_neighbours?: Record<string, number>;
  };
};

/** @public */
export type DependenciesQuery = {
  direction: Direction;
  depth: number;
  includeStale: boolean;
  maxNodes?: number;
};

/** @public */
export type CycleAlert = {
  alert_id: string;
  members: string[];
  cycle_path: string[];
  status: 'open' | 'acknowledged' | 'resolved';
};

/** @public */
export type ImpactAnswer = {
  service: Service;
  depth: number;
  affected: Array<
    ServiceSummary & {
      impact: 'down' | 'degraded';
      distance: number;
      path: string[];
    }
  >;
  truncated: boolean;
  totals: {
    affected: number;
    down: number;
    degraded: number;
    by_team: Array<{ team: string | null; down: number; degraded: number }>;
  };
};

/** @public */
export type AvailabilityAnswer = {
  service: Service;
  ceiling: number;
  nines: number;
  dependencies: number;
  default_slo_target: number;
  arithmetic: string;
  limiting: Array<{
    unit: number;
    members: string[];
    factor: number;
    cost: number;
    ceiling_without: number;
  }>;
  truncated: boolean;
  notes: string[];
};
