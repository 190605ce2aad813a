/**
 * slo-engine for Backstage: a component's dependencies and dependents, circular
 * dependencies, blast radius and availability ceiling, read through Backstage's proxy.
 *
 * @packageDocumentation
 */
export { sloEnginePlugin, EntitySloEngineDependenciesCard, EntitySloEngineContent } from './plugin';
export { sloEngineApiRef } from './api/SloEngineApi';
export type { SloEngineApi } from './api/SloEngineApi';
export { SloEngineClient, DEFAULT_PROXY_PATH } from './api/SloEngineClient';
export type * from './api/types';
export type { SloEngineDependenciesCardProps } from './components/SloEngineDependenciesCard';
export {
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  entityKindOfNode,
  entityRefOfService,
  serviceIdOfEntity,
} from './entityMapping';
export type { ServiceEntityHints } from './entityMapping';
export { isSloEngineAvailable } from './conditions';
