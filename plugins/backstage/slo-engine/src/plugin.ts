import {
  createApiFactory,
  createComponentExtension,
  createPlugin,
  createRoutableExtension,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/core-plugin-api';
import { sloEngineApiRef } from './api/SloEngineApi';
import { SloEngineClient } from './api/SloEngineClient';
import { rootRouteRef } from './routes';

/** @public */
export const sloEnginePlugin = createPlugin({
  id: 'slo-engine',
  apis: [
    createApiFactory({
      api: sloEngineApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) => new SloEngineClient({ discoveryApi, fetchApi }),
    }),
  ],
  routes: { root: rootRouteRef },
});

/**
 * The card for an entity's overview: its dependencies and dependents from slo-engine.
 * @public
 */
export const EntitySloEngineDependenciesCard = sloEnginePlugin.provide(
  createComponentExtension({
    name: 'EntitySloEngineDependenciesCard',
    component: {
      lazy: () =>
        import('./components/SloEngineDependenciesCard').then(m => m.SloEngineDependenciesCard),
    },
  }),
);

/**
 * The entity page tab: dependencies and dependents, blast radius, availability ceiling.
 * @public
 */
export const EntitySloEngineContent = sloEnginePlugin.provide(
  createRoutableExtension({
    name: 'EntitySloEngineContent',
    component: () => import('./components/SloEngineContent').then(m => m.SloEngineContent),
    mountPoint: rootRouteRef,
  }),
);
