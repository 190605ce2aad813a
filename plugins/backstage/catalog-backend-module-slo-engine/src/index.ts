/**
 * Catalog backend module for slo-engine: observed dependencies as relations.
 *
 * @packageDocumentation
 */
export { catalogModuleSloEngine as default } from './module';
export {
  SloEngineDependencyProcessor,
  SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION,
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  serviceIdOfEntity,
} from './SloEngineDependencyProcessor';
export { entityKindOfNode, entityRefOfService } from '@slo-engine/backstage-plugin-common';
export { ObservedGraph } from './ObservedGraph';
export { ServiceEntityIndex } from './ServiceEntityIndex';
export type { GraphSnapshot } from './ObservedGraph';
export { readSloEngineCatalogOptions, OBSERVED_SOURCES } from './options';
export type { SloEngineCatalogOptions } from './options';
