import { CompoundEntityRef, Entity } from '@backstage/catalog-model';

/**
 * Names the slo-engine service an entity is, when it is not the entity's own name.
 * @public
 */
export const SLO_ENGINE_SERVICE_ID_ANNOTATION = 'slo-engine.io/service-id';

/**
 * slo-engine's discovery sources that report what traffic showed, not what people
 * declared.
 * @public
 */
export const OBSERVED_SOURCES: readonly string[] = Object.freeze([
  'otel_service_graph',
  'service_mesh',
  'jaeger',
]);

/**
 * What a node of slo-engine's graph is (`kind` in its answers).
 * @public
 */
export type NodeKind = 'service' | 'database' | 'messaging' | 'external' | 'virtual';

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
 * The Backstage kind a node of slo-engine's graph is written as when no entity names
 * it: databases and message brokers or topics are Resources (slo-engine's Backstage
 * discovery reads Resources of those types as them); services, external and virtual
 * nodes are Components.
 * @public
 */
export function entityKindOfNode(kind: string | null | undefined): 'component' | 'resource' {
  return kind === 'database' || kind === 'messaging' ? 'resource' : 'component';
}

/**
 * What is known about a service id besides the id itself.
 * @public
 */
export type ServiceEntityHints = {
  /** Entities that name a service id in their `slo-engine.io/service-id` annotation. */
  annotated?: ReadonlyMap<string, CompoundEntityRef>;
  /** The node's kind in slo-engine's graph (`kind` in its answers). */
  kind?: string | null;
  /**
   * The catalog's namespaces (other than `default`), lower case: a service id
   * `ns.name` is the entity `name` in namespace `ns` only when `ns` is one of them.
   */
  namespaces?: { has(namespace: string): boolean };
};

/**
 * The catalog entity an slo-engine service id stands for (docs/backstage.md, "Which
 * entity is which service"):
 *
 * 1. the entity that names it in its `slo-engine.io/service-id` annotation;
 * 2. otherwise kind `resource` for a database or messaging node, `component` for the
 *    rest; namespace `ns` and name `rest` when the id is `ns.rest` and `ns` is a known
 *    namespace of the catalog, else namespace `default` and the whole id as the name
 *    (Backstage names may hold dots, namespaces may not: `api.v2` is the entity
 *    `api.v2` in `default` unless the catalog has a namespace `api`).
 * @public
 */
export function entityRefOfService(serviceId: string, hints: ServiceEntityHints = {}): CompoundEntityRef {
  const annotated = hints.annotated?.get(serviceId);
  if (annotated) return annotated;
  const kind = entityKindOfNode(hints.kind);
  const dot = serviceId.indexOf('.');
  if (dot > 0 && dot < serviceId.length - 1) {
    const namespace = serviceId.slice(0, dot);
    if (namespace !== 'default' && hints.namespaces?.has(namespace)) {
      return { kind, namespace, name: serviceId.slice(dot + 1) };
    }
  }
  return { kind, namespace: 'default', name: serviceId };
}
