// The HTTP API client of the page: the API key (kept for this tab), requests with
// whichever credential the page signed in with, and errors turned into one ApiError
// with what a person needs to read.

const KEY_STORAGE = "slo-engine.api-key";
const BASE = "/api/v1";

/** What a subgraph or service answer carries besides itself (`include=`). */
export const INSIGHTS = "impact,availability";

/**
 * What the answer of a view of now carries: the root's insights and the drift of the
 * answer's edges. A past view leaves the drift out: drift is judged against the clock
 * (observations within a window before now), so it says nothing of a past graph.
 */
export const VIEW_INSIGHTS = `${INSIGHTS},drift`;

/** How many open alerts the page lists (newest first); it says when there are more. */
export const ALERTS_SHOWN = 100;

export class ApiError extends Error {
  constructor(status, title, detail, retryAfter = null) {
    super(detail || title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }

  /** A sentence for the page. */
  explain(what = "This request") {
    switch (this.status) {
      case 0:
        return `${what} could not reach the service: ${this.detail}`;
      case 401:
        return `The credential was refused: ${this.detail}`;
      case 403:
        return `${what} needs a scope you do not have. ${this.detail}`;
      case 429:
        return `Rate limited: too many requests. Retry in ${this.retryAfter ?? "a few"} s.`;
      case 404:
        return this.detail || "Not found.";
      default:
        return `${what} failed (${this.status} ${this.title}): ${this.detail}`;
    }
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key.trim());
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * Calls the API. `bearer()` gives the credential to send (a sign-in token or the stored
 * key; null: none); `cookies`: send the page's cookies (behind an authenticating proxy,
 * whose session cookie names the person); `onUnauthorized` runs on a 401 (the page asks
 * again).
 */
export class ApiClient {
  constructor({ onUnauthorized, bearer, cookies = false } = {}) {
    this.onUnauthorized = onUnauthorized ?? (() => {});
    this.bearer = bearer ?? (async () => storedKey());
    this.cookies = cookies;
  }

  /** The JSON answer of a request; an ApiError when it fails. */
  async request(method, path, options) {
    return (await this.exchange(method, path, options)).body;
  }

  /** The JSON answer and the headers of a request (the graph's revision and time). */
  async exchange(method, path, { params, body } = {}) {
    const url = new URL(BASE + path, window.location.origin);
    for (const [name, value] of Object.entries(params ?? {})) {
      // An array is the parameter repeated (`expand=a&expand=b`).
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one !== undefined && one !== null && one !== "") {
          url.searchParams.append(name, String(one));
        }
      }
    }
    const headers = { Accept: "application/json" };
    const credential = await this.bearer();
    if (credential) headers.Authorization = `Bearer ${credential}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: this.cookies ? "same-origin" : "omit",
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, "Network error", String(error.message ?? error));
    }
    if (response.ok) return { body: await response.json(), headers: response.headers };
    let problem = {};
    try {
      problem = await response.json();
    } catch {
      // Not JSON (a proxy's error page): keep the status line.
    }
    const retryAfter = response.headers.get("Retry-After");
    const error = new ApiError(
      response.status,
      problem.title ?? response.statusText,
      problem.detail ?? "",
      retryAfter === null ? null : Number(retryAfter),
    );
    if (response.status === 401) this.onUnauthorized(error);
    throw error;
  }

  // The graph reads take `asOf` (RFC 3339 with an offset, or null for now): the answer
  // is then of the graph as it was at that time.

  searchServices(text, limit = 20, asOf = null) {
    return this.request("GET", "/services", { params: { search: text, limit, as_of: asOf } });
  }

  /**
   * {answer, revision, asOf}: the answer, with the revision and time it is of; with
   * `include` ("impact,availability"), the root's insights in the same answer; `filters`:
   * the traversal filters' parameters (filters.filterParams).
   */
  async subgraph(serviceId, { direction, depth, includeStale, maxNodes, asOf, include, filters = {} }) {
    const { body, headers } = await this.exchange(
      "GET",
      `/services/${encodeURIComponent(serviceId)}/dependencies`,
      {
        params: {
          direction,
          depth,
          include_stale: includeStale,
          max_nodes: maxNodes,
          as_of: asOf,
          include,
          ...filters,
        },
      },
    );
    const revision = headers.get("X-Graph-Revision");
    return { answer: body, revision, asOf: headers.get("X-Graph-As-Of") };
  }

  /**
   * {answer, revision, asOf}: the whole graph grouped (GET /graph/overview); `params`
   * from overview.overviewParams.
   */
  async overview(params) {
    const { body, headers } = await this.exchange("GET", "/graph/overview", { params });
    return { answer: body, revision: headers.get("X-Graph-Revision"), asOf: headers.get("X-Graph-As-Of") };
  }

  /** The service with its blast radius and availability ceiling: one request. */
  insights(serviceId, { includeStale, asOf }) {
    return this.request("GET", `/services/${encodeURIComponent(serviceId)}`, {
      params: { include: INSIGHTS, include_stale: includeStale, as_of: asOf },
    });
  }

  /** What changed in the whole graph from `from` to `to` (times; `to` null: now). */
  graphDiff(from, to = null) {
    return this.request("GET", "/graph/diff", { params: { from, to } });
  }

  openAlerts(limit = ALERTS_SHOWN) {
    return this.request("GET", "/circular-dependencies", { params: { status: "open", limit } });
  }

  acknowledgeAlert(alertId, note) {
    const body = { status: "acknowledged" };
    if (note) body.note = note;
    return this.request("PATCH", `/circular-dependencies/${encodeURIComponent(alertId)}`, {
      body,
    });
  }
}
