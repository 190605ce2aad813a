import { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import { SloEngineApi } from './SloEngineApi';
import {
  AvailabilityAnswer,
  CycleAlert,
  DependenciesQuery,
  ImpactAnswer,
  Subgraph,
} from './types';

/** The proxy path the app-config's `proxy.endpoints` entry must use. @public */
export const DEFAULT_PROXY_PATH = '/slo-engine';

/** How many pages of alerts are read at most (100 alerts each). */
const MAX_ALERT_PAGES = 5;

/**
 * Talks to slo-engine through Backstage's proxy (`<backend>/api/proxy/slo-engine/...`),
 * which holds the API key: the browser never sees it. `fetchApi` adds the user's
 * Backstage token, which the proxy checks.
 * @public
 */
export class SloEngineClient implements SloEngineApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;
  private readonly proxyPath: string;
  private readonly timeoutMs: number;

  constructor(options: {
    discoveryApi: DiscoveryApi;
    fetchApi: FetchApi;
    /** The proxy endpoint's path in app-config (`/slo-engine` unless set). */
    proxyPath?: string;
    /** Bound on each request, in ms (30 s unless set): a card never spins forever. */
    timeoutMs?: number;
  }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
    this.proxyPath = options.proxyPath ?? DEFAULT_PROXY_PATH;
    this.timeoutMs = options.timeoutMs ?? 30000;
  }

  async getDependencies(serviceId: string, query: DependenciesQuery): Promise<Subgraph> {
    const params: Record<string, string> = {
      direction: query.direction,
      depth: String(query.depth),
      include_stale: String(query.includeStale),
    };
    if (query.maxNodes !== undefined) params.max_nodes = String(query.maxNodes);
    return this.get(`/services/${encodeURIComponent(serviceId)}/dependencies`, params);
  }

  async getImpact(
    serviceId: string,
    options: { depth: number; includeStale: boolean },
  ): Promise<ImpactAnswer> {
    return this.get(`/services/${encodeURIComponent(serviceId)}/impact`, {
      depth: String(options.depth),
      include_stale: String(options.includeStale),
      max_affected: '200',
    });
  }

  async getAvailability(
    serviceId: string,
    options: { includeStale: boolean },
  ): Promise<AvailabilityAnswer> {
    return this.get(`/services/${encodeURIComponent(serviceId)}/availability`, {
      include_stale: String(options.includeStale),
      max_terms: '200',
    });
  }

  async getCycles(): Promise<CycleAlert[]> {
    const alerts: CycleAlert[] = [];
    for (const status of ['open', 'acknowledged']) {
      let cursor: string | null = null;
      for (let page = 0; page < MAX_ALERT_PAGES; page += 1) {
        const params: Record<string, string> = { status, limit: '100' };
        if (cursor) params.cursor = cursor;
        const answer: { items: CycleAlert[]; next_cursor: string | null } = await this.get(
          '/circular-dependencies',
          params,
        );
        alerts.push(...answer.items);
        cursor = answer.next_cursor;
        if (!cursor) break;
      }
    }
    return alerts;
  }

  private async get<T>(path: string, params: Record<string, string>): Promise<T> {
    const base = `${await this.discoveryApi.getBaseUrl('proxy')}${this.proxyPath}`;
    const url = `${base}${path}?${new URLSearchParams(params).toString()}`;
    const response = await this.fetchApi.fetch(url, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) {
      throw await ResponseError.fromResponse(response);
    }
    return (await response.json()) as T;
  }
}
