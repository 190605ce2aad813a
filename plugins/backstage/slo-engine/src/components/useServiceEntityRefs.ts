import { CompoundEntityRef, getCompoundEntityRef } from '@backstage/catalog-model';
import { useApiHolder } from '@backstage/core-plugin-api';
import { CatalogApi, catalogApiRef } from '@backstage/plugin-catalog-react';
import { SLO_ENGINE_SERVICE_ID_ANNOTATION } from '../entityMapping';
import { useAsyncValue } from './useAsyncValue';

/** What the catalog says about the services of an answer, beyond their ids. */
export type ServiceEntityLookup = {
  /** Entities that name a service id in the `slo-engine.io/service-id` annotation. */
  annotated: ReadonlyMap<string, CompoundEntityRef>;
  /** The catalog's namespaces, lower case (asked only when an id has a dot). */
  namespaces: ReadonlySet<string>;
};

export const EMPTY_LOOKUP: ServiceEntityLookup = { annotated: new Map(), namespaces: new Set() };

/** Service ids per catalog query: 50 ids keep the query string far below URL limits. */
export const IDS_PER_QUERY = 50;
/** Catalog queries in flight at once for one answer. */
export const QUERIES_AT_ONCE = 2;

type CatalogReader = Pick<CatalogApi, 'getEntities'> & Partial<Pick<CatalogApi, 'getEntityFacets'>>;

/**
 * The entities naming one of `serviceIds` in their `slo-engine.io/service-id`
 * annotation, by service id. The ids go in chunks of `idsPerQuery` (an answer may have
 * hundreds; one query with all of them would overflow the URL), at most `atOnce`
 * queries in flight. A chunk whose query fails is left out: its services fall back to
 * the default mapping, the others keep theirs. Where two entities name the same id, the
 * one with the smaller entity ref wins (whatever order the catalog answers in).
 */
export async function findAnnotatedEntities(
  catalogApi: CatalogReader,
  serviceIds: readonly string[],
  idsPerQuery: number = IDS_PER_QUERY,
  atOnce: number = QUERIES_AT_ONCE,
): Promise<Map<string, CompoundEntityRef>> {
  const ids = [...new Set(serviceIds)].sort();
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += idsPerQuery) chunks.push(ids.slice(i, i + idsPerQuery));
  const field = `metadata.annotations.${SLO_ENGINE_SERVICE_ID_ANNOTATION}`;
  const found = new Map<string, { ref: CompoundEntityRef; key: string }>();
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      const wanted = new Set(chunk);
      try {
        const { items } = await catalogApi.getEntities({
          filter: { [field]: chunk },
          fields: ['kind', 'metadata.name', 'metadata.namespace', 'metadata.annotations'],
        });
        for (const entity of items) {
          const id = entity.metadata.annotations?.[SLO_ENGINE_SERVICE_ID_ANNOTATION]?.trim();
          if (!id || !wanted.has(id)) continue;
          const named = getCompoundEntityRef(entity);
          const ref = {
            kind: named.kind.toLocaleLowerCase('en-US'),
            namespace: named.namespace.toLocaleLowerCase('en-US'),
            name: named.name,
          };
          const key = `${ref.kind}:${ref.namespace}/${ref.name.toLocaleLowerCase('en-US')}`;
          const known = found.get(id);
          if (!known || key < known.key) found.set(id, { ref, key });
        }
      } catch {
        // This chunk's services keep the default mapping.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, chunks.length) }, worker));
  return new Map([...found].map(([id, { ref }]) => [id, ref]));
}

/** The catalog's namespaces, lower case; none when the catalog cannot say. */
export async function findNamespaces(catalogApi: CatalogReader): Promise<Set<string>> {
  if (!catalogApi.getEntityFacets) return new Set();
  try {
    const { facets } = await catalogApi.getEntityFacets({ facets: ['metadata.namespace'] });
    return new Set((facets['metadata.namespace'] ?? []).map(f => f.value.toLocaleLowerCase('en-US')));
  } catch {
    return new Set();
  }
}

/**
 * What the catalog says about `serviceIds` (see `findAnnotatedEntities`), and its
 * namespaces when an id could name one (`ns.name`). Without a catalog API, or where its
 * queries fail, links fall back to the default mapping (docs/backstage.md).
 */
export function useServiceEntityRefs(serviceIds: string[]): ServiceEntityLookup {
  const catalogApi = useApiHolder().get(catalogApiRef);
  const key = [...serviceIds].sort().join('\n');
  const state = useAsyncValue(async () => {
    if (!catalogApi || serviceIds.length === 0) return EMPTY_LOOKUP;
    const [annotated, namespaces] = await Promise.all([
      findAnnotatedEntities(catalogApi, serviceIds),
      serviceIds.some(id => id.includes('.')) ? findNamespaces(catalogApi) : Promise.resolve(new Set<string>()),
    ]);
    return { annotated, namespaces };
  }, [catalogApi, key]);
  return state.value ?? EMPTY_LOOKUP;
}
