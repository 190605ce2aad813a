import { LoggerService } from '@backstage/backend-plugin-api';
import { SloEngineCatalogOptions } from './options';

type GraphEdge = {
  source: string;
  target: string;
  discovery_sources: string[];
  is_stale: boolean;
};

type GraphPage = {
  revision: number;
  nodes: Array<{ service_id: string; kind?: string }>;
  edges: GraphEdge[];
  next_cursor: string | null;
};

/** What one refresh read: each service's callees among the configured sources. */
export type GraphSnapshot = {
  revision: number;
  readAt: number;
  /** Services whose page was read: their callees are complete. */
  covered: ReadonlySet<string>;
  callees: ReadonlyMap<string, readonly string[]>;
  /** Each read service's node kind (service, database, messaging, external, virtual). */
  kinds: ReadonlyMap<string, string>;
  /** The pages stopped at maxPages before the end. */
  incomplete: boolean;
};

/**
 * slo-engine's graph as the catalog module uses it: read whole through
 * `GET /api/v1/graph` (JSON pages of services with every edge whose source is on the
 * page), at most once per refresh interval, one refresh at a time, each request bounded
 * by a timeout and a size, the pages by a count and the whole read by a deadline. A
 * failed refresh is logged, retried no sooner than the retry interval, and leaves the
 * last good graph in use until it is older than the staleness bound; with none, there
 * is no graph and nothing is added.
 */
export class ObservedGraph {
  private snapshot: GraphSnapshot | undefined;
  private inFlight: Promise<void> | undefined;
  private lastAttempt = -Infinity;
  private lastFailed = false;

  constructor(
    private readonly options: SloEngineCatalogOptions,
    private readonly logger: LoggerService,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The graph to use now, or undefined. The first call waits for the first read, at
   * most the read deadline (the read is abandoned past it); later calls answer at once
   * and refresh in the background.
   */
  async current(): Promise<GraphSnapshot | undefined> {
    const now = this.now();
    const due = this.lastFailed
      ? now - this.lastAttempt >= this.options.retryIntervalMs
      : !this.snapshot || now - this.snapshot.readAt >= this.options.refreshIntervalMs;
    if (due && !this.inFlight) {
      this.lastAttempt = now;
      this.inFlight = this.refresh().finally(() => {
        this.inFlight = undefined;
      });
    }
    if (!this.snapshot && this.inFlight) {
      // The read aborts itself at the deadline; this bound holds even if it did not.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.inFlight,
        new Promise<void>(resolve => {
          timer = setTimeout(resolve, this.options.readDeadlineMs + 1000);
        }),
      ]);
      clearTimeout(timer);
    }
    const snapshot = this.snapshot;
    if (snapshot && this.lastFailed && this.now() - snapshot.readAt > this.options.maxStalenessMs) {
      return undefined; // slo-engine has failed for too long: its old answer is not kept up
    }
    return snapshot;
  }

  private async refresh(): Promise<void> {
    try {
      this.snapshot = await this.read();
      if (this.lastFailed) {
        this.logger.info(`slo-engine answers again at ${this.options.baseUrl}`);
      }
      this.lastFailed = false;
    } catch (error) {
      this.lastFailed = true;
      const kept = this.snapshot
        ? `keeping the graph of revision ${this.snapshot.revision} read at ${new Date(this.snapshot.readAt).toISOString()}`
        : 'no observed relations are added until it answers';
      this.logger.warn(
        `slo-engine could not be read at ${this.options.baseUrl} (${String(
          (error as Error)?.message ?? error,
        )}); ${kept}; next try in ${this.options.retryIntervalMs / 1000} s`,
      );
    }
  }

  private async read(): Promise<GraphSnapshot> {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new Error(`the read took longer than ${this.options.readDeadlineMs / 1000} s`)),
      this.options.readDeadlineMs,
    );
    try {
      return await this.readPages(deadline.signal);
    } catch (error) {
      // An abort by the deadline surfaces as the fetch's AbortError: name the deadline.
      if (deadline.signal.aborted) throw deadline.signal.reason;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async readPages(deadline: AbortSignal): Promise<GraphSnapshot> {
    const wanted = new Set(this.options.sources);
    const callees = new Map<string, string[]>();
    const covered = new Set<string>();
    const kinds = new Map<string, string>();
    let cursor: string | null = null;
    let revision = -1;
    let pages = 0;
    do {
      const page: GraphPage = await this.page(cursor, deadline);
      pages += 1;
      revision = Math.max(revision, page.revision);
      for (const node of page.nodes) {
        covered.add(node.service_id);
        if (typeof node.kind === 'string') kinds.set(node.service_id, node.kind);
      }
      for (const edge of page.edges) {
        if (edge.is_stale || !edge.discovery_sources.some(source => wanted.has(source))) continue;
        const list = callees.get(edge.source) ?? [];
        list.push(edge.target);
        callees.set(edge.source, list);
      }
      cursor = page.next_cursor;
    } while (cursor && pages < this.options.maxPages);
    if (cursor) {
      this.logger.warn(
        `slo-engine's graph has more than ${this.options.maxPages} pages of ${this.options.pageSize} services; ` +
          `services past them get no observed relations (raise sloEngine.catalog.maxPages)`,
      );
    }
    return { revision, readAt: this.now(), covered, callees, kinds, incomplete: Boolean(cursor) };
  }

  private async page(cursor: string | null, deadline: AbortSignal): Promise<GraphPage> {
    const params = new URLSearchParams({
      format: 'json',
      include_stale: 'false',
      limit: String(this.options.pageSize),
    });
    if (cursor) params.set('cursor', cursor);
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const response = await fetch(`${this.options.baseUrl}/api/v1/graph?${params}`, {
      headers,
      // Both bounds hold while the body is read too: fetch aborts its stream.
      signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), deadline]),
      redirect: 'error',
    });
    if (!response.ok) {
      const detail = await readText(response, 4096, true).catch(() => '');
      throw new Error(`GET /api/v1/graph answered ${response.status}: ${detail.slice(0, 200)}`);
    }
    let body: GraphPage;
    try {
      body = JSON.parse(await readText(response, this.options.maxPageBytes)) as GraphPage;
    } catch (error) {
      if (error instanceof SyntaxError) throw new Error('GET /api/v1/graph did not answer JSON');
      throw error;
    }
    if (!Array.isArray(body?.nodes) || !Array.isArray(body?.edges)) {
      throw new Error('GET /api/v1/graph did not answer a graph page');
    }
    return body;
  }
}

/**
 * A response's body as text, at most `maxBytes` of it: a larger one is an error (or,
 * with `truncate`, cut there), found from Content-Length before reading when the server
 * sends it and by counting the bytes as they come when it does not. Never holds more
 * than `maxBytes` plus one chunk.
 */
export async function readText(response: Response, maxBytes: number, truncate = false): Promise<string> {
  const tooLarge = () =>
    new Error(`GET /api/v1/graph answered a page larger than ${maxBytes} bytes (sloEngine.catalog.maxPageMegabytes)`);
  const declared = Number(response.headers.get('content-length'));
  if (!truncate && Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        if (!truncate) throw tooLarge();
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(Math.min(size, maxBytes));
  let at = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - at);
    bytes.set(part, at);
    at += part.length;
    if (at >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}
