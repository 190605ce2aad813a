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
import {
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  entityRefOfService,
  serviceIdOfEntity,
} from '@slo-engine/backstage-plugin-common';
import { GraphSnapshot, ObservedGraph } from './ObservedGraph';
import { SloEngineCatalogOptions } from './options';
import { ServiceEntityIndex } from './ServiceEntityIndex';

export { SLO_ENGINE_SERVICE_ID_ANNOTATION, serviceIdOfEntity };

/**
 * Set by this processor: the refs of the entities this one depends on according to
 * slo-engine's observed edges (comma-separated, sorted). Every `dependsOn` relation
 * whose target is listed here was added from slo-engine; the rest were declared.
 */
export const SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION = 'slo-engine.io/observed-depends-on';

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
  /** Annotations and namespaces seen on the entities this replica processed lately. */
  private readonly index: ServiceEntityIndex;

  constructor(
    private readonly options: SloEngineCatalogOptions,
    private readonly logger: LoggerService,
    graph?: ObservedGraph,
    now: () => number = Date.now,
  ) {
    this.graph = graph ?? new ObservedGraph(options, logger, now);
    this.index = new ServiceEntityIndex(options.entityMemoryMs, now);
  }

  getProcessorName(): string {
    return 'SloEngineDependencyProcessor';
  }

  /**
   * The catalog entity a service id stands for (docs/backstage.md, "Which entity is
   * which service"): an entity seen naming it in its annotation; otherwise a Resource
   * for a database or messaging node of the graph, a Component for the rest, in
   * namespace `ns` when the id is `ns.name` and an entity in `ns` was seen, else in
   * `default` under the whole id.
   */
  entityRefOfService(serviceId: string, snapshot?: GraphSnapshot): CompoundEntityRef {
    const annotated = this.index.annotated(serviceId);
    return entityRefOfService(serviceId, {
      annotated: annotated ? new Map([[serviceId, annotated]]) : undefined,
      kind: snapshot?.kinds.get(serviceId),
      namespaces: { has: namespace => this.index.hasNamespace(namespace) },
    });
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
    const annotation = entity.metadata.annotations?.[SLO_ENGINE_SERVICE_ID_ANNOTATION]?.trim();
    this.index.saw(self, annotation || undefined);
    if (!this.options.kinds.includes(self.kind)) return entity;
    let callees: readonly string[] = [];
    let snapshot: GraphSnapshot | undefined;
    try {
      snapshot = await this.graph.current();
      callees = snapshot?.callees.get(serviceId) ?? [];
    } catch (error) {
      // ObservedGraph logs its own failures; this is the last guard for the catalog.
      this.logger.warn(`slo-engine relations skipped for ${stringifyEntityRef(self)}: ${error}`);
      return entity;
    }
    const targets = new Map<string, CompoundEntityRef>();
    for (const callee of callees) {
      if (callee === serviceId) continue;
      const target = this.entityRefOfService(callee, snapshot);
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
