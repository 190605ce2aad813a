import { CompoundEntityRef, getCompoundEntityRef } from '@backstage/catalog-model';
import { useApiHolder } from '@backstage/core-plugin-api';
import { catalogApiRef } from '@backstage/plugin-catalog-react';
import { SLO_ENGINE_SERVICE_ID_ANNOTATION } from '../entityMapping';
import { useAsyncValue } from './useAsyncValue';

const EMPTY: ReadonlyMap<string, CompoundEntityRef> = new Map();

/**
 * The entities that name one of `serviceIds` in their `slo-engine.io/service-id`
 * annotation, by service id: one catalog query. Without a catalog API, or when the
 * query fails, nothing is overridden and links fall back to `component:default/<id>`.
 */
export function useServiceEntityRefs(serviceIds: string[]): ReadonlyMap<string, CompoundEntityRef> {
  const catalogApi = useApiHolder().get(catalogApiRef);
  const key = [...serviceIds].sort().join('\n');
  const state = useAsyncValue(async () => {
    if (!catalogApi || serviceIds.length === 0) return EMPTY;
    const field = `metadata.annotations.${SLO_ENGINE_SERVICE_ID_ANNOTATION}`;
    try {
      const { items } = await catalogApi.getEntities({
        filter: { [field]: serviceIds },
        fields: ['kind', 'metadata.name', 'metadata.namespace', 'metadata.annotations'],
      });
      const refs = new Map<string, CompoundEntityRef>();
      for (const entity of items) {
        const id = entity.metadata.annotations?.[SLO_ENGINE_SERVICE_ID_ANNOTATION];
        if (id && serviceIds.includes(id) && !refs.has(id)) refs.set(id, getCompoundEntityRef(entity));
      }
      return refs;
    } catch {
      return EMPTY;
    }
  }, [catalogApi, key]);
  return state.value ?? EMPTY;
}
