// The explorer page: controls and URL hash -> queries -> drawing and panels.

import {
  ALERTS_SHOWN,
  ApiClient,
  ApiError,
  INSIGHTS,
  VIEW_INSIGHTS,
  forgetKey,
  storedKey,
  storeKey,
} from "./api.js";
import { graphOfImpact, impactMarks } from "./blast.js";
import { drawingPng, saveFile, standaloneSvg } from "./export.js";
import { edgeKey, graphOfAnswer } from "./graph.js";
import { changesInView, describeTime, fromLocalInput, parseTime, toLocalInput } from "./history.js";
import { DRIFT_KINDS, DRIFT_WORDS, driftCounts, driftOfEdges, teamsInView } from "./marks.js";
import {
  catalogLink,
  note,
  showAlerts,
  showAvailability,
  showChanges,
  showDetails,
  showImpact,
  showMember,
  showTeams,
} from "./panels.js";
import { FILTER_DEFAULTS, copyFilters, describeFilters, filterParams, readFilters, writeFilters } from "./filters.js";
import { OVERVIEW_DEFAULTS, GROUP_BY, copyOverview, overviewParams } from "./overview.js";
import { beginSignIn, currentToken, finishSignIn, forgetToken, signedInAs } from "./sign_in.js";
import { GraphView, moreNodes } from "./render.js";
import { Typeahead } from "./typeahead.js";

const $ = (id) => document.getElementById(id);
const DIRECTIONS = ["downstream", "upstream", "both"];
const DRIFT_FILTERS = ["show", "only", "hide"];
const BLAST_MODES = ["marked", "alone"];
const CHANGES_HINT =
  "Pick an earlier time and press Compare: what changed in the drawn subgraph from then " +
  "to the time drawn is listed here and marked on the graph.";

const state = {
  // "overview": the whole graph in groups (GET /graph/overview); "service": the
  // dependencies of `service`. The page opens in the overview when no service is named.
  mode: "overview",
  overview: copyOverview(OVERVIEW_DEFAULTS),
  // Applied before drawing in both views (filters.js): the server walks or aggregates
  // only what they keep.
  filters: copyFilters(FILTER_DEFAULTS),
  service: null,
  direction: "both",
  depth: 3,
  includeStale: false,
  maxNodes: 200,
  asOf: null, // RFC 3339 (with an offset): draw the graph as it was then; null: now
  since: null, // RFC 3339: mark what changed from then to the time drawn; null: nothing
  drift: "show", // drift marks: "show", "only" (fade the rest), "hide"; drawn, no request
  // The blast radius of the selected service on the picture: null (in the panel only),
  // "marked" (coloured on the drawing) or "alone" (its own drawing); no request.
  blast: null,
};
// What the drawing shows (a copy of the state it was asked with), once there is one: a
// view that cannot be shown (a time beyond the history, say) puts the controls and the
// URL back to it, so the page never shows one view's controls over another's drawing.
let shown = null;
let graph = null;
let loadGeneration = 0;
let insightGeneration = 0;
let alertGeneration = 0;
let retryAfterSignIn = null;
// The insights of the drawn root, which came with the subgraph (`include=`), so that
// selecting the root costs no request: {serviceId, view, answer}.
let rootInsights = null;
// The overview answer drawn, when the overview is: {answer, layout}.
let overview = null;
// The service view's drawing ({graph, changes}), kept while its blast radius is drawn
// alone, to go back to it without a request; and the blast radius in the panel
// ({serviceId, impact}).
let viewDrawing = null;
let impactShown = null;

// How this page signs people in (from /ui/config.json, read at start):
// "key": an API key pasted once per tab; "oidc": the issuer's sign-in (or a key);
// "proxy": the authenticating proxy in front named the person, nothing to ask;
// "open": the service asks for no credential (AUTH_ENABLED=false).
const signIn = { mode: "key", oidc: null, proxyUser: null, backstageUrl: null };

async function bearer() {
  if (signIn.mode === "oidc") return (await currentToken(signIn.oidc)) ?? storedKey();
  return signIn.mode === "key" ? storedKey() : null;
}

function hasCredential() {
  if (signIn.mode === "open" || signIn.mode === "proxy") return true;
  return Boolean(storedKey() || (signIn.mode === "oidc" && signedInAs()));
}

const api = new ApiClient({
  bearer,
  onUnauthorized: (error) => {
    forgetKey();
    forgetToken();
    showWho();
    askToSignIn(error.explain());
  },
});
const view = new GraphView($("graph"), {
  onSelect: select,
  onReroot: reroot,
  onMore: showMore,
  onGroup: toggleGroup,
});

function clamp(value, low, high, fallback) {
  const number = Number.parseInt(value, 10);
  return Number.isFinite(number) ? Math.min(Math.max(number, low), high) : fallback;
}

// --- URL hash: #service=checkout&direction=both&depth=3&stale=1&max=200 ---------------
// (&at=<time> when the graph drawn is a past one, &since=<time> when changes are marked;
// times in RFC 3339 with an offset, so that a link names the same instant anywhere).

function timeParam(params, name) {
  const text = params.get(name);
  return parseTime(text) ? text : null;
}

// The overview's: #view=overview&by=team&expand=checkout&expand=payments; the filters, in
// both views: &kind=service&team=a,b&criticality=high&source=manual&discovered=only
// &min_rate=5 (each only when set; filters.js).

function readOverviewHash(params) {
  return {
    groupBy: GROUP_BY.includes(params.get("by")) ? params.get("by") : "team",
    expand: params.getAll("expand").filter(Boolean),
  };
}

/** A copy of a page state (its objects copied too), to keep as what was asked or drawn. */
function copyState(s) {
  return { ...s, overview: copyOverview(s.overview), filters: copyFilters(s.filters) };
}

function readHash() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const service = params.get("service") || null;
  const mode = params.get("view") === "overview" || !service ? "overview" : "service";
  return {
    mode,
    // A service view's address says nothing of the overview: the one in memory stays.
    ...(mode === "overview" ? { overview: readOverviewHash(params) } : {}),
    filters: readFilters(params),
    service,
    direction: DIRECTIONS.includes(params.get("direction")) ? params.get("direction") : "both",
    depth: clamp(params.get("depth"), 1, 10, 3),
    includeStale: params.get("stale") === "1",
    maxNodes: clamp(params.get("max"), 1, 100000, 200),
    asOf: timeParam(params, "at"),
    since: timeParam(params, "since"),
    drift: DRIFT_FILTERS.includes(params.get("drift")) ? params.get("drift") : "show",
    blast: BLAST_MODES.includes(params.get("blast")) ? params.get("blast") : null,
  };
}

function hashOf(s) {
  const params = new URLSearchParams();
  if (s.mode === "overview") {
    const o = s.overview;
    params.set("view", "overview");
    params.set("by", o.groupBy);
    for (const id of o.expand) params.append("expand", id);
    writeFilters(params, s.filters);
    if (s.includeStale) params.set("stale", "1");
    if (s.asOf) params.set("at", s.asOf);
    // The service picked last, for the way back to its view.
    if (s.service) params.set("service", s.service);
    return `#${params}`;
  }
  if (s.service) params.set("service", s.service);
  params.set("direction", s.direction);
  params.set("depth", String(s.depth));
  if (s.includeStale) params.set("stale", "1");
  if (s.maxNodes !== 200) params.set("max", String(s.maxNodes));
  writeFilters(params, s.filters);
  if (s.asOf) params.set("at", s.asOf);
  if (s.since) params.set("since", s.since);
  if (s.drift !== "show") params.set("drift", s.drift);
  if (s.blast) params.set("blast", s.blast);
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
  $("as-of").value = toLocalInput(state.asOf);
  $("compare-since").value = toLocalInput(state.since);
  $("drift-filter").value = state.drift;
  view.setDriftFilter(state.drift);
  $("ov-group-by").value = state.overview.groupBy;
  const f = state.filters;
  $("filter-kind").value = f.kind;
  $("filter-team").value = f.team;
  $("filter-criticality").value = f.criticality;
  $("filter-source").value = f.source;
  $("filter-discovered").value = f.discovered;
  $("filter-min-rate").value = String(f.minRate);
  showMode();
}

/** The mode switch, the controls that belong to the mode, and the legends. */
function showMode() {
  const inOverview = state.mode === "overview";
  document.body.dataset.mode = state.mode;
  $("mode-overview").setAttribute("aria-pressed", String(inOverview));
  $("mode-service").setAttribute("aria-pressed", String(!inOverview));
  $("mode-service").disabled = !state.service;
  $("legend-overview").hidden = !inOverview;
}

function readFilterControls() {
  const rate = Number.parseFloat($("filter-min-rate").value);
  state.overview.groupBy = GROUP_BY.includes($("ov-group-by").value) ? $("ov-group-by").value : "team";
  state.filters = {
    kind: $("filter-kind").value,
    team: $("filter-team").value.trim(),
    criticality: $("filter-criticality").value,
    source: $("filter-source").value,
    discovered: $("filter-discovered").value,
    minRate: Number.isFinite(rate) && rate > 0 ? rate : 0,
  };
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

function explain(error, what) {
  return error instanceof ApiError ? error.explain(what) : `${what} failed: ${error}`;
}

function report(error, what) {
  if (error instanceof ApiError && error.status === 401) return; // the sign-in dialog asks
  setError(explain(error, what));
}

/** "checkoutservice as of 27 Nov 2026, 10:15:30 GMT+5:45" (or "… now"). */
function describeView(s) {
  const what = s.mode === "overview" ? `the overview by ${s.overview.groupBy}` : s.service;
  return `${what} ${s.asOf ? `as of ${describeTime(s.asOf)}` : "now"}`;
}

/** A view that could not be shown: say why, and keep the one drawn, controls and URL too. */
function refuse(error, what) {
  // On a 401 the sign-in dialog asks, then loads the state wanted once signed in.
  if (error instanceof ApiError && error.status === 401) return;
  setError(explain(error, what) + (shown ? ` Still showing ${describeView(shown)}.` : ""));
  if (!shown) return;
  Object.assign(state, copyState(shown));
  showControls();
  writeHash(false);
}

// --- signing in ------------------------------------------------------------------------

// Whenever the tab has no credential (the dialog closed with Escape, say), the page keeps
// a button that opens the dialog again, instead of an empty page.
function showKeyNeeded() {
  $("key-needed").hidden = hasCredential();
  if (signIn.mode !== "oidc") return;
  $("key-needed-text").textContent = "This tab is not signed in yet, so there is nothing to show.";
  $("key-needed-button").textContent = "Sign in";
  $("key-title").textContent = "Sign in";
}

/** The header's sign-in line: who is signed in, and the button that fits the mode. */
function showWho() {
  const who = signIn.mode === "proxy" ? signIn.proxyUser : signIn.mode === "oidc" ? signedInAs() : null;
  $("who").hidden = !who;
  $("who").textContent = who ? `Signed in as ${who}` : "";
  const button = $("key-button");
  button.hidden = signIn.mode === "proxy" || signIn.mode === "open";
  button.textContent = signIn.mode !== "oidc" ? "API key…" : who ? "Sign out" : "Sign in…";
}

function askToSignIn(reason, retry = refreshAll) {
  retryAfterSignIn = retry;
  showKeyNeeded();
  $("key-reason").textContent = reason;
  $("key-input").value = "";
  $("oidc-sign-in").hidden = signIn.mode !== "oidc";
  const dialog = $("key-dialog");
  if (!dialog.open) dialog.showModal();
  (signIn.mode === "oidc" ? $("oidc-button") : $("key-input")).focus();
}

$("key-form").addEventListener("submit", () => {
  const key = $("key-input").value.trim();
  if (!key) return;
  storeKey(key);
  showKeyNeeded();
  setError(null);
  const retry = retryAfterSignIn ?? refreshAll;
  retryAfterSignIn = null;
  retry();
});

$("oidc-button").addEventListener("click", () => {
  $("oidc-button").disabled = true;
  beginSignIn(signIn.oidc, hashOf(state)).catch((error) => {
    $("oidc-button").disabled = false;
    $("key-reason").textContent = `Signing in failed: ${error.message ?? error}`;
  });
});

$("key-dialog").addEventListener("close", showKeyNeeded);
$("key-needed-button").addEventListener("click", () =>
  askToSignIn(
    signIn.mode === "oidc" ? "Sign in to use the explorer." : "Enter an API key to use the explorer.",
    retryAfterSignIn ?? refreshAll,
  ),
);

$("key-button").addEventListener("click", () => {
  if (signIn.mode === "oidc" && signedInAs()) {
    forgetToken();
    forgetKey();
    showWho();
    askToSignIn("Signed out. Sign in again to go on.");
    return;
  }
  askToSignIn(
    signIn.mode === "oidc"
      ? "Sign in, or enter an API key."
      : "Enter another API key; it replaces the one in use for this tab.",
  );
});

// --- the graph ----------------------------------------------------------------------

async function load() {
  if (state.mode === "overview") {
    loadOverview();
    return;
  }
  if (!state.service) return;
  if (!hasCredential()) {
    askToSignIn(
      signIn.mode === "oidc" ? "Sign in to query the graph." : "Enter an API key to query the graph.",
      load,
    );
    return;
  }
  const generation = ++loadGeneration;
  const wanted = copyState(state);
  setStatus(`Loading ${describeView(wanted)}…`);
  setError(null);
  // The subgraph and the changes are asked together and shown together, or not at all.
  // The subgraph comes with its root's insights: one request draws the graph and fills
  // the panels.
  const parts = [
    [
      `The query of ${describeView(wanted)}`,
      api.subgraph(wanted.service, {
        direction: wanted.direction,
        depth: wanted.depth,
        includeStale: wanted.includeStale,
        maxNodes: wanted.maxNodes,
        asOf: wanted.asOf,
        include: wanted.asOf ? INSIGHTS : VIEW_INSIGHTS,
        filters: filterParams(wanted.filters),
      }),
    ],
    [
      `The comparison with ${describeTime(wanted.since)}`,
      wanted.since ? api.graphDiff(wanted.since, wanted.asOf) : null,
    ],
  ];
  const settled = await Promise.allSettled(parts.map(([, promise]) => promise));
  if (generation !== loadGeneration) return;
  const failed = settled.findIndex((outcome) => outcome.status === "rejected");
  if (failed >= 0) {
    setStatus("");
    refuse(settled[failed].reason, parts[failed][0]);
    return;
  }
  const [queried, diff] = settled.map((outcome) => outcome.value);
  showView(wanted, queried, diff);
}

// --- the overview ------------------------------------------------------------------------

/** The overview: one request (the grouping, the filters and the groups expanded). */
async function loadOverview() {
  if (!hasCredential()) {
    askToSignIn(
      signIn.mode === "oidc" ? "Sign in to see the graph." : "Enter an API key to see the graph.",
      load,
    );
    return;
  }
  const generation = ++loadGeneration;
  const wanted = copyState(state);
  setStatus(`Loading ${describeView(wanted)}…`);
  setError(null);
  let queried;
  try {
    queried = await api.overview(
      overviewParams(wanted.overview, wanted.filters, {
        includeStale: wanted.includeStale,
        asOf: wanted.asOf,
      }),
    );
  } catch (error) {
    if (generation !== loadGeneration) return;
    setStatus("");
    refuse(error, `The overview by ${wanted.overview.groupBy}`);
    return;
  }
  if (generation !== loadGeneration) return;
  showOverview(wanted, queried);
}

function showOverview(wanted, queried) {
  const { answer } = queried;
  const started = performance.now();
  const layout = view.drawOverview(answer);
  const drawMs = performance.now() - started;
  graph = null;
  rootInsights = null;
  viewDrawing = null;
  impactShown = null;
  overview = { answer, layout };
  shown = wanted;
  const svg = $("graph");
  svg.dataset.layoutMs = drawMs.toFixed(1);
  svg.dataset.revision = String(answer.revision);
  // The first frame with the drawing on screen (for the figures of docs/performance.md).
  requestAnimationFrame(() => {
    svg.dataset.paintedAt = performance.now().toFixed(1);
  });
  $("download-svg").disabled = false;
  $("download-png").disabled = false;
  $("drift-filter").disabled = true;
  $("drift-summary").textContent = "drift: in the service view";
  showTime(wanted, queried);
  showTeams($("legend-teams"), []);
  $("legend-changes").hidden = true;
  note($("changes"), "What changed is marked in the service view.");
  const t = answer.totals;
  const drawnGroups = answer.groups.length;
  $("graph-summary").textContent =
    `${drawnGroups} group${drawnGroups === 1 ? "" : "s"}` +
    (drawnGroups < t.groups ? ` of ${t.groups}` : "") +
    `, ${t.services} service${t.services === 1 ? "" : "s"}, ${t.edges} edge${t.edges === 1 ? "" : "s"}` +
    `; ${answer.nodes.length} drawn in ${new Set(answer.nodes.map((n) => n.group)).size} expanded`;
  const cut = [
    answer.truncated.groups ? `only the ${drawnGroups} largest of ${t.groups} groups are drawn` : null,
    answer.truncated.members
      ? `the expanded groups have more services than the ${answer.nodes.length} drawn (the rest stay folded in their group)`
      : null,
  ].filter(Boolean);
  $("truncated-banner").hidden = !cut.length;
  $("truncated-text").textContent = cut.length ? `The overview is cut: ${cut.join("; ")}.` : "";
  $("truncated-more").hidden = true;
  $("graph-caption").textContent =
    `Overview by ${wanted.overview.groupBy}: ${t.services} services in ${t.groups} groups` +
    `${filtersInWords(wanted)}${wanted.asOf ? `, as of ${describeTime(wanted.asOf)}` : ""}. ` +
    "Click (or Enter) a group to expand or collapse it; double-click a service for its dependencies.";
  setStatus(`Showing ${describeView(wanted)}.`);
  note($("details"), "Click a service of an expanded group.");
  note($("impact"), "Open a service's view for its blast radius.");
  note($("availability"), "Open a service's view for its availability ceiling.");
}

/** " (kind service, stale edges included)": the filters of a view, for its caption. */
function filtersInWords(s) {
  const said = [...describeFilters(s.filters), s.includeStale && "stale edges included"].filter(Boolean);
  return said.length ? ` (${said.join(", ")})` : "";
}

/** Expand a collapsed group, or collapse an expanded one: the overview asked again. */
function toggleGroup(groupId) {
  if (state.mode !== "overview" || !groupId) return;
  const expand = state.overview.expand;
  state.overview.expand = expand.includes(groupId)
    ? expand.filter((id) => id !== groupId)
    : [...expand, groupId];
  writeHash(true);
  load();
}

function switchMode(mode) {
  if (mode === "service" && !state.service) return;
  state.mode = mode;
  showControls();
  writeHash(true);
  load();
}

function showView(wanted, queried, diff) {
  $("truncated-more").hidden = false;
  $("drift-filter").disabled = false;
  overview = null;
  graph = graphOfAnswer(queried.answer, wanted.direction, wanted.maxNodes);
  graph.drift = driftOfEdges(queried.answer.drift ?? null, graph.edges);
  rootInsights = { serviceId: wanted.service, view: wanted, answer: queried.answer };
  const changes = diff ? changesInView(diff, graph, wanted) : null;
  viewDrawing = { graph, changes };
  impactShown = null;
  view.draw(graph, changes);
  shown = wanted;
  $("download-svg").disabled = false;
  $("download-png").disabled = false;
  showTruncation(graph);
  showSummary(graph);
  showDrift(graph);
  showTeams($("legend-teams"), teamsInView(graph.nodes.values()));
  showTime(wanted, queried);
  showChangesPanel(wanted, changes);
  $("graph-caption").textContent = captionOf(wanted);
  setStatus(`Showing ${describeView(wanted)}.`);
  select(wanted.service);
}

/** What a service view draws, in words. */
function captionOf(s) {
  return (
    `${s.direction} dependencies of ${s.service}, depth ${s.depth}` +
    `${filtersInWords(s)}` +
    `${s.asOf ? `, as of ${describeTime(s.asOf)}` : ""}` +
    `${s.since ? `; changes since ${describeTime(s.since)} marked` : ""}.`
  );
}

function showTruncation(drawn) {
  const banner = $("truncated-banner");
  banner.hidden = !drawn.truncated;
  $("truncated-text").textContent = drawn.truncated
    ? `Showing the ${drawn.maxNodes} closest of more than ${drawn.maxNodes} services. ` +
      "Raise Max nodes or lower Depth to see more."
    : "";
  $("truncated-more").textContent = `Show up to ${moreNodes(drawn.maxNodes)}`;
}

/** The "+ more" marker and the banner's button: the same view with twice the bound (one
 * request, a new history entry, so Back returns to the cut view). */
function showMore() {
  if (!shown) return;
  state.maxNodes = moreNodes(shown.maxNodes);
  showControls();
  writeHash(true);
  load();
}

function showSummary(drawn) {
  const nodeCount = drawn.nodes.size;
  $("graph-summary").textContent =
    `${nodeCount} service${nodeCount === 1 ? "" : "s"}, ${drawn.edges.length} edge` +
    `${drawn.edges.length === 1 ? "" : "s"}, ${view.layout.crossings} crossing` +
    `${view.layout.crossings === 1 ? "" : "s"}`;
}

/** The drift control: what the drawn edges drift, or why nothing is marked. */
function showDrift(drawn) {
  const { drift } = drawn;
  const counts = driftCounts(drift);
  const control = $("drift-filter");
  control.disabled = !drift.asked;
  const said = $("drift-summary");
  said.dataset.declaredOnly = String(counts.declared_only);
  said.dataset.observedOnly = String(counts.observed_only);
  said.dataset.mismatch = String(counts.mismatch);
  if (!drift.asked) {
    said.textContent = "drift: not judged for a past graph";
    return;
  }
  said.textContent =
    "drift: " +
    DRIFT_KINDS.map((kind) => `${counts[kind]} ${DRIFT_WORDS[kind].name}`).join(", ") +
    (drift.cut ? " (the first 1,000 drift items)" : "");
}

/** The past-time banner: the time the server says it answered for (else the one sent). */
function showTime(wanted, answered) {
  const past = Boolean(wanted.asOf);
  $("as-of-banner").hidden = !past;
  $("graph").classList.toggle("past", past);
  if (!past) return;
  const at = answered.asOf ?? wanted.asOf;
  const time = $("as-of-time");
  time.dateTime = at;
  time.textContent = describeTime(at);
  $("as-of-revision").textContent = answered.revision ? ` (graph revision ${answered.revision})` : "";
}

function showChangesPanel(wanted, changes) {
  $("legend-changes").hidden = !changes;
  if (!changes) {
    note($("changes"), CHANGES_HINT);
    return;
  }
  showChanges($("changes"), changes, {
    from: describeTime(wanted.since),
    to: wanted.asOf ? describeTime(wanted.asOf) : "now",
    drawn: (id) => graph.nodes.has(id),
    onPick: select,
  });
}

/** Select a service; with `target` (a drift badge's edge), bring that edge's row into
 * view in the panel. */
function select(serviceId, target = null) {
  if (state.mode === "overview" && overview) {
    const member = overview.answer.nodes.find((n) => n.service_id === serviceId);
    if (!member) return;
    view.select(serviceId);
    showMember($("details"), member, overview.answer.edges, { onOpen: reroot });
    return;
  }
  if (!graph || !graph.nodes.has(serviceId)) return;
  view.select(serviceId);
  showNodeDetails(serviceId);
  if (target) {
    const row = [...$("details").querySelectorAll(".edge-row")].find(
      (element) => element.dataset.source === serviceId && element.dataset.target === target,
    );
    row?.classList.add("focused");
    row?.scrollIntoView({ block: "nearest" });
  }
  loadInsights(serviceId);
}

/** The details panel of a drawn service: its facts and the drawn edges touching it. */
function showNodeDetails(serviceId) {
  const drift = graph.drift;
  showDetails($("details"), graph.nodes.get(serviceId), graph.edges, {
    onReroot: reroot,
    driftOf: (edge) => drift?.byEdge.get(edgeKey(edge.source, edge.target)),
    driftWindow: drift?.window,
  });
}

function reroot(serviceId) {
  if (!serviceId) return;
  state.mode = "service";
  state.service = serviceId;
  showMode();
  $("service-search").value = serviceId;
  writeHash(true);
  load();
}

// --- the blast radius on the picture (no request: the panel's answer is drawn) ---------

/**
 * The blast radius in the panel, and on the picture as state.blast says: marked on the
 * service view's drawing, or drawn alone (blast.graphOfImpact), or neither (the view's
 * drawing back, unmarked).
 */
function showBlast() {
  if (!impactShown || !viewDrawing) return;
  const { serviceId, impact } = impactShown;
  // Alone needs something to draw: an empty blast radius leaves the dependencies drawn.
  const alone = state.blast === "alone" && (impact.affected ?? []).length > 0;
  if (alone) drawForBlast(graphOfImpact(impact), null, serviceId);
  else if (graph !== viewDrawing.graph) drawForBlast(viewDrawing.graph, viewDrawing.changes, serviceId);
  const drawn = state.blast ? view.markImpact(impactMarks(impact)) : 0;
  if (!state.blast) view.clearImpact();
  showImpact($("impact"), impact, {
    onPick: select,
    blast: { mode: state.blast, drawn, onMode: setBlast },
  });
  $("graph-caption").textContent = alone
    ? `The blast radius of ${serviceId} alone: it and the ${graph.nodes.size - 1} affected ` +
      "services listed, with the paths that explain them (red: down, amber: degraded)."
    : captionOf(shown) +
      (state.blast ? ` The blast radius of ${serviceId} is marked (red: down, amber: degraded).` : "");
}

/** Draw `drawn` in place of what is drawn (the blast radius alone, or the view's own
 * drawing back), with the toolbar, the legend and `serviceId` selected to match. */
function drawForBlast(drawn, changes, serviceId) {
  const alone = drawn !== viewDrawing.graph;
  graph = drawn;
  view.draw(graph, changes);
  showSummary(graph);
  showTruncation(graph);
  showDrift(graph);
  if (alone) $("drift-summary").textContent = "drift: marked in the dependencies' drawing";
  showTeams($("legend-teams"), teamsInView(graph.nodes.values()));
  if (graph.nodes.has(serviceId)) {
    view.select(serviceId);
    showNodeDetails(serviceId);
  }
}

/** No blast radius on the picture while another one loads (or when it fails): the
 * view's own drawing, unmarked. */
function clearBlast() {
  impactShown = null;
  if (!viewDrawing) return;
  if (graph !== viewDrawing.graph) drawForBlast(viewDrawing.graph, viewDrawing.changes, null);
  view.clearImpact();
  $("graph-caption").textContent = captionOf(shown);
}

/** `mode`: the blast radius's place now; `pressed`: the button pressed, which keeps the
 * keyboard focus though the panel is drawn again. */
function setBlast(mode, pressed = null) {
  state.blast = BLAST_MODES.includes(mode) ? mode : null;
  if (shown) shown.blast = state.blast;
  writeHash(false);
  showBlast();
  if (pressed) $("impact").querySelector(`.blast-${pressed}`)?.focus();
}

/** The blast radius, the availability ceiling and the catalog link of a selected
 * service: from the subgraph's answer for the root, else one request. */
async function loadInsights(serviceId) {
  const generation = ++insightGeneration;
  const view = shown;
  const show = (answer) => {
    impactShown = { serviceId, impact: answer.impact };
    showBlast();
    showAvailability($("availability"), answer.availability);
    const service = answer.service_id === serviceId ? answer : answer.service;
    if (signIn.backstageUrl) catalogLink($("details"), signIn.backstageUrl, service);
  };
  if (rootInsights?.serviceId === serviceId && rootInsights.view === view) {
    show(rootInsights.answer);
    return;
  }
  clearBlast();
  note($("impact"), `Loading the blast radius of ${serviceId}…`);
  note($("availability"), `Loading the availability ceiling of ${serviceId}…`);
  try {
    const answer = await api.insights(serviceId, {
      includeStale: view.includeStale,
      asOf: view.asOf,
    });
    if (generation === insightGeneration) show(answer);
  } catch (error) {
    if (generation !== insightGeneration) return;
    if (error instanceof ApiError && error.status === 429) report(error, "The blast radius");
    for (const [id, what] of [
      ["impact", "The blast radius"],
      ["availability", "The availability ceiling"],
    ]) {
      note($(id), error instanceof ApiError ? error.explain(what) : String(error), "error");
    }
  }
}

// --- circular-dependency alerts -------------------------------------------------------

async function loadAlerts() {
  if (!hasCredential()) return;
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
        "Acknowledging needs the write scope; you have read only. " + error.detail;
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
  search: (text) => api.searchServices(text, 20, state.asOf),
  onPick: (serviceId) => {
    readControls();
    reroot(serviceId);
  },
  onError: (error) => report(error, "The search"),
});

$("controls").addEventListener("submit", (event) => event.preventDefault());
$("filter-controls").addEventListener("submit", (event) => event.preventDefault());
$("mode-overview").addEventListener("click", () => switchMode("overview"));
$("mode-service").addEventListener("click", () => switchMode("service"));
// Each change of the grouping or of a filter is one request, in either view (a text field
// on Enter or when it loses the focus, not per key).
const FILTER_CONTROLS = ["kind", "team", "criticality", "source", "discovered", "min-rate"].map((name) => `filter-${name}`);
for (const id of ["ov-group-by", ...FILTER_CONTROLS]) {
  $(id).addEventListener("change", () => {
    readFilterControls();
    // Groups of another grouping are other groups: none stays expanded.
    if (id === "ov-group-by") state.overview.expand = [];
    writeHash(false);
    load();
  });
}
for (const id of ["direction", "depth", "include-stale", "max-nodes"]) {
  $(id).addEventListener("change", () => {
    readControls();
    showControls();
    writeHash(false);
    load();
  });
}

// --- the time drawn, and the time compared with ----------------------------------------
// A datetime-local input changes field by field as a person types, so a time is applied
// by its button (or Enter), never on each change: no request for a half-typed year.

function showGraphAt(asOf, since = state.since) {
  state.asOf = asOf;
  state.since = since;
  showControls();
  writeHash(false);
  load();
}

/** Applies the time in a datetime-local input (null when empty); an incomplete time is
 * not applied, and the page says why. */
function applyTime(input, what, apply) {
  if (input.validity.badInput) {
    setError(`${what}: enter a complete date and time, or clear the field.`);
    return;
  }
  apply(fromLocalInput(input.value));
}

const applyAsOf = () => applyTime($("as-of"), "Graph at", (time) => showGraphAt(time));
const applySince = () =>
  applyTime($("compare-since"), "Compare since", (time) => showGraphAt(state.asOf, time));

function onEnter(input, action) {
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    action();
  });
}

$("as-of-show").addEventListener("click", applyAsOf);
onEnter($("as-of"), applyAsOf);
$("as-of-now").addEventListener("click", () => showGraphAt(null));
$("compare-show").addEventListener("click", applySince);
onEnter($("compare-since"), applySince);
$("compare-clear").addEventListener("click", () => showGraphAt(state.asOf, null));
$("as-of-banner-now").addEventListener("click", () => showGraphAt(null));
// From the past to now, marking what changed since the time that was drawn.
$("as-of-banner-compare").addEventListener("click", () => showGraphAt(null, shown.asOf));

// Drift marks are drawn with every view of now: showing, fading the rest or hiding them
// changes the drawing only (no request).
$("drift-filter").addEventListener("change", () => {
  state.drift = DRIFT_FILTERS.includes($("drift-filter").value) ? $("drift-filter").value : "show";
  if (shown) shown.drift = state.drift;
  view.setDriftFilter(state.drift);
  writeHash(false);
});

// --- saving the drawing (no request: what is drawn is saved) ----------------------------

/** "slo-engine-checkoutservice-both-depth3.svg" (ids may hold characters no file name
 * should). */
function fileName(extension) {
  const safe = (text) => text.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120);
  const past = shown.asOf ? `-at-${safe(shown.asOf)}` : "";
  if (viewDrawing && graph !== viewDrawing.graph) {
    return `slo-engine-blast-radius-${safe(graph.root.service_id)}${past}.${extension}`;
  }
  if (shown.mode === "overview") return `slo-engine-overview-by-${shown.overview.groupBy}${past}.${extension}`;
  return `slo-engine-${safe(shown.service)}-${shown.direction}-depth${shown.depth}${past}.${extension}`;
}

$("download-svg").addEventListener("click", () => {
  if (!shown || !view.bounds) return;
  const text = standaloneSvg($("graph"), view.bounds);
  saveFile(new Blob([text], { type: "image/svg+xml" }), fileName("svg"));
});

$("download-png").addEventListener("click", async () => {
  if (!shown || !view.bounds) return;
  const name = fileName("png");
  try {
    saveFile(await drawingPng($("graph"), view.bounds), name);
  } catch (error) {
    setError(`Saving the PNG failed: ${error.message ?? error}`);
  }
});

$("truncated-more").addEventListener("click", showMore);

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

/** How to sign in, from the service; a service too old to say means API keys. */
async function readConfig() {
  try {
    const response = await fetch("config.json", { cache: "no-store", credentials: "same-origin" });
    if (!response.ok) return;
    const config = await response.json();
    signIn.backstageUrl = config.backstage_url ?? null;
    if (!config.auth) signIn.mode = "open";
    else if (config.proxy_user) {
      signIn.mode = "proxy";
      signIn.proxyUser = config.proxy_user;
    } else if (config.oidc) {
      signIn.mode = "oidc";
      signIn.oidc = config.oidc;
    } else if (config.oidc_unavailable) {
      setError(`Signing in through your organisation is unavailable: ${config.oidc_unavailable}`);
    }
  } catch {
    // Unreachable or not JSON: the page works with API keys, as before.
  }
}

async function start() {
  await readConfig();
  if (signIn.mode === "proxy") api.cookies = true; // the proxy's session cookie
  if (signIn.mode === "oidc") {
    try {
      await finishSignIn(signIn.oidc);
    } catch (error) {
      setError(`Signing in failed: ${error.message ?? error}`);
    }
  }
  Object.assign(state, readHash());
  showControls();
  // A short window keeps its height for the drawing: the legend starts folded.
  if (window.innerHeight < 860) $("legend").open = false;
  // An address without a service opens the overview: say so in it (to bookmark, Back).
  if (state.mode === "overview") writeHash(false);
  showWho();
  showKeyNeeded();
  if (hasCredential()) refreshAll();
  else askToSignIn(signIn.mode === "oidc" ? "Sign in to use the explorer." : "Enter an API key to use the explorer.");
  document.body.dataset.ready = "true";
}

start();
