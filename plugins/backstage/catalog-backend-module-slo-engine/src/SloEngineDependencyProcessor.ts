import { LoggerService } from '@backstage/backend-plugin-api';
import {
  CompoundEntityRef,
  Entity,
  RELATION_DEPENDENCY_OF,
  RELATION_DEPENDS_ON,
  getCompoundEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import {
  CatalogProcessor,
  CatalogProcessorEmit,
  LocationSpec,
  processingResult,
} from '@backstage/plugin-catalog-node';
import { ObservedGraph } from './ObservedGraph';
import { SloEngineCatalogOptions } from './options';

/** Names the slo-engine service an entity is, when it is not the entity's own name. */
export const SLO_ENGINE_SERVICE_ID_ANNOTATION = 'slo-engine.io/service-id';
/**
 * Set by this processor: the refs of the entities this one depends on according to
 * slo-engine's observed edges (comma-separated, sorted). Every `dependsOn` relation
 * whose target is listed here was added from slo-engine; the rest were declared.
 */
export const SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION = 'slo-engine.io/observed-depends-on';

/**
 * The slo-engine service id of an entity: the annotation, or the name as slo-engine's
 * own Backstage discovery names it (`name` in `default`, `namespace.name` elsewhere,
 * lower case).
 */
export function serviceIdOfEntity(entity: Entity): string {
  const annotated = entity.metadata.annotations?.[SLO_ENGINE_SERVICE_ID_ANNOTATION]?.trim();
  if (annotated) return annotated;
  const namespace = (entity.metadata.namespace ?? 'default').toLocaleLowerCase('en-US');
  const name = entity.metadata.name.toLocaleLowerCase('en-US');
  return namespace === 'default' ? name : `${namespace}.${name}`;
}

/**
 * Adds what slo-engine observed (edges from its traffic sources, not stale) to the
 * catalog: for a Component whose service calls another, the relations Backstage itself
 * makes for `spec.dependsOn` (`dependsOn` from the caller, `dependencyOf` back), plus
 * the `slo-engine.io/observed-depends-on` annotation naming the targets that came from
 * slo-engine. Fails soft: when slo-engine cannot be read, entities are processed as if
 * this processor were absent (or with the last good graph, see ObservedGraph).
 */
export class SloEngineDependencyProcessor implements CatalogProcessor {
  private readonly graph: ObservedGraph;
  /** Service ids named by the annotation on entities processed so far, to their refs. */
  private readonly annotated = new Map<string, CompoundEntityRef>();

  constructor(
    private readonly options: SloEngineCatalogOptions,
    private readonly logger: LoggerService,
    graph?: ObservedGraph,
  ) {
    this.graph = graph ?? new ObservedGraph(options, logger);
  }

  getProcessorName(): string {
    return 'SloEngineDependencyProcessor';
  }

  /** The catalog entity a service id stands for (see docs/backstage.md, mapping). */
  entityRefOfService(serviceId: string): CompoundEntityRef {
    return this.annotated.get(serviceId) ?? { kind: 'component', namespace: 'default', name: serviceId };
  }

  async preProcessEntity(
    entity: Entity,
    _location: LocationSpec,
    emit: CatalogProcessorEmit,
  ): Promise<Entity> {
    if (!this.options.enabled) return entity;
    // Kinds compare case-insensitively; written in lower case as refs to targets are.
    const named = getCompoundEntityRef(entity);
    const self = { ...named, kind: named.kind.toLocaleLowerCase('en-US') };
    const serviceId = serviceIdOfEntity(entity);
    // Any kind may be the target of a relation (a Resource such as a database).
    if (entity.metadata.annotations?.[SLO_ENGINE_SERVICE_ID_ANNOTATION]) {
      this.annotated.set(serviceId, self);
    }
    if (!this.options.kinds.includes(self.kind)) return entity;
    let callees: readonly string[] = [];
    try {
      const snapshot = await this.graph.current();
      callees = snapshot?.callees.get(serviceId) ?? [];
    } catch (error) {
      // ObservedGraph logs its own failures; this is the last guard for the catalog.
      this.logger.warn(`slo-engine relations skipped for ${stringifyEntityRef(self)}: ${error}`);
      return entity;
    }
    const targets = new Map<string, CompoundEntityRef>();
    for (const callee of callees) {
      if (callee === serviceId) continue;
      const target = this.entityRefOfService(callee);
      targets.set(stringifyEntityRef(target), target);
      if (targets.size >= this.options.maxDependenciesPerEntity) break;
    }
    if (targets.size === 0) return entity;
    for (const target of targets.values()) {
      emit(processingResult.relation({ source: self, type: RELATION_DEPENDS_ON, target }));
      emit(processingResult.relation({ source: target, type: RELATION_DEPENDENCY_OF, target: self }));
    }
    return {
      ...entity,
      metadata: {
        ...entity.metadata,
        annotations: {
          ...entity.metadata.annotations,
          [SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION]: [...targets.keys()].sort().join(','),
        },
      },
    };
  }
}
