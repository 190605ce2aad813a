// The HTTP API client of the page: the API key (kept for this tab), requests,
// and errors turned into one ApiError with what a person needs to read.

const KEY_STORAGE = "slo-engine.api-key";
const BASE = "/api/v1";

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
        return `The API key was refused: ${this.detail}`;
      case 403:
        return `${what} needs a scope your API key does not have. ${this.detail}`;
      case 429:
        return `Rate limited: too many requests for this key. Retry in ${this.retryAfter ?? "a few"} s.`;
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

/** Calls the API with the stored key; `onUnauthorized` runs on a 401 (the page asks again). */
export class ApiClient {
  constructor({ onUnauthorized } = {}) {
    this.onUnauthorized = onUnauthorized ?? (() => {});
  }

  /** The JSON answer of a request; an ApiError when it fails. */
  async request(method, path, options) {
    return (await this.exchange(method, path, options)).body;
  }

  /** The JSON answer and the headers of a request (the graph's revision and time). */
  async exchange(method, path, { params, body } = {}) {
    const url = new URL(BASE + path, window.location.origin);
    for (const [name, value] of Object.entries(params ?? {})) {
      if (value !== undefined && value !== null && value !== "") {
        url.searchParams.set(name, String(value));
      }
    }
    const headers = { Accept: "application/json" };
    const key = storedKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
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
    if (response.status === 401) {
      forgetKey();
      this.onUnauthorized(error);
    }
    throw error;
  }

  // The graph reads take `asOf` (RFC 3339 with an offset, or null for now): the answer
  // is then of the graph as it was at that time.

  searchServices(text, limit = 20, asOf = null) {
    return this.request("GET", "/services", { params: { search: text, limit, as_of: asOf } });
  }

  /** {answer, revision, asOf}: the answer, with the revision and time it is of. */
  async subgraph(serviceId, { direction, depth, includeStale, maxNodes, asOf }) {
    const { body, headers } = await this.exchange(
      "GET",
      `/services/${encodeURIComponent(serviceId)}/dependencies`,
      { params: { direction, depth, include_stale: includeStale, max_nodes: maxNodes, as_of: asOf } },
    );
    const revision = headers.get("X-Graph-Revision");
    return { answer: body, revision, asOf: headers.get("X-Graph-As-Of") };
  }

  impact(serviceId, { depth, includeStale, asOf }) {
    return this.request("GET", `/services/${encodeURIComponent(serviceId)}/impact`, {
      params: { depth, include_stale: includeStale, max_affected: 200, as_of: asOf },
    });
  }

  availability(serviceId, { includeStale, asOf }) {
    return this.request("GET", `/services/${encodeURIComponent(serviceId)}/availability`, {
      params: { include_stale: includeStale, as_of: asOf },
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
