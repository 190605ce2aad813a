import { CompoundEntityRef, Entity } from '@backstage/catalog-model';

/**
 * Names the slo-engine service an entity is, when it is not the entity's own name.
 * @public
 */
export const SLO_ENGINE_SERVICE_ID_ANNOTATION = 'slo-engine.io/service-id';

/**
 * The slo-engine service id of a catalog entity: the `slo-engine.io/service-id`
 * annotation when it is set, otherwise the name as slo-engine's own Backstage discovery
 * names it: `metadata.name` in the `default` namespace, `namespace.name` in any other,
 * lower case (Backstage compares names case-insensitively).
 * @public
 */
export function serviceIdOfEntity(entity: Entity): string {
  const annotated = entity.metadata.annotations?.[SLO_ENGINE_SERVICE_ID_ANNOTATION]?.trim();
  if (annotated) return annotated;
  const namespace = (entity.metadata.namespace ?? 'default').toLocaleLowerCase('en-US');
  const name = entity.metadata.name.toLocaleLowerCase('en-US');
  return namespace === 'default' ? name : `${namespace}.${name}`;
}

/**
 * The catalog entity an slo-engine service id stands for: an entity that names it in
 * its `slo-engine.io/service-id` annotation (`annotated`, looked up in the catalog),
 * otherwise `component:default/<service id>`.
 * @public
 */
export function entityRefOfService(
  serviceId: string,
  annotated?: ReadonlyMap<string, CompoundEntityRef>,
): CompoundEntityRef {
  return annotated?.get(serviceId) ?? { kind: 'component', namespace: 'default', name: serviceId };
}
