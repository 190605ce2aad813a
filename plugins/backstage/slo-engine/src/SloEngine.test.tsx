import type { CatalogApi } from '@backstage/catalog-client';
import { Entity } from '@backstage/catalog-model';
import { catalogApiRef, EntityProvider, entityRouteRef } from '@backstage/plugin-catalog-react';
import { MockFetchApi, renderInTestApp, TestApiProvider } from '@backstage/test-utils';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { ReactElement } from 'react';
import { Route, Routes } from 'react-router-dom';
import { askSloEngine, realSloEngine } from '../../jest/sloEngine';
import { SloEngineClient } from './api/SloEngineClient';
import { sloEngineApiRef } from './api/SloEngineApi';
import { AvailabilityAnswer, ImpactAnswer } from './api/types';
import { percent } from './components/SloEngineAvailabilityPanel';
import { findAnnotatedEntities, IDS_PER_QUERY } from './components/useServiceEntityRefs';
import {
  EntitySloEngineContent,
  EntitySloEngineDependenciesCard,
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  entityRefOfService,
  serviceIdOfEntity,
} from './index';

const BACKEND = 'http://backstage.test:7007/api';
const PROXY_PREFIX = `${BACKEND}/proxy/slo-engine/`;

/**
 * Backstage's proxy, as app-config's `proxy.endpoints['/slo-engine']` (docs/backstage.md)
 * makes it: `<backend>/api/proxy/slo-engine/<path>` is forwarded to
 * `<slo-engine>/api/v1/<path>` with the API key added. Here the forwarding is the real
 * request to the real server; what the plugin asked for is kept.
 */
function backstageProxy(token: string | null) {
  const asked: string[] = [];
  const fetchApi = new MockFetchApi({
    baseImplementation: (async (input: any, init?: RequestInit) => {
      const url = String(input instanceof Request ? input.url : input);
      asked.push(url);
      if (!url.startsWith(PROXY_PREFIX)) {
        return new Response('not proxied', { status: 404 });
      }
      const target = `${realSloEngine().url}/api/v1/${url.slice(PROXY_PREFIX.length)}`;
      const headers = new Headers(init?.headers);
      if (token) headers.set('Authorization', `Bearer ${token}`);
      return fetch(target, { ...init, headers, signal: AbortSignal.timeout(10000) });
    }) as any,
  });
  const discoveryApi = { getBaseUrl: async (pluginId: string) => `${BACKEND}/${pluginId}` };
  return { client: new SloEngineClient({ discoveryApi, fetchApi }), asked };
}

function component(name: string, extra: Partial<Entity['metadata']> = {}): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', ...extra },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-a' },
  };
}

// A catalog where `cartservice` is the entity `component:default/cart` (annotated).
const CART = component('cart', { annotations: { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: 'cartservice' } });

/**
 * The catalog's one query the plugin makes (entities naming services in the annotation),
 * answered from a list: the catalog is Backstage's, not under test here.
 */
function catalogOf(entities: Entity[]): CatalogApi {
  const getEntities = async (request?: { filter?: any }) => {
    const [key, values] = Object.entries(request?.filter ?? {})[0] as [string, string[]];
    const annotation = key.replace('metadata.annotations.', '');
    return {
      items: entities.filter(e => values.includes(e.metadata.annotations?.[annotation] ?? '')),
    };
  };
  return { getEntities } as unknown as CatalogApi;
}

async function render(entity: Entity, element: ReactElement, token: string | null = realSloEngine().token) {
  const proxy = backstageProxy(token);
  await renderInTestApp(
    <TestApiProvider
      apis={[
        [sloEngineApiRef, proxy.client],
        [catalogApiRef, catalogOf([CART, entity])],
      ]}
    >
      <EntityProvider entity={entity}>{element}</EntityProvider>
    </TestApiProvider>,
    { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
  );
  return proxy;
}

function section(name: string) {
  return within(screen.getByRole('region', { name }));
}

function linkOf(serviceId: string): HTMLAnchorElement {
  const link = document.querySelector(`a[data-service-id="${serviceId}"]`);
  if (!link) throw new Error(`no link for ${serviceId}`);
  return link as HTMLAnchorElement;
}

describe('entity mapping', () => {
  it('maps names, namespaces and the annotation to service ids, and ids back', () => {
    expect(serviceIdOfEntity(component('frontend'))).toBe('frontend');
    expect(serviceIdOfEntity(component('Search', { namespace: 'Team-B' }))).toBe('team-b.search');
    expect(serviceIdOfEntity(CART)).toBe('cartservice');
    expect(entityRefOfService('adservice')).toEqual({ kind: 'component', namespace: 'default', name: 'adservice' });
    const refs = new Map([['cartservice', { kind: 'component', namespace: 'default', name: 'cart' }]]);
    expect(entityRefOfService('cartservice', { annotated: refs }).name).toBe('cart');
  });

  it('maps databases and messaging to Resources, and ns.name to a namespace the catalog has', () => {
    const namespaces = new Set(['team-b']);
    expect(entityRefOfService('orders-db', { kind: 'database' })).toEqual({
      kind: 'resource',
      namespace: 'default',
      name: 'orders-db',
    });
    expect(entityRefOfService('orders', { kind: 'messaging' }).kind).toBe('resource');
    expect(entityRefOfService('stripe', { kind: 'external' }).kind).toBe('component');
    expect(entityRefOfService('team-b.search', { namespaces })).toEqual({
      kind: 'component',
      namespace: 'team-b',
      name: 'search',
    });
    // Not a namespace of the catalog: a name with a dot in `default`.
    expect(entityRefOfService('api.v2', { namespaces })).toEqual({
      kind: 'component',
      namespace: 'default',
      name: 'api.v2',
    });
    expect(entityRefOfService('team-b.search', {})).toMatchObject({ namespace: 'default', name: 'team-b.search' });
  });
});

describe('finding annotated entities in the catalog', () => {
  const annotatedAs = (id: string, name = `entity-${id}`): Entity =>
    component(name, { annotations: { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: id } });

  it('asks in chunks of at most 50 ids, two at a time, and merges the answers', async () => {
    const ids = Array.from({ length: 500 }, (_, i) => `service-${String(i).padStart(3, '0')}`);
    const entities = ids.filter((_, i) => i % 7 === 0).map(id => annotatedAs(id));
    const sizes: number[] = [];
    let inFlight = 0;
    let most = 0;
    const catalog = {
      getEntities: async (request?: { filter?: any }) => {
        const [, values] = Object.entries(request?.filter ?? {})[0] as [string, string[]];
        sizes.push(values.length);
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise(resolve => setTimeout(resolve, 5));
        inFlight -= 1;
        const named = (e: Entity) => e.metadata.annotations![SLO_ENGINE_SERVICE_ID_ANNOTATION];
        return { items: entities.filter(e => values.includes(named(e))) };
      },
    };
    const found = await findAnnotatedEntities(catalog, [...ids, ...ids]);
    expect(IDS_PER_QUERY).toBe(50);
    expect(sizes).toEqual(Array(10).fill(50));
    expect(most).toBe(2);
    expect(found.size).toBe(entities.length);
    expect(found.get('service-007')).toEqual({ kind: 'component', namespace: 'default', name: 'entity-service-007' });
  });

  it('keeps what the other chunks found when one query fails, and picks the smallest ref', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `s${String(i).padStart(3, '0')}`);
    let call = 0;
    const catalog = {
      getEntities: async (request?: { filter?: any }) => {
        call += 1;
        const [, values] = Object.entries(request?.filter ?? {})[0] as [string, string[]];
        if (values.includes('s060')) throw new Error('414 URI Too Long');
        // Two entities name s000; the catalog answers the larger ref first.
        return { items: [annotatedAs('s000', 'zeta'), annotatedAs('s000', 'alpha'), annotatedAs('s110')] };
      },
    };
    const found = await findAnnotatedEntities(catalog, ids, 50, 1);
    expect(call).toBe(3);
    expect(found.get('s000')?.name).toBe('alpha');
    expect(found.get('s110')?.name).toBe('entity-s110');
    expect(found.has('s060')).toBe(false);
  });
});

describe('EntitySloEngineDependenciesCard against a real slo-engine', () => {
  it('shows dependencies and dependents through the proxy, flags the cycle, links entities', async () => {
    const { asked } = await render(component('frontend'), <EntitySloEngineDependenciesCard />);
    await screen.findByText('Dependencies (7)', undefined, { timeout: 20000 });

    // What the server says, straight: the card shows the same services on each side.
    const down = await askSloEngine('/services/frontend/dependencies?direction=downstream&depth=1');
    const up = await askSloEngine('/services/frontend/dependencies?direction=upstream&depth=1');
    const dependencies = section('Dependencies');
    for (const node of down.nodes) {
      expect(dependencies.getByTestId(`service-row-${node.service_id}`)).toBeTruthy();
    }
    const dependents = section('Dependents');
    expect(screen.getByText(`Dependents (${up.nodes.length})`)).toBeTruthy();
    expect(dependents.getByTestId('service-row-loadgenerator')).toBeTruthy();

    // The call tracing saw closes a cycle: flagged on the card and on the row.
    expect(screen.getByText('checkoutservice → paymentservice → frontend → checkoutservice')).toBeTruthy();
    const payment = dependents.getByTestId('service-row-paymentservice');
    expect(within(payment).getByText('cycle')).toBeTruthy();
    expect(within(payment).getByText('observed')).toBeTruthy();
    expect(within(payment).getByText('otel_service_graph')).toBeTruthy();
    expect(within(dependents.getByTestId('service-row-loadgenerator')).queryByText('observed')).toBeNull();

    // Nodes link to their entities; cartservice to the entity that names it.
    await waitFor(() => expect(linkOf('cartservice').getAttribute('href')).toBe('/catalog/default/component/cart'));
    expect(linkOf('adservice').getAttribute('href')).toBe('/catalog/default/component/adservice');

    // Everything went through Backstage's proxy path, never to slo-engine directly.
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every(url => url.startsWith(PROXY_PREFIX))).toBe(true);
    expect(asked).toContain(
      `${PROXY_PREFIX}services/frontend/dependencies?direction=both&depth=1&include_stale=false&max_nodes=500`,
    );
  });

  it('follows the direction, depth and include-stale controls', async () => {
    const { asked } = await render(component('frontend'), <EntitySloEngineDependenciesCard />);
    await screen.findByText('Dependencies (7)', undefined, { timeout: 20000 });

    fireEvent.change(screen.getByLabelText('Direction'), { target: { value: 'downstream' } });
    await screen.findByText('Dependencies (7)');
    expect(screen.queryByRole('region', { name: 'Dependents' })).toBeNull();

    fireEvent.change(screen.getByLabelText('Depth'), { target: { value: '2' } });
    const deeper = await askSloEngine('/services/frontend/dependencies?direction=downstream&depth=2');
    await screen.findByText(`Dependencies (${deeper.nodes.length})`, undefined, { timeout: 20000 });
    const row = section('Dependencies').getByTestId('service-row-redis-cart');
    expect(within(row).getByText('2')).toBeTruthy();

    fireEvent.click(screen.getByLabelText('Include stale edges'));
    await waitFor(() =>
      expect(asked).toContain(
        `${PROXY_PREFIX}services/frontend/dependencies?direction=downstream&depth=2&include_stale=true&max_nodes=500`,
      ),
    );
    await screen.findByText(`Dependencies (${deeper.nodes.length})`, undefined, { timeout: 20000 });

    fireEvent.change(screen.getByLabelText('Direction'), { target: { value: 'upstream' } });
    await screen.findByRole('region', { name: 'Dependents' }, { timeout: 20000 });
    expect(screen.queryByRole('region', { name: 'Dependencies' })).toBeNull();
  });

  it('reads the slo-engine.io/service-id annotation', async () => {
    const storefront = component('storefront', {
      namespace: 'shop',
      annotations: { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: 'checkoutservice' },
    });
    await render(storefront, <EntitySloEngineDependenciesCard defaultDirection="downstream" />);
    await screen.findByText('Dependencies (6)', undefined, { timeout: 20000 });
    expect(screen.getByText('slo-engine service: checkoutservice')).toBeTruthy();
  });

  it('says when slo-engine does not know the service', async () => {
    await render(component('not-in-slo-engine'), <EntitySloEngineDependenciesCard />);
    await screen.findByText('slo-engine does not know the service "not-in-slo-engine"', undefined, {
      timeout: 20000,
    });
  });

  it('shows the error when the proxy sends no key', async () => {
    await render(component('frontend'), <EntitySloEngineDependenciesCard />, null);
    await screen.findByText(/slo-engine could not be asked/, undefined, { timeout: 20000 });
    expect(screen.getAllByText(/401/).length).toBeGreaterThan(0);
  });
});

describe('EntitySloEngineContent against a real slo-engine', () => {
  it('shows the blast radius and the availability ceiling', async () => {
    const impact = await askSloEngine<ImpactAnswer>('/services/cartservice/impact?depth=10');
    const availability = await askSloEngine<AvailabilityAnswer>('/services/cartservice/availability');
    // As an entity page tab mounts it (EntityLayout.Route gives it its path).
    await render(
      component('cart', CART.metadata),
      <Routes>
        <Route path="/*" element={<EntitySloEngineContent />} />
      </Routes>,
    );

    const totals = await screen.findByTestId('impact-totals', undefined, { timeout: 20000 });
    expect(totals.textContent).toContain(
      `${impact.totals.down} down, ${impact.totals.degraded} degraded (${impact.totals.affected} affected)`,
    );
    expect(impact.totals.affected).toBeGreaterThan(0);
    for (const affected of impact.affected) {
      const item = screen.getByTestId(`impact-${affected.service_id}`);
      expect(item.textContent).toContain(affected.path.join(' → '));
    }

    const ceiling = await screen.findByTestId('availability-ceiling', undefined, { timeout: 20000 });
    expect(ceiling.textContent).toContain(percent(availability.ceiling));
    expect(screen.getByText(availability.arithmetic)).toBeTruthy();

    // The tab's dependency card starts at depth 2 and shows both sides.
    await screen.findByRole('region', { name: 'Dependencies' }, { timeout: 20000 });
    expect(screen.getByRole('region', { name: 'Dependents' })).toBeTruthy();
  });
});
