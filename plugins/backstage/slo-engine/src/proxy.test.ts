/**
 * @jest-environment node
 */
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { ResponseError } from '@backstage/errors';
import { askSloEngine, realSloEngine } from '../../jest/sloEngine';
import { SloEngineClient } from './api/SloEngineClient';

/**
 * The plugin's client through Backstage's real proxy plugin, configured as
 * docs/backstage.md says, in a test backend, to the real slo-engine: the key stays in
 * the backend's config, the browser sends only its Backstage token.
 */
describe('SloEngineClient through the Backstage proxy backend', () => {
  it('reads dependencies, impact, availability and cycles with the key the proxy adds', async () => {
    const { url, token } = realSloEngine();
    const backend = await startTestBackend({
      features: [
        import('@backstage/plugin-proxy-backend'),
        // As in a real backend: a request without a Backstage token is nobody.
        mockServices.httpAuth.factory({ defaultCredentials: mockCredentials.none() }),
        mockServices.rootConfig.factory({
          data: {
            proxy: {
              endpoints: {
                '/slo-engine': {
                  target: `${url}/api/v1`,
                  headers: { Authorization: `Bearer ${token}` },
                  allowedMethods: ['GET'],
                },
              },
            },
          },
        }),
      ],
    });
    try {
      const base = `http://localhost:${backend.server.port()}/api`;
      const discoveryApi = { getBaseUrl: async (pluginId: string) => `${base}/${pluginId}` };
      const signedIn = {
        fetch: (input: any, init?: RequestInit) =>
          fetch(input, {
            ...init,
            headers: { ...(init?.headers as object), Authorization: `Bearer ${mockCredentials.user.token()}` },
          }),
      };
      const client = new SloEngineClient({ discoveryApi, fetchApi: signedIn });

      const answer = await client.getDependencies('frontend', { direction: 'both', depth: 2, includeStale: false });
      const direct = await askSloEngine('/services/frontend/dependencies?direction=both&depth=2');
      expect(answer.nodes.map(n => n.service_id).sort()).toEqual(
        direct.nodes.map((n: { service_id: string }) => n.service_id).sort(),
      );
      expect((await client.getImpact('redis-cart', { depth: 10, includeStale: false })).totals.affected).toBeGreaterThan(0);
      expect((await client.getAvailability('checkoutservice', { includeStale: false })).ceiling).toBeLessThan(1);
      expect((await client.getCycles()).map(c => c.cycle_path)).toContainEqual([
        'checkoutservice',
        'paymentservice',
        'frontend',
        'checkoutservice',
      ]);

      // Unknown services are slo-engine's 404, as a ResponseError the card recognises.
      const missing = await client.getDependencies('no-such', { direction: 'both', depth: 1, includeStale: false }).catch(e => e);
      expect(ResponseError.is(missing) && missing.response.status).toBe(404);

      // Without a Backstage token the proxy refuses before slo-engine is asked.
      const anonymous = new SloEngineClient({ discoveryApi, fetchApi: { fetch } });
      const refused = await anonymous.getCycles().catch(e => e);
      expect(ResponseError.is(refused) && refused.response.status).toBe(401);
    } finally {
      await backend.stop();
    }
  });
});
