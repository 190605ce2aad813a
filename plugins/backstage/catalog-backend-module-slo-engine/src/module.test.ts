import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import type { JsonObject } from '@backstage/types';
import {
  CatalogProcessor,
  CatalogProcessorResult,
  catalogProcessingExtensionPoint,
} from '@backstage/plugin-catalog-node';
import { askSloEngine, realSloEngine } from '../../jest/sloEngine';
import catalogModuleSloEngine, {
  GraphSnapshot,
  ObservedGraph,
  OBSERVED_SOURCES,
  SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION,
  SLO_ENGINE_SERVICE_ID_ANNOTATION,
  SloEngineCatalogOptions,
  SloEngineDependencyProcessor,
  readSloEngineCatalogOptions,
  serviceIdOfEntity,
} from './index';

const LOCATION = { type: 'url', target: 'https://example.com/catalog-info.yaml' };

function component(name: string, annotations: Record<string, string> = {}): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, namespace: 'default', annotations },
    spec: { type: 'service', lifecycle: 'production', owner: 'team-a' },
  };
}

function options(more: JsonObject = {}, base = realSloEngine()): SloEngineCatalogOptions {
  const parsed = readSloEngineCatalogOptions(
    mockServices.rootConfig({
      data: { sloEngine: { baseUrl: base.url, token: base.token, catalog: more } },
    }),
    {},
  );
  if (!parsed) throw new Error('no options');
  return parsed;
}

/** Runs the processor's one step on an entity: what it emitted and the entity it returned. */
async function processEntity(processor: CatalogProcessor, entity: Entity) {
  const emitted: CatalogProcessorResult[] = [];
  const cache = { get: async () => undefined, set: async () => {} };
  const result = await processor.preProcessEntity!(entity, LOCATION, r => emitted.push(r), LOCATION, cache);
  const relations = emitted.map(r => {
    if (r.type !== 'relation') throw new Error(`unexpected ${r.type}`);
    const { source, type, target } = r.relation;
    return `${source.kind}:${source.namespace}/${source.name} ${type} ${target.kind}:${target.namespace}/${target.name}`;
  });
  return { relations: relations.sort(), entity: result };
}

/**
 * A server on 127.0.0.1 that forwards to slo-engine while `up`, and refuses when not;
 * `rewrite` changes the answers' text on the way (a node kind the server has none of).
 */
async function switchableProxy(
  rewrite: (body: string) => string = body => body,
): Promise<{ url: string; up: boolean; asked: number; close(): Promise<void> }> {
  const target = realSloEngine().url;
  const state = {
    url: '',
    up: true,
    asked: 0,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
  const server: Server = createServer(async (request, response) => {
    state.asked += 1;
    if (!state.up) {
      response.writeHead(503, { 'Content-Type': 'text/plain' }).end('down for the test');
      return;
    }
    const answer = await fetch(`${target}${request.url}`, {
      headers: { Authorization: String(request.headers.authorization ?? '') },
    });
    response.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(rewrite(await answer.text()));
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

describe('SloEngineDependencyProcessor against a real slo-engine', () => {
  it('adds the observed call as dependsOn / dependencyOf and marks it observed', async () => {
    const logger = mockServices.logger.mock();
    const processor = new SloEngineDependencyProcessor(options(), logger);

    const payment = await processEntity(processor, component('paymentservice'));
    expect(payment.relations).toEqual([
      'component:default/frontend dependencyOf component:default/paymentservice',
      'component:default/paymentservice dependsOn component:default/frontend',
    ]);
    expect(payment.entity.metadata.annotations?.[SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION]).toBe(
      'component:default/frontend',
    );

    // frontend's own calls were declared (source manual), not observed: nothing added.
    const frontend = await processEntity(processor, component('frontend'));
    expect(frontend.relations).toEqual([]);
    expect(frontend.entity).toEqual(component('frontend'));
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('adds every call of the configured sources, as the server reports them', async () => {
    const processor = new SloEngineDependencyProcessor(
      options({ sources: ['manual', ...OBSERVED_SOURCES] }),
      mockServices.logger.mock(),
    );
    const answer = await askSloEngine('/services/frontend/dependencies?direction=downstream&depth=1');
    const callees: string[] = answer.edges.map((e: { target: string }) => e.target).sort();
    expect(callees.length).toBe(7);
    const { relations, entity } = await processEntity(processor, component('frontend'));
    expect(relations).toEqual(
      callees
        .flatMap(callee => [
          `component:default/${callee} dependencyOf component:default/frontend`,
          `component:default/frontend dependsOn component:default/${callee}`,
        ])
        .sort(),
    );
    expect(entity.metadata.annotations?.[SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION]).toBe(
      callees.map(c => `component:default/${c}`).join(','),
    );
  });

  it('maps entities to service ids by the annotation, and learns annotated targets', async () => {
    const processor = new SloEngineDependencyProcessor(options(), mockServices.logger.mock());
    expect(serviceIdOfEntity({ ...component('Search'), metadata: { name: 'Search', namespace: 'team-b' } })).toBe(
      'team-b.search',
    );
    // `storefront` is the service frontend; `payments-api` is paymentservice.
    const storefront = component('storefront', { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: 'frontend' });
    await processEntity(processor, storefront);
    const payments = await processEntity(
      processor,
      component('payments-api', { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: 'paymentservice' }),
    );
    expect(payments.relations).toEqual([
      'component:default/payments-api dependsOn component:default/storefront',
      'component:default/storefront dependencyOf component:default/payments-api',
    ]);
  });

  it('adds relations to the configured kinds only, and links to annotated Resources', async () => {
    const processor = new SloEngineDependencyProcessor(options(), mockServices.logger.mock());
    const resource = { ...component('paymentservice'), kind: 'Resource' };
    expect((await processEntity(processor, resource)).relations).toEqual([]);

    const database = {
      ...component('cart-db', { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: 'redis-cart' }),
      kind: 'Resource',
    };
    const withManual = new SloEngineDependencyProcessor(
      options({ sources: ['manual'] }),
      mockServices.logger.mock(),
    );
    expect((await processEntity(withManual, database)).relations).toEqual([]);
    expect((await processEntity(withManual, component('cartservice'))).relations).toEqual([
      'component:default/cartservice dependsOn resource:default/cart-db',
      'resource:default/cart-db dependencyOf component:default/cartservice',
    ]);
  });

  it('reads the graph in pages, bounded by maxPages', async () => {
    const paged = new SloEngineDependencyProcessor(
      options({ sources: ['manual'], pageSize: 2 }),
      mockServices.logger.mock(),
    );
    const whole = new SloEngineDependencyProcessor(options({ sources: ['manual'] }), mockServices.logger.mock());
    for (const name of ['checkoutservice', 'frontend', 'recommendationservice', 'cartservice']) {
      expect((await processEntity(paged, component(name))).relations).toEqual(
        (await processEntity(whole, component(name))).relations,
      );
    }

    // One page of two services (adservice, cartservice): the rest get nothing, and it says so.
    const logger = mockServices.logger.mock();
    const bounded = new SloEngineDependencyProcessor(
      options({ sources: ['manual'], pageSize: 2, maxPages: 1 }),
      logger,
    );
    expect((await processEntity(bounded, component('cartservice'))).relations).toEqual([
      'component:default/cartservice dependsOn component:default/redis-cart',
      'component:default/redis-cart dependencyOf component:default/cartservice',
    ]);
    expect((await processEntity(bounded, component('frontend'))).relations).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('more than 1 pages'));
  });
});

/** A processor over a graph given here, not read: the mapping of ids to entities alone. */
function processorOver(
  callees: Record<string, string[]>,
  kinds: Record<string, string>,
  more: JsonObject = {},
  now: () => number = Date.now,
) {
  const snapshot: GraphSnapshot = {
    revision: 1,
    readAt: now(),
    covered: new Set(Object.keys(callees)),
    callees: new Map(Object.entries(callees)),
    kinds: new Map(Object.entries(kinds)),
    incomplete: false,
  };
  const graph = { current: async () => snapshot } as unknown as ObservedGraph;
  return new SloEngineDependencyProcessor(
    options(more, { url: 'http://127.0.0.1:1', token: 'x' }),
    mockServices.logger.mock(),
    graph,
    now,
  );
}

function inNamespace(name: string, namespace: string, annotations: Record<string, string> = {}): Entity {
  const entity = component(name, annotations);
  return { ...entity, metadata: { ...entity.metadata, namespace } };
}

describe('which entity a service id is', () => {
  it('makes databases and messaging Resources, and ns.name a namespace seen on an entity', async () => {
    const processor = processorOver(
      { 'team-b.checkout': ['team-b.payments', 'api.v2', 'orders-db', 'orders-topic', 'stripe', 'users'] },
      { 'orders-db': 'database', 'orders-topic': 'messaging', stripe: 'external', users: 'virtual' },
    );
    const { relations } = await processEntity(processor, inNamespace('checkout', 'team-b'));
    expect(relations.filter(r => r.startsWith('component:team-b/checkout dependsOn'))).toEqual([
      'component:team-b/checkout dependsOn component:default/api.v2',
      'component:team-b/checkout dependsOn component:default/stripe',
      'component:team-b/checkout dependsOn component:default/users',
      'component:team-b/checkout dependsOn component:team-b/payments',
      'component:team-b/checkout dependsOn resource:default/orders-db',
      'component:team-b/checkout dependsOn resource:default/orders-topic',
    ]);
    expect(relations).toContain('resource:default/orders-db dependencyOf component:team-b/checkout');
    // `api` becomes a namespace once an entity in it is processed: then api.v2 is v2 there.
    await processEntity(processor, inNamespace('gateway', 'api'));
    expect(processor.entityRefOfService('api.v2')).toEqual({ kind: 'component', namespace: 'api', name: 'v2' });
  });

  it('the annotation wins, ties go to the smallest ref, and it is forgotten when gone or too old', async () => {
    let now = 1_000_000;
    const processor = processorOver(
      { cartservice: ['orders-db'] },
      { 'orders-db': 'database' },
      { entityMemorySeconds: 600 },
      () => now,
    );
    const target = async () => {
      const { entity } = await processEntity(processor, component('cartservice'));
      return entity.metadata.annotations?.[SLO_ENGINE_OBSERVED_DEPENDS_ON_ANNOTATION];
    };
    expect(await target()).toBe('resource:default/orders-db');
    const annotation = { [SLO_ENGINE_SERVICE_ID_ANNOTATION]: 'orders-db' };
    const zeta = { ...component('zeta', annotation), kind: 'Resource' };
    const alpha = { ...component('alpha', annotation), kind: 'Resource' };
    await processEntity(processor, zeta);
    expect(await target()).toBe('resource:default/zeta');
    await processEntity(processor, alpha);
    await processEntity(processor, zeta); // processed last, still not the smaller ref
    expect(await target()).toBe('resource:default/alpha');

    // alpha drops the annotation: zeta again, at once.
    await processEntity(processor, { ...alpha, metadata: { ...alpha.metadata, annotations: {} } });
    expect(await target()).toBe('resource:default/zeta');

    // zeta is not processed again for longer than the memory (deleted, or on another
    // replica's share): the default mapping.
    now += 601_000;
    expect(await target()).toBe('resource:default/orders-db');
  });

  it('links to a Resource for a database node of the real graph', async () => {
    // The Online Boutique graph has no database kinds: the proxy makes redis-cart one.
    const proxy = await switchableProxy(body =>
      body.replace(/("service_id":"redis-cart"[^}]*"kind":)"service"/, '$1"database"'),
    );
    try {
      const processor = new SloEngineDependencyProcessor(
        options({ sources: ['manual'] }, { url: proxy.url, token: realSloEngine().token }),
        mockServices.logger.mock(),
      );
      expect((await processEntity(processor, component('cartservice'))).relations).toEqual([
        'component:default/cartservice dependsOn resource:default/redis-cart',
        'resource:default/redis-cart dependencyOf component:default/cartservice',
      ]);
    } finally {
      await proxy.close();
    }
  });
});

describe('failing soft', () => {
  it('emits nothing and logs when slo-engine cannot be reached, and does not retry at once', async () => {
    // A port nothing listens on: take one and close it.
    const closed = await switchableProxy();
    await closed.close();
    const logger = mockServices.logger.mock();
    const graph = new ObservedGraph(options({}, { url: closed.url, token: 'x' }), logger);
    const processor = new SloEngineDependencyProcessor(options({}, { url: closed.url, token: 'x' }), logger, graph);
    const payment = component('paymentservice');
    const first = await processEntity(processor, payment);
    expect(first).toEqual({ relations: [], entity: payment });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('no observed relations are added'));
    await processEntity(processor, payment);
    expect(logger.warn).toHaveBeenCalledTimes(1); // within the retry interval: not tried again
  });

  it('gives up on a server that does not answer within the timeout', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer(() => {
      /* never answers */
    });
    silent.on('connection', socket => sockets.add(socket));
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const logger = mockServices.logger.mock();
      const processor = new SloEngineDependencyProcessor(
        options({ timeoutSeconds: 0.5 }, { url, token: 'x' }),
        logger,
      );
      const started = Date.now();
      const { relations } = await processEntity(processor, component('paymentservice'));
      expect(relations).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/could not be read/));
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>(resolve => silent.close(() => resolve()));
    }
  });

  it('emits nothing when slo-engine refuses the key', async () => {
    const logger = mockServices.logger.mock();
    const processor = new SloEngineDependencyProcessor(
      options({}, { url: realSloEngine().url, token: 'slo_000000000000_not-a-key' }),
      logger,
    );
    expect((await processEntity(processor, component('paymentservice'))).relations).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('answered 401'));
  });

  it('refuses a page larger than maxPageMegabytes, by Content-Length or by counting', async () => {
    const logger = mockServices.logger.mock();
    const small = { ...options(), maxPageBytes: 200 };
    const processor = new SloEngineDependencyProcessor(small, logger);
    expect((await processEntity(processor, component('paymentservice'))).relations).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('larger than 200 bytes'));

    // No Content-Length: a body that never ends, read no further than the bound.
    let written = 0;
    const endless = createServer((_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.write('{"revision": 1, "nodes": [');
      const more = () => {
        if (response.destroyed) return;
        written += 16384;
        response.write(`"${'x'.repeat(16382)}",`, () => setImmediate(more));
      };
      more();
    });
    await new Promise<void>(resolve => endless.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
    try {
      const streamed = mockServices.logger.mock();
      const bounded = new SloEngineDependencyProcessor(
        { ...options({}, { url, token: 'x' }), maxPageBytes: 1024 * 1024 },
        streamed,
      );
      expect((await processEntity(bounded, component('paymentservice'))).relations).toEqual([]);
      expect(streamed.warn).toHaveBeenCalledWith(expect.stringContaining(`larger than ${1024 * 1024} bytes`));
      expect(written).toBeLessThan(16 * 1024 * 1024);
    } finally {
      endless.closeAllConnections();
      await new Promise<void>(resolve => endless.close(() => resolve()));
    }
  });

  it('gives up the whole read at readDeadlineSeconds, however many pages are left', async () => {
    // Each page answers in time, and there is always a next one.
    const slow = createServer((_request, response) => {
      setTimeout(() => {
        response
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ revision: 1, nodes: [], edges: [], next_cursor: 'more' }));
      }, 100);
    });
    await new Promise<void>(resolve => slow.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      const logger = mockServices.logger.mock();
      const processor = new SloEngineDependencyProcessor(
        options({ timeoutSeconds: 1, maxPages: 10000, readDeadlineSeconds: 1 }, { url, token: 'x' }),
        logger,
      );
      const started = Date.now();
      expect((await processEntity(processor, component('paymentservice'))).relations).toEqual([]);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('the read took longer than 1 s'));
    } finally {
      slow.closeAllConnections();
      await new Promise<void>(resolve => slow.close(() => resolve()));
    }
  });

  it('keeps the last good graph while slo-engine is down, until it is too old', async () => {
    const proxy = await switchableProxy();
    try {
      let now = 1_000_000;
      const settings = options(
        { refreshIntervalSeconds: 60, retryIntervalSeconds: 10, maxStalenessSeconds: 600 },
        { url: proxy.url, token: realSloEngine().token },
      );
      const logger = mockServices.logger.mock();
      const graph = new ObservedGraph(settings, logger, () => now);
      const processor = new SloEngineDependencyProcessor(settings, logger, graph);
      const payment = component('paymentservice');
      const expected = (await processEntity(processor, payment)).relations;
      expect(expected.length).toBe(2);

      proxy.up = false;
      now += 61_000; // due: the refresh fails in the background, the old graph is used
      expect((await processEntity(processor, payment)).relations).toEqual(expected);
      await graph.current(); // let the background refresh finish
      await new Promise(resolve => setTimeout(resolve, 50));
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('keeping the graph of revision'));
      expect((await processEntity(processor, payment)).relations).toEqual(expected);

      now += 600_000; // older than maxStalenessSeconds while still failing: nothing
      expect((await processEntity(processor, payment)).relations).toEqual([]);

      proxy.up = true;
      now += 11_000; // retried after the retry interval: answers again
      await graph.current();
      await new Promise(resolve => setTimeout(resolve, 200));
      expect((await processEntity(processor, payment)).relations).toEqual(expected);
      expect(logger.info).toHaveBeenCalledWith(expect.stringContaining('answers again'));
    } finally {
      await proxy.close();
    }
  });
});

describe('catalogModuleSloEngine in a test backend', () => {
  it('registers the processor from app-config, and it works', async () => {
    const added: CatalogProcessor[] = [];
    const { url, token } = realSloEngine();
    const backend = await startTestBackend({
      extensionPoints: [
        [catalogProcessingExtensionPoint, { addProcessor: (...p: any[]) => added.push(...p.flat()) }],
      ],
      features: [
        catalogModuleSloEngine,
        mockServices.rootConfig.factory({ data: { sloEngine: { baseUrl: url, token } } }),
      ],
    });
    try {
      expect(added.map(p => p.getProcessorName())).toEqual(['SloEngineDependencyProcessor']);
      expect((await processEntity(added[0], component('paymentservice'))).relations).toHaveLength(2);
    } finally {
      await backend.stop();
    }
  });

  it('adds nothing without sloEngine in app-config', async () => {
    const added: CatalogProcessor[] = [];
    const backend = await startTestBackend({
      extensionPoints: [
        [catalogProcessingExtensionPoint, { addProcessor: (...p: any[]) => added.push(...p.flat()) }],
      ],
      features: [catalogModuleSloEngine, mockServices.rootConfig.factory({ data: {} })],
    });
    await backend.stop();
    expect(added).toEqual([]);
  });

  it('takes the key from SLO_ENGINE_TOKEN when app-config has none', () => {
    const parsed = readSloEngineCatalogOptions(
      mockServices.rootConfig({ data: { sloEngine: { baseUrl: 'http://127.0.0.1:1/' } } }),
      { SLO_ENGINE_TOKEN: 'slo_abc' },
    );
    expect(parsed).toMatchObject({ baseUrl: 'http://127.0.0.1:1', token: 'slo_abc', kinds: ['component'] });
  });
});
