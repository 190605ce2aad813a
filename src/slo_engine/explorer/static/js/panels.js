// The side panels: details of the selected service, its blast radius, its availability
// ceiling, and the open circular-dependency alerts. Each function fills one container.

import { teamRows } from "./blast.js";
import { h, put, s } from "./elements.js";
import { labelText } from "./layout.js";
import { DRIFT_WORDS, describeDrift } from "./marks.js";

const dash = "—";

export function formatNumber(value, digits = 2) {
  return value === null || value === undefined ? dash : Number(value).toFixed(digits);
}

export function formatPercent(value, digits = 2) {
  return value === null || value === undefined ? dash : `${(value * 100).toFixed(digits)} %`;
}

export function formatWhen(iso) {
  if (!iso) return dash;
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  const ago =
    seconds < 90
      ? `${Math.max(0, Math.round(seconds))} s ago`
      : seconds < 5400
        ? `${Math.round(seconds / 60)} min ago`
        : seconds < 172800
          ? `${Math.round(seconds / 3600)} h ago`
          : `${Math.round(seconds / 86400)} days ago`;
  return h("time", { datetime: iso, title: iso }, ago);
}

function row(term, value) {
  return [h("dt", {}, term), h("dd", {}, value ?? dash)];
}

/** A message in a panel (loading, nothing yet, an error). */
export function note(container, text, kind = "info") {
  put(container, h("p", { class: `note ${kind}`, role: kind === "error" ? "alert" : null }, text));
}

/**
 * The selected service and every drawn edge touching it; `driftOf(edge)`: the edge's
 * drift mark (marks.driftOfEdges), listed with its evidence; `driftWindow`: its hours.
 */
export function showDetails(container, node, edges, { onReroot, driftOf = () => null, driftWindow = null }) {
  const side = node.root
    ? "the root"
    : `${node.side === "down" ? "downstream" : "upstream"}, ${node.distance} hop${node.distance === 1 ? "" : "s"} away`;
  const touching = edges.filter((e) => e.source === node.service_id || e.target === node.service_id);
  const list = h(
    "ul",
    { class: "edge-list" },
    touching.map((e) => {
      const a = e.attributes ?? {};
      const outgoing = e.source === node.service_id;
      const label =
        e.source === e.target ? `↻ ${e.target}` : outgoing ? `→ ${e.target}` : `← ${e.source}`;
      const mode = [a.communication_mode ?? "mode unknown", a.protocol].filter(Boolean).join(" / ");
      const drift = driftOf(e);
      return h(
        "li",
        {
          class: ["edge-row", e.is_stale && "stale", drift && "drifting"],
          "data-source": e.source,
          "data-target": e.target,
          "data-drift": drift?.kind,
        },
        h(
          "div",
          { class: "edge-head" },
          h("span", { class: "edge-name" }, label),
          " ",
          h("span", { class: `criticality ${a.criticality ?? "unknown"}` }, a.criticality ?? "criticality unknown"),
          ` · ${mode}`,
          e.is_stale ? h("span", { class: "stale-tag" }, " · stale") : null,
        ),
        h(
          "div",
          { class: "edge-facts" },
          h("span", { class: "sources", title: "Discovery sources" }, (e.discovery_sources ?? []).join(", ")),
          " · ",
          a.request_rate == null && a.error_rate == null && a.latency_p95_ms == null
            ? h("span", { class: "no-traffic" }, "no traffic figures")
            : [
                h("span", { class: "request-rate", title: "Observed requests per second" }, formatNumber(a.request_rate, 1)),
                " req/s · ",
                h("span", { class: "error-rate", title: "Observed error rate" }, formatPercent(a.error_rate, 2)),
                " errors · p95 ",
                h(
                  "span",
                  { class: "latency", title: "Observed p95 latency" },
                  a.latency_p95_ms == null ? dash : `${formatNumber(a.latency_p95_ms, 0)} ms`,
                ),
              ],
          " · seen ",
          formatWhen(e.last_observed_at),
          " · stale: ",
          h("span", { class: "stale-flag" }, e.is_stale ? "yes" : "no"),
        ),
        drift
          ? h(
              "div",
              { class: ["edge-drift", drift.kind] },
              h("span", { class: ["drift-tag", drift.kind] }, DRIFT_WORDS[drift.kind].glyph),
              " ",
              describeDrift(drift, driftWindow),
            )
          : null,
      );
    }),
  );
  put(
    container,
    h("h3", { class: "service-id" }, node.service_id),
    h(
      "dl",
      { class: "facts" },
      row("Display name", node.display_name),
      row("Team", node.team),
      row("Criticality", node.criticality),
      row("Discovered only", node.discovered ? "yes (named by edges, never declared)" : "no"),
      row("Position", side),
    ),
    node.root
      ? null
      : h("button", { type: "button", class: "reroot", onclick: () => onReroot(node.service_id) }, "Re-root here"),
    h("h4", {}, `Edges drawn (${touching.length})`),
    touching.length ? list : h("p", { class: "note" }, "No drawn edge."),
  );
}

/**
 * The Backstage catalog path of a service: its entity ref as the Backstage source
 * recorded it (metadata.backstage.entity_ref), else `component:default/<service id>`,
 * the mapping the Backstage plugin uses (docs/backstage.md).
 *
 * Example: {service_id: "cart"} -> "/catalog/default/component/cart".
 */
export function catalogPath(service) {
  const recorded = service.metadata?.backstage?.entity_ref;
  const ref = typeof recorded === "string" ? recorded : `component:default/${service.service_id}`;
  const [kind, rest] = ref.includes(":") ? ref.split(/:(.*)/s, 2) : ["component", ref];
  const [namespace, name] = rest.includes("/") ? rest.split(/\/(.*)/s, 2) : ["default", rest];
  const part = (text) => encodeURIComponent(text);
  return `/catalog/${part(namespace)}/${part(kind.toLowerCase())}/${part(name)}`;
}

/** Adds a link to the service's Backstage entity to the details panel (once). */
export function catalogLink(container, backstageUrl, service) {
  container.querySelector(".catalog-link")?.remove();
  container.append(
    h(
      "p",
      { class: "catalog-link" },
      h(
        "a",
        {
          href: backstageUrl.replace(/\/+$/, "") + catalogPath(service),
          target: "_blank",
          rel: "noopener noreferrer",
        },
        "Open in Backstage ↗",
      ),
    ),
  );
}

// The bar charts' geometry, in the SVG's own units (it scales to the panel's width).
const CHART = { width: 400, label: 120, bar: 140, row: 18 };

/** One row of a bar chart: its label, a track, the bars ([class, length 0..1]) and text. */
function barRow(index, label, bars, text, attributes) {
  let x = CHART.label;
  return s(
    "g",
    { class: "bar-row", transform: `translate(0,${index * CHART.row + 2})`, ...attributes },
    s("text", { class: "bar-label", x: 0, y: 12 }, labelText(label, 17)),
    s("rect", { class: "bar-track", x: CHART.label, y: 3, width: CHART.bar, height: 11 }),
    bars.map(([name, share]) => {
      const width = Math.max(0, share) * CHART.bar;
      const bar = s("rect", { class: ["bar", name], x, y: 3, width, height: 11 });
      x += width;
      return bar;
    }),
    s("text", { x: CHART.label + CHART.bar + 6, y: 12 }, text),
    s("title", {}, `${label}: ${text}`),
  );
}

/** A bar chart of `rows` (barRow); `label` with the rows' own words is what a screen
 * reader reads of it (an image's parts are not read). */
function barChart(name, label, rows, said) {
  return s(
    "svg",
    {
      class: ["bar-chart", name],
      viewBox: `0 0 ${CHART.width} ${rows.length * CHART.row + 4}`,
      role: "img",
      "aria-label": `${label}: ${said.join("; ")}.`,
    },
    rows,
  );
}

/** The blast radius by team: a bar per team, its down and its degraded services. */
function teamChart(totals) {
  const { rows, more, largest } = teamRows(totals);
  if (!rows.length) return null;
  const said = rows.map((row) => `${row.down} down, ${row.degraded} degraded`);
  return [
    h("h4", {}, "By team"),
    barChart(
      "team-chart",
      "Affected services by team",
      rows.map((row, index) =>
        barRow(
          index,
          row.team ?? "no team",
          [
            ["down", row.down / largest],
            ["degraded", row.degraded / largest],
          ],
          said[index],
          { "data-team": row.team ?? "", "data-down": row.down, "data-degraded": row.degraded },
        ),
      ),
      rows.map((row, index) => `${row.team ?? "no team"}: ${said[index]}`),
    ),
    more ? h("p", { class: "note" }, `and ${more} more team${more === 1 ? "" : "s"}`) : null,
  ];
}

/**
 * The blast radius: who goes down or degrades when the service fails. With `blast`
 * ({mode: null | "marked" | "alone", drawn, onMode(mode, pressed)}), the buttons that put it on
 * the graph: marked on the drawing, or drawn alone (the failed service and every
 * affected service listed, with the paths that explain them); `drawn`: how many of the
 * affected services the drawing shows.
 */
export function showImpact(container, answer, { onPick, blast = null }) {
  const totals = answer.totals ?? {};
  const affected = answer.affected ?? [];
  const failed = answer.service?.service_id ?? "it";
  const summary = h(
    "p",
    {
      class: "impact-summary",
      "data-affected": totals.affected ?? affected.length,
      "data-down": totals.down ?? 0,
      "data-degraded": totals.degraded ?? 0,
    },
    h("strong", {}, String(totals.affected ?? affected.length)),
    ` service${(totals.affected ?? affected.length) === 1 ? "" : "s"} affected if ${failed} fails: `,
    h("span", { class: "down" }, `${totals.down ?? 0} down`),
    ", ",
    h("span", { class: "degraded" }, `${totals.degraded ?? 0} degraded`),
    ` (depth ${answer.depth ?? "?"}${answer.include_stale ? ", stale edges included" : ""}).`,
  );
  const toggle = (mode, text, title) =>
    h(
      "button",
      {
        type: "button",
        class: ["secondary", `blast-${mode}`],
        "aria-pressed": String(blast.mode === mode),
        title,
        onclick: () => blast.onMode(blast.mode === mode ? null : mode, mode),
      },
      text,
    );
  // Shown while it is on the picture, even for an empty blast radius: the way back.
  const actions =
    blast && (affected.length || blast.mode)
      ? h(
          "div",
          { class: "impact-actions", role: "group", "aria-label": "The blast radius on the graph" },
          toggle("marked", "Mark on the graph", `Colour what ${failed}'s failure takes down or degrades in the drawing`),
          toggle("alone", "Draw it alone", `Draw ${failed} and every affected service listed, with the paths that explain them`),
        )
      : null;
  const drawnLine =
    blast?.mode && affected.length
      ? h(
          "p",
          { class: "impact-drawn", "data-drawn": blast.drawn, "data-listed": affected.length },
          `${blast.drawn} of the ${affected.length} affected services listed are in the drawing` +
            (blast.mode === "marked" && blast.drawn < affected.length ? "; Draw it alone shows them all." : "."),
        )
      : null;
  const list = h(
    "ol",
    { class: "affected" },
    affected.map((a) =>
      h(
        "li",
        { class: ["affected-service", a.impact], "data-service-id": a.service_id },
        h(
          "button",
          { type: "button", class: "link", onclick: () => onPick(a.service_id), title: "Select in the graph" },
          a.service_id,
        ),
        ` ${a.impact}, ${a.distance} hop${a.distance === 1 ? "" : "s"}`,
        a.path?.length ? h("div", { class: "path" }, a.path.join(" → ")) : null,
      ),
    ),
  );
  const listed =
    affected.length < (totals.affected ?? 0)
      ? h("p", { class: "note" }, `Listing the ${affected.length} worst hit of ${totals.affected}.`)
      : null;
  put(
    container,
    summary,
    actions,
    drawnLine,
    teamChart(totals),
    listed,
    affected.length ? list : h("p", { class: "note" }, "Nothing depends on it: no blast radius."),
  );
}

/** "99.950 % (+0.040 %)": the ceiling without a limiting unit, and how much it gains. */
function limitText(limit) {
  return limit.ceiling_without == null
    ? `factor ${formatNumber(limit.factor, 5)}`
    : `${formatPercent(limit.ceiling_without, 3)} (+${formatPercent(limit.cost, 3)})`;
}

/**
 * The availability ceiling: the product of what the service hard-depends on; the units
 * that limit it most as bars (how much the ceiling would rise without each), the
 * arithmetic and the factors behind toggles.
 */
export function showAvailability(container, answer) {
  const limiting = (answer.limiting ?? []).slice(0, 5);
  const soft = answer.if_soft_were_hard;
  const largest = Math.max(...limiting.map((l) => l.cost ?? 0), Number.MIN_VALUE);
  put(
    container,
    h(
      "p",
      { class: "ceiling", "data-ceiling": answer.ceiling, "data-dependencies": answer.dependencies },
      h("strong", { class: "ceiling-value" }, formatPercent(answer.ceiling, 3)),
      answer.nines == null ? "" : ` (${formatNumber(answer.nines, 1)} nines)`,
      answer.dependencies == null
        ? ""
        : `, through ${answer.dependencies} hard dependenc${answer.dependencies === 1 ? "y" : "ies"}`,
    ),
    limiting.length
      ? [
          h("h4", {}, "What limits it most (the ceiling without each)"),
          barChart(
            "limit-chart",
            "The dependencies that limit the ceiling most",
            limiting.map((l, index) =>
              barRow(
                index,
                (l.members ?? []).join(", "),
                [["limit", (l.cost ?? 0) / largest]],
                limitText(l),
                { "data-members": (l.members ?? []).join(","), "data-cost": l.cost },
              ),
            ),
            limiting.map((l) => `without ${(l.members ?? []).join(", ")}: ${limitText(l)}`),
          ),
        ]
      : null,
    soft && soft.ceiling != null
      ? h(
          "p",
          { class: "soft-as-hard" },
          `If its soft dependencies were hard: ${formatPercent(soft.ceiling, 3)}` +
            (soft.dependencies == null ? "" : ` (${soft.dependencies} dependencies)`),
        )
      : null,
    answer.arithmetic
      ? h(
          "details",
          { class: "arithmetic-toggle" },
          h("summary", {}, "The arithmetic"),
          h("p", { class: "arithmetic" }, answer.arithmetic),
        )
      : null,
    (answer.terms ?? []).length
      ? h(
          "details",
          { class: "terms" },
          h("summary", {}, `Factors (${answer.terms.length})`),
          h(
            "table",
            { class: "edges-table" },
            h(
              "thead",
              {},
              h("tr", {}, ["Service", "Factor", "From"].map((title) => h("th", { scope: "col" }, title))),
            ),
            h(
              "tbody",
              {},
              answer.terms.map((term) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, term.service_id),
                  h("td", {}, formatNumber(term.factor, 5)),
                  h("td", {}, term.factor_source),
                ),
              ),
            ),
          ),
        )
      : null,
    (answer.notes ?? []).length
      ? h("ul", { class: "notes" }, answer.notes.map((n) => h("li", {}, n)))
      : null,
  );
}

/** Open circular-dependency alerts, each with Show and Acknowledge. */
export function showAlerts(container, alerts, { more = false, onShow, onAcknowledge }) {
  if (!alerts.length) {
    note(container, "No open circular dependency.");
    return;
  }
  put(
    container,
    h(
      "ul",
      { class: "alerts" },
      alerts.map((alert) => {
        const message = h("p", { class: "alert-message", role: "status" });
        return h(
          "li",
          { class: "alert", "data-alert-id": alert.alert_id },
          h("div", { class: "cycle-path" }, alert.cycle_path.join(" → ")),
          h(
            "div",
            { class: "alert-meta" },
            `${alert.members.length} service${alert.members.length === 1 ? "" : "s"}, first seen `,
            formatWhen(alert.first_detected_at),
          ),
          h(
            "div",
            { class: "alert-actions" },
            h("button", { type: "button", class: "show", onclick: () => onShow(alert) }, "Show"),
            h(
              "button",
              {
                type: "button",
                class: "acknowledge",
                onclick: (event) => onAcknowledge(alert, message, event.currentTarget),
              },
              "Acknowledge",
            ),
          ),
          message,
        );
      }),
    ),
    more
      ? h(
          "p",
          { class: "note more-alerts" },
          `More open circular dependencies than the ${alerts.length} shown (the newest). ` +
            "GET /api/v1/circular-dependencies?status=open pages through them all.",
        )
      : null,
  );
}

// --- what changed -------------------------------------------------------------------

const CHANGE_KINDS = ["added", "removed", "changed"];

function formatValue(value) {
  if (value === null || value === undefined) return dash;
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** "criticality hard → soft, protocol — → grpc": the fields a change lists. */
function fieldChanges(changes) {
  return Object.entries(changes)
    .map(([name, { old, new: now }]) => `${name} ${formatValue(old)} → ${formatValue(now)}`)
    .join(", ");
}

/** What the reports of one changed pair say, source by source. */
function reportFacts(change) {
  const sources = (reports) => reports.map((r) => r.discovery_source).join(", ");
  if (change.status === "added") return `reported by ${sources(change.added)}`;
  if (change.status === "removed") return `was reported by ${sources(change.removed)}`;
  return [
    change.added.length ? `now also reported by ${sources(change.added)}` : null,
    change.removed.length ? `no longer reported by ${sources(change.removed)}` : null,
    ...change.changed.map((r) => `${r.discovery_source}: ${fieldChanges(r.changes)}`),
  ]
    .filter(Boolean)
    .join("; ");
}

function edgeChangeItem(change) {
  return h(
    "li",
    {
      class: ["change", "edge-change", change.status],
      "data-source": change.source,
      "data-target": change.target,
    },
    h("span", { class: "edge-name" }, `${change.source} → ${change.target}`),
    h("div", { class: "change-facts" }, reportFacts(change)),
  );
}

function serviceChangeItem(id, { status, entry }, { drawn, onPick }) {
  return h(
    "li",
    { class: ["change", "service-change", status], "data-service-id": id },
    drawn(id)
      ? h(
          "button",
          { type: "button", class: "link", onclick: () => onPick(id), title: "Select in the graph" },
          id,
        )
      : h("span", { class: "edge-name" }, id),
    status === "changed" ? h("div", { class: "change-facts" }, fieldChanges(entry.changes)) : null,
  );
}

function cycleItem(kind, cycle) {
  return h(
    "li",
    { class: ["change", "cycle-change", kind] },
    h("span", { class: "cycle-path" }, cycle.cycle_path.join(" → ")),
  );
}

/** A titled list, or nothing when there is nothing to list. */
function changeSection(title, items) {
  if (!items.length) return null;
  return [h("h4", {}, `${title} (${items.length})`), h("ul", { class: "change-list" }, items)];
}

/**
 * The what-changed panel: the part of a diff in the drawn subgraph (history.changesInView),
 * from `from` to `to` (both already worded for a person). `drawn(id)`: whether a service is
 * in the graph (those can be picked: `onPick(id)`).
 */
export function showChanges(container, changes, { from, to, drawn, onPick }) {
  const edges = [...changes.edges.values()];
  const services = [...changes.services];
  const edgesOf = (status) => edges.filter((c) => c.status === status);
  const counts = Object.fromEntries(CHANGE_KINDS.map((status) => [status, edgesOf(status).length]));
  const { opened, resolved } = changes.cycles;
  const nothing = !edges.length && !services.length && !opened.length && !resolved.length;
  put(
    container,
    h(
      "p",
      {
        class: "changes-summary",
        "data-added": counts.added,
        "data-removed": counts.removed,
        "data-changed": counts.changed,
      },
      `From ${from} to ${to}, in the drawn subgraph: `,
      nothing
        ? "nothing changed."
        : `${counts.added} edge${counts.added === 1 ? "" : "s"} added, ${counts.removed} removed, ` +
            `${counts.changed} changed; ${services.length} service${services.length === 1 ? "" : "s"} ` +
            "added, removed or changed.",
    ),
    changes.truncated
      ? h(
          "p",
          { class: "note error" },
          "The whole graph's changes were cut at 10,000 per list: some may be missing here.",
        )
      : null,
    CHANGE_KINDS.flatMap((status) =>
      changeSection(`Edges ${status}`, edgesOf(status).map(edgeChangeItem)),
    ),
    CHANGE_KINDS.flatMap((status) =>
      changeSection(
        `Services ${status}`,
        services
          .filter(([, change]) => change.status === status)
          .map(([id, change]) => serviceChangeItem(id, change, { drawn, onPick })),
      ),
    ),
    changeSection("Cycles opened", opened.map((c) => cycleItem("opened", c))),
    changeSection("Cycles resolved", resolved.map((c) => cycleItem("resolved", c))),
  );
}

/** The teams of the drawn services, each with its colour (the stripe on their boxes). */
export function showTeams(container, teams) {
  container.hidden = !teams.length;
  put(
    container,
    teams.length ? h("span", { class: "legend-title" }, "Teams in view:") : null,
    teams.map(([team, colour]) =>
      h(
        "span",
        { class: "team-entry", "data-team": team, "data-colour": colour },
        // An SVG swatch: its fill is an attribute (the page's policy allows no inline style).
        s(
          "svg",
          { class: "team-swatch", width: 10, height: 14, viewBox: "0 0 10 14", "aria-hidden": "true" },
          s("rect", { width: 10, height: 14, rx: 2, fill: colour }),
        ),
        team,
      ),
    ),
  );
}

/**
 * A service of an expanded group in the overview: what the overview answer says of it
 * (no request), the edges drawn from and to it, and a button to its dependencies.
 */
export function showMember(container, node, edges, { onOpen }) {
  const end = (group, service) => service ?? `${group} (group)`;
  const touching = edges.filter((e) => e.source === node.service_id || e.target === node.service_id);
  put(
    container,
    h("h3", { class: "service-id" }, node.service_id),
    h(
      "dl",
      { class: "facts overview-facts" },
      row("Display name", node.display_name),
      row("Group", node.group),
      row("Team", node.team),
      row("Kind", node.kind),
      row("Criticality", node.criticality),
      row("Discovered only", node.discovered ? "yes (named by edges, never declared)" : "no"),
      row("Requests in and out", node.request_rate == null ? null : `${formatNumber(node.request_rate, 1)} req/s`),
      row("On a cycle", node.in_cycle ? "yes" : "no"),
    ),
    h(
      "button",
      { type: "button", class: "open-service", onclick: () => onOpen(node.service_id) },
      "Show its dependencies",
    ),
    h("h4", {}, `Edges drawn (${touching.length})`),
    touching.length
      ? h(
          "ul",
          { class: "edge-list" },
          touching.map((e) =>
            h(
              "li",
              { class: "edge-row" },
              h(
                "span",
                { class: "edge-name" },
                e.source === node.service_id ? `→ ${end(e.target_group, e.target)}` : `← ${end(e.source_group, e.source)}`,
              ),
              ` · ${e.edges} edge${e.edges === 1 ? "" : "s"}`,
              e.request_rate == null ? "" : ` · ${formatNumber(e.request_rate, 1)} req/s`,
              e.error_rate == null ? "" : ` · worst ${formatPercent(e.error_rate)} errors`,
            ),
          ),
        )
      : h("p", { class: "note" }, "No drawn edge."),
  );
}
