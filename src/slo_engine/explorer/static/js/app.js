// The explorer page: controls and URL hash -> queries -> drawing and panels.

import { ALERTS_SHOWN, ApiClient, ApiError, storedKey, storeKey } from "./api.js";
import { mergeAnswers } from "./graph.js";
import { note, showAlerts, showAvailability, showDetails, showImpact } from "./panels.js";
import { GraphView } from "./render.js";
import { Typeahead } from "./typeahead.js";

const $ = (id) => document.getElementById(id);
const DIRECTIONS = ["downstream", "upstream", "both"];

const state = {
  service: null,
  direction: "both",
  depth: 3,
  includeStale: false,
  maxNodes: 200,
};
let graph = null;
let loadGeneration = 0;
let insightGeneration = 0;
let alertGeneration = 0;
let retryAfterKey = null;

const api = new ApiClient({ onUnauthorized: (error) => askForKey(error.explain()) });
const view = new GraphView($("graph"), { onSelect: select, onReroot: reroot });

function clamp(value, low, high, fallback) {
  const number = Number.parseInt(value, 10);
  return Number.isFinite(number) ? Math.min(Math.max(number, low), high) : fallback;
}

// --- URL hash: #service=checkout&direction=both&depth=3&stale=1&max=200 ---------------

function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  return {
    service: params.get("service") || null,
    direction: DIRECTIONS.includes(params.get("direction")) ? params.get("direction") : "both",
    depth: clamp(params.get("depth"), 1, 10, 3),
    includeStale: params.get("stale") === "1",
    maxNodes: clamp(params.get("max"), 1, 100000, 200),
  };
}

function hashOf(s) {
  const params = new URLSearchParams();
  if (s.service) params.set("service", s.service);
  params.set("direction", s.direction);
  params.set("depth", String(s.depth));
  if (s.includeStale) params.set("stale", "1");
  if (s.maxNodes !== 200) params.set("max", String(s.maxNodes));
  return `#${params}`;
}

function writeHash(push) {
  const hash = hashOf(state);
  if (hash === window.location.hash) return;
  if (push) history.pushState(null, "", hash);
  else history.replaceState(null, "", hash);
}

function showControls() {
  $("service-search").value = state.service ?? "";
  $("direction").value = state.direction;
  $("depth").value = String(state.depth);
  $("include-stale").checked = state.includeStale;
  $("max-nodes").value = String(state.maxNodes);
}

function readControls() {
  state.direction = $("direction").value;
  state.depth = clamp($("depth").value, 1, 10, 3);
  state.includeStale = $("include-stale").checked;
  state.maxNodes = clamp($("max-nodes").value, 1, 100000, 200);
}

// --- messages ----------------------------------------------------------------------

function setStatus(text) {
  $("status").textContent = text;
}

function setError(text) {
  const error = $("error");
  error.textContent = text ?? "";
  error.hidden = !text;
}

function report(error, what) {
  if (error instanceof ApiError && error.status === 401) return; // the key dialog asks
  setError(error instanceof ApiError ? error.explain(what) : `${what} failed: ${error}`);
}

// --- the API key ---------------------------------------------------------------------

// Whenever the tab has no key (the dialog closed with Escape, say), the page keeps a
// button that opens the dialog again, instead of an empty page.
function showKeyNeeded() {
  $("key-needed").hidden = Boolean(storedKey());
}

function askForKey(reason, retry = refreshAll) {
  retryAfterKey = retry;
  showKeyNeeded();
  $("key-reason").textContent = reason;
  $("key-input").value = "";
  const dialog = $("key-dialog");
  if (!dialog.open) dialog.showModal();
  $("key-input").focus();
}

$("key-form").addEventListener("submit", () => {
  const key = $("key-input").value.trim();
  if (!key) return;
  storeKey(key);
  showKeyNeeded();
  setError(null);
  const retry = retryAfterKey ?? refreshAll;
  retryAfterKey = null;
  retry();
});

$("key-dialog").addEventListener("close", showKeyNeeded);
$("key-needed-button").addEventListener("click", () =>
  askForKey("Enter an API key to use the explorer.", retryAfterKey ?? refreshAll),
);

$("key-button").addEventListener("click", () =>
  askForKey("Enter another API key; it replaces the one in use for this tab."),
);

// --- the graph ----------------------------------------------------------------------

async function load() {
  if (!state.service) return;
  if (!storedKey()) {
    askForKey("Enter an API key to query the graph.", load);
    return;
  }
  const generation = ++loadGeneration;
  const options = {
    direction: state.direction,
    depth: state.depth,
    includeStale: state.includeStale,
    maxNodes: state.maxNodes,
  };
  setStatus(`Loading ${state.service}…`);
  setError(null);
  let down = null;
  let up = null;
  let both = null;
  try {
    // For "both": one query per side, so that every node's side is known, and the API's
    // "both" answer itself, whose services and edges are the ones drawn (once truncated,
    // the two sides' answers can each miss an edge between their kept services).
    const query = (direction) => api.subgraph(state.service, { ...options, direction });
    [down, up, both] = await Promise.all([
      state.direction === "upstream" ? null : query("downstream"),
      state.direction === "downstream" ? null : query("upstream"),
      state.direction === "both" ? query("both") : null,
    ]);
  } catch (error) {
    if (generation !== loadGeneration) return;
    setStatus("");
    report(error, `The query of ${state.service}`);
    return;
  }
  if (generation !== loadGeneration) return;
  graph = mergeAnswers(down, up, state.maxNodes, both);
  view.draw(graph);
  const banner = $("truncated-banner");
  banner.hidden = !graph.truncated;
  banner.textContent = graph.truncated
    ? `Showing the ${graph.maxNodes} closest of more than ${graph.maxNodes} services. ` +
      "Raise Max nodes or lower Depth to see more."
    : "";
  const nodeCount = graph.nodes.size;
  $("graph-summary").textContent =
    `${nodeCount} service${nodeCount === 1 ? "" : "s"}, ${graph.edges.length} edge` +
    `${graph.edges.length === 1 ? "" : "s"}, ${view.layout.crossings} crossing` +
    `${view.layout.crossings === 1 ? "" : "s"}`;
  $("graph-caption").textContent =
    `${state.direction} dependencies of ${state.service}, depth ${state.depth}` +
    `${state.includeStale ? ", stale edges included" : ""}.`;
  setStatus(`Showing ${state.service}.`);
  select(state.service);
}

function select(serviceId) {
  if (!graph || !graph.nodes.has(serviceId)) return;
  view.select(serviceId);
  showDetails($("details"), graph.nodes.get(serviceId), graph.edges, { onReroot: reroot });
  loadInsights(serviceId);
}

function reroot(serviceId) {
  if (!serviceId) return;
  state.service = serviceId;
  $("service-search").value = serviceId;
  writeHash(true);
  load();
}

async function loadInsights(serviceId) {
  const generation = ++insightGeneration;
  const options = { depth: 10, includeStale: state.includeStale };
  note($("impact"), `Loading the blast radius of ${serviceId}…`);
  note($("availability"), `Loading the availability ceiling of ${serviceId}…`);
  const settle = async (promise, container, render, what) => {
    try {
      const answer = await promise;
      if (generation === insightGeneration) render(container, answer);
    } catch (error) {
      if (generation !== insightGeneration) return;
      if (error instanceof ApiError && error.status === 429) report(error, what);
      const text =
        error instanceof ApiError && error.status === 404 && !error.detail.includes(serviceId)
          ? `${what} is not available from this server.`
          : error instanceof ApiError
            ? error.explain(what)
            : String(error);
      note(container, text, "error");
    }
  };
  await Promise.all([
    settle(
      api.impact(serviceId, options),
      $("impact"),
      (c, a) => showImpact(c, a, { onPick: select }),
      "The blast radius",
    ),
    settle(api.availability(serviceId, options), $("availability"), showAvailability, "The availability ceiling"),
  ]);
}

// --- circular-dependency alerts -------------------------------------------------------

async function loadAlerts() {
  if (!storedKey()) return;
  // Only the latest listing is shown: an older answer arriving late (say the one from
  // before an Acknowledge) must not overwrite a newer one.
  const generation = ++alertGeneration;
  try {
    const page = await api.openAlerts(ALERTS_SHOWN);
    if (generation !== alertGeneration) return;
    showAlerts($("alerts"), page.items, {
      more: Boolean(page.next_cursor),
      onShow: (alert) => reroot(alert.cycle_path[0]),
      onAcknowledge: acknowledge,
    });
  } catch (error) {
    if (generation !== alertGeneration) return;
    if (error instanceof ApiError && error.status === 401) return;
    if (error instanceof ApiError && error.status === 429) report(error, "Listing alerts");
    note($("alerts"), error instanceof ApiError ? error.explain("Listing alerts") : String(error), "error");
  }
}

async function acknowledge(alert, message, button) {
  button.disabled = true;
  message.textContent = "Acknowledging…";
  try {
    await api.acknowledgeAlert(alert.alert_id);
    setStatus(`Acknowledged the cycle ${alert.cycle_path.join(" → ")}.`);
    await loadAlerts();
  } catch (error) {
    button.disabled = false;
    message.classList.add("error");
    if (error instanceof ApiError && error.status === 403) {
      message.textContent =
        "Acknowledging needs an API key with the write scope; this one is read-only. " + error.detail;
    } else if (error instanceof ApiError) {
      message.textContent = error.explain("Acknowledging");
    } else {
      message.textContent = String(error);
    }
  }
}

// --- wiring -------------------------------------------------------------------------

function refreshAll() {
  loadAlerts();
  load();
}

new Typeahead($("service-search"), $("service-suggestions"), {
  search: (text) => api.searchServices(text, 20),
  onPick: (serviceId) => {
    readControls();
    reroot(serviceId);
  },
  onError: (error) => report(error, "The search"),
});

$("controls").addEventListener("submit", (event) => event.preventDefault());
for (const id of ["direction", "depth", "include-stale", "max-nodes"]) {
  $(id).addEventListener("change", () => {
    readControls();
    showControls();
    writeHash(false);
    load();
  });
}
$("zoom-in").addEventListener("click", () => view.zoom(0.8));
$("zoom-out").addEventListener("click", () => view.zoom(1.25));
$("zoom-fit").addEventListener("click", () => view.fit());

window.addEventListener("popstate", () => {
  Object.assign(state, readHash());
  showControls();
  load();
});
window.addEventListener("hashchange", () => {
  const wanted = readHash();
  if (hashOf(wanted) === hashOf(state)) return;
  Object.assign(state, wanted);
  showControls();
  load();
});

Object.assign(state, readHash());
showControls();
showKeyNeeded();
if (storedKey()) refreshAll();
else askForKey("Enter an API key to use the explorer.");
document.body.dataset.ready = "true";
