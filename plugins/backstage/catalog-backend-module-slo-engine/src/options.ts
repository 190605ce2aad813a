import { Config } from '@backstage/config';
import { OBSERVED_SOURCES } from '@slo-engine/backstage-plugin-common';

export { OBSERVED_SOURCES };

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
  /** Bound on one whole read of the graph (every page), so processing never waits longer. */
  readDeadlineMs: number;
  /** Bound on the bytes of one page's answer. */
  maxPageBytes: number;
  pageSize: number;
  maxPages: number;
  maxDependenciesPerEntity: number;
  /** How long an annotation or a namespace seen on a processed entity is remembered. */
  entityMemoryMs: number;
};

/** A number of app-config within bounds (seconds, or a count). */
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
    sources: catalog?.getOptionalStringArray('sources') ?? [...OBSERVED_SOURCES],
    refreshIntervalMs: seconds(catalog, 'refreshIntervalSeconds', 300, 1, 86400) * 1000,
    retryIntervalMs: seconds(catalog, 'retryIntervalSeconds', 60, 0, 86400) * 1000,
    maxStalenessMs: seconds(catalog, 'maxStalenessSeconds', 3600, 0, 7 * 86400) * 1000,
    timeoutMs: seconds(catalog, 'timeoutSeconds', 10, 0.1, 300) * 1000,
    readDeadlineMs: seconds(catalog, 'readDeadlineSeconds', 60, 0.1, 3600) * 1000,
    maxPageBytes: Math.floor(seconds(catalog, 'maxPageMegabytes', 64, 0.001, 1024) * 1024 * 1024),
    pageSize: seconds(catalog, 'pageSize', 1000, 1, 2000),
    maxPages: seconds(catalog, 'maxPages', 100, 1, 10000),
    maxDependenciesPerEntity: seconds(catalog, 'maxDependenciesPerEntity', 200, 1, 10000),
    entityMemoryMs: seconds(catalog, 'entityMemorySeconds', 3600, 1, 30 * 86400) * 1000,
  };
}
