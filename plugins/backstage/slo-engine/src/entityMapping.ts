// The mapping between catalog entities and slo-engine service ids is shared with the
// catalog backend module: @slo-engine/backstage-plugin-common (docs/backstage.md).
export {
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  entityKindOfNode,
  entityRefOfService,
  serviceIdOfEntity,
} from '@slo-engine/backstage-plugin-common';
export type { ServiceEntityHints } from '@slo-engine/backstage-plugin-common';
