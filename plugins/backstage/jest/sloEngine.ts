/**
 * The real slo-engine the tests run against. tests/e2e/test_backstage_plugin.py starts
 * `slo-cli serve` on a fresh SQLite database, ingests examples/online-boutique.json and
 * one call tracing saw (paymentservice → frontend, source otel_service_graph, which
 * closes the cycle checkoutservice → paymentservice → frontend → checkoutservice), makes
 * a read key, and runs `npm test` with SLO_ENGINE_URL and SLO_ENGINE_TOKEN set.
 */
export type RealSloEngine = { url: string; token: string };

export function realSloEngine(): RealSloEngine {
  const url = process.env.SLO_ENGINE_URL;
  const token = process.env.SLO_ENGINE_TOKEN;
  if (!url || !token) {
    throw new Error(
      'SLO_ENGINE_URL and SLO_ENGINE_TOKEN must name a running slo-cli serve with Online ' +
        'Boutique ingested and a read key: run tests/e2e/test_backstage_plugin.py ' +
        '(docs/backstage.md, "Tests")',
    );
  }
  return { url: url.replace(/\/+$/, ''), token };
}

/** GET /api/v1<path> from the real server, straight (the tests' expected answers). */
export async function askSloEngine<T = any>(path: string): Promise<T> {
  const { url, token } = realSloEngine();
  const response = await fetch(`${url}/api/v1${path}`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10000),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
