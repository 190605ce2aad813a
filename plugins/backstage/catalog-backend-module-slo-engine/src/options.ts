import { Config } from '@backstage/config';

/** The observed sources of slo-engine: what traffic showed, not what people declared. */
export const OBSERVED_SOURCES = ['otel_service_graph', 'service_mesh', 'jaeger'];

/** @public */
export type SloEngineCatalogOptions = {
  baseUrl: string;
  token?: string;
  enabled: boolean;
  kinds: string[];
  sources: string[];
  refreshIntervalMs: number;
  retryIntervalMs: number;
  maxStalenessMs: number;
  timeoutMs: number;
  pageSize: number;
  maxPages: number;
  maxDependenciesPerEntity: number;
};

function seconds(config: Config | undefined, key: string, fallback: number, min: number, max: number): number {
  const value = config?.getOptionalNumber(key) ?? fallback;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`sloEngine.catalog.${key} must be between ${min} and ${max}, not ${value}`);
  }
  return value;
}

/** Reads `sloEngine` from app-config, with the defaults config.d.ts names. */
export function readSloEngineCatalogOptions(
  config: Config,
  env: Record<string, string | undefined> = process.env,
): SloEngineCatalogOptions | undefined {
  const root = config.getOptionalConfig('sloEngine');
  if (!root) return undefined;
  const baseUrl = root.getString('baseUrl').replace(/\/+$/, '');
  const catalog = root.getOptionalConfig('catalog');
  return {
    baseUrl,
    token: root.getOptionalString('token') || env.SLO_ENGINE_TOKEN || undefined,
    enabled: catalog?.getOptionalBoolean('enabled') ?? true,
    kinds: (catalog?.getOptionalStringArray('kinds') ?? ['Component']).map(k => k.toLocaleLowerCase('en-US')),
    sources: catalog?.getOptionalStringArray('sources') ?? OBSERVED_SOURCES,
    refreshIntervalMs: seconds(catalog, 'refreshIntervalSeconds', 300, 1, 86400) * 1000,
    retryIntervalMs: seconds(catalog, 'retryIntervalSeconds', 60, 0, 86400) * 1000,
    maxStalenessMs: seconds(catalog, 'maxStalenessSeconds', 3600, 0, 7 * 86400) * 1000,
    timeoutMs: seconds(catalog, 'timeoutSeconds', 10, 0.1, 300) * 1000,
    pageSize: seconds(catalog, 'pageSize', 1000, 1, 2000),
    maxPages: seconds(catalog, 'maxPages', 100, 1, 10000),
    maxDependenciesPerEntity: seconds(catalog, 'maxDependenciesPerEntity', 200, 1, 10000),
  };
}
