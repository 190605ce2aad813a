/**
 * Shared by the slo-engine Backstage plugins: which catalog entity is which slo-engine
 * service (docs/backstage.md, "Which entity is which service").
 *
 * @packageDocumentation
 */
export {
  OBSERVED_SOURCES,
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  entityKindOfNode,
  entityRefOfService,
  serviceIdOfEntity,
} from './entityMapping';
export type { NodeKind, ServiceEntityHints } from './entityMapping';
