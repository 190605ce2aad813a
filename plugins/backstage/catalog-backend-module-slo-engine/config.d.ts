export interface Config {
  /** slo-engine, the service dependency graph: where it is and how to ask it (docs/backstage.md). */
  sloEngine?: {
    /**
     * slo-engine's base URL, without `/api/v1`, e.g. `http://slo-engine.platform:8000`.
     */
    baseUrl: string;
    /**
     * An slo-engine API key with the `read` scope (`slo-cli api-keys create --scope read`).
     * Usually `${SLO_ENGINE_TOKEN}`; when absent, the SLO_ENGINE_TOKEN environment
     * variable is used.
     * @visibility secret
     */
    token?: string;
    /** The catalog backend module's settings. */
    catalog?: {
      /** Add observed relations at all (default true). */
      enabled?: boolean;
      /** Entity kinds given relations (default `["Component"]`). */
      kinds?: string[];
      /**
       * slo-engine discovery sources whose edges become relations (default the ones
       * seen in traffic: `otel_service_graph`, `service_mesh`, `jaeger`).
       */
      sources?: string[];
      /** Seconds between reads of the graph (default 300). */
      refreshIntervalSeconds?: number;
      /** Seconds before a refresh is tried again after a failed one (default 60). */
      retryIntervalSeconds?: number;
      /** Seconds the last good graph is still used while slo-engine fails (default 3600). */
      maxStalenessSeconds?: number;
      /** Bound on each HTTP request to slo-engine, in seconds (default 10). */
      timeoutSeconds?: number;
      /**
       * Bound on one whole read of the graph (every page), in seconds (default 60): the
       * first processing after start never waits longer for slo-engine.
       */
      readDeadlineSeconds?: number;
      /** Bound on the size of one page's answer, in MiB (default 64). */
      maxPageMegabytes?: number;
      /** Services per page of `GET /api/v1/graph` (default 1000, at most 2000). */
      pageSize?: number;
      /** Pages read at most per refresh (default 100). */
      maxPages?: number;
      /** Relations added per entity at most (default 200 dependencies). */
      maxDependenciesPerEntity?: number;
      /**
       * Seconds a `slo-engine.io/service-id` annotation or a namespace seen on a
       * processed entity is remembered without that entity being processed again
       * (default 3600).
       */
      entityMemorySeconds?: number;
    };
  };
}
