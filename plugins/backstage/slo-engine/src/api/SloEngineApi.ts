import { createApiRef } from '@backstage/core-plugin-api';
import {
  AvailabilityAnswer,
  CycleAlert,
  DependenciesQuery,
  ImpactAnswer,
  Subgraph,
} from './types';

/**
 * What the plugin asks slo-engine, one method per answer it shows.
 * @public
 */
export interface SloEngineApi {
  getDependencies(serviceId: string, query: DependenciesQuery): Promise<Subgraph>;
  getImpact(serviceId: string, options: { depth: number; includeStale: boolean }): Promise<ImpactAnswer>;
  getAvailability(serviceId: string, options: { includeStale: boolean }): Promise<AvailabilityAnswer>;
  /** Open (and acknowledged) circular-dependency alerts: cycles still in the graph. */
  getCycles(): Promise<CycleAlert[]>;
}

/** @public */
export const sloEngineApiRef = createApiRef<SloEngineApi>({
  id: 'plugin.slo-engine.service',
});
