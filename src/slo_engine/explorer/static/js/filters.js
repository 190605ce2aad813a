// The filters the page applies before drawing, in both views: the kind, team, criticality,
// discovery source, declared or discovered services, and a floor on the request rate.
// The server applies them (the subgraph walk does not cross what they leave out; the
// overview aggregates what they keep: docs/identity.md "Filters"), so what is drawn is
// exactly an answer. Pure: no DOM, no fetch.

export const FILTER_DEFAULTS = Object.freeze({
  kind: "",
  team: "", // comma-separated
  criticality: "",
  source: "",
  discovered: "", // "": both; "only": discovered only; "declared": declared only
  minRate: 0,
});

const DISCOVERED = ["only", "declared"];

/** A fresh copy of filters, every field present. */
export function copyFilters(filters) {
  return { ...FILTER_DEFAULTS, ...filters };
}

/** Whether any filter is set. */
export function filtering(filters) {
  const f = copyFilters(filters);
  return Boolean(f.kind || f.team || f.criticality || f.source || f.discovered || f.minRate > 0);
}

/** "a, b ,,c" -> "a,b,c" (null when empty). */
function teamList(text) {
  return (
    text
      .split(",")
      .map((team) => team.trim())
      .filter(Boolean)
      .join(",") || null
  );
}

/** The query parameters of the filters, as the subgraph, overview and impact reads take
 * them (null: not sent). */
export function filterParams(filters) {
  const f = copyFilters(filters);
  return {
    kind: f.kind || null,
    team: teamList(f.team),
    criticality: f.criticality || null,
    discovery_source: f.source || null,
    discovered: f.discovered === "only" ? "true" : f.discovered === "declared" ? "false" : null,
    min_request_rate: f.minRate > 0 ? f.minRate : null,
  };
}

/** The filters a page address names (URLSearchParams): `kind`, `team`, `criticality`,
 * `source`, `discovered` (only|declared), `min_rate`. */
export function readFilters(params) {
  const rate = Number.parseFloat(params.get("min_rate") ?? "0");
  return {
    kind: params.get("kind") ?? "",
    team: params.get("team") ?? "",
    criticality: params.get("criticality") ?? "",
    source: params.get("source") ?? "",
    discovered: DISCOVERED.includes(params.get("discovered")) ? params.get("discovered") : "",
    minRate: Number.isFinite(rate) && rate > 0 ? rate : 0,
  };
}

/** Adds the filters set to a page address (URLSearchParams), the inverse of readFilters. */
export function writeFilters(params, filters) {
  const f = copyFilters(filters);
  if (f.kind) params.set("kind", f.kind);
  if (f.team) params.set("team", f.team);
  if (f.criticality) params.set("criticality", f.criticality);
  if (f.source) params.set("source", f.source);
  if (f.discovered) params.set("discovered", f.discovered);
  if (f.minRate > 0) params.set("min_rate", String(f.minRate));
}

/** The filters in words, for captions: ["kind service", "at least 5 req/s"]. */
export function describeFilters(filters) {
  const f = copyFilters(filters);
  return [
    f.kind && `kind ${f.kind}`,
    f.team && `team ${f.team}`,
    f.criticality && `criticality ${f.criticality}`,
    f.source && `seen by ${f.source}`,
    f.discovered === "only" && "discovered only",
    f.discovered === "declared" && "declared only",
    f.minRate > 0 && `at least ${f.minRate} req/s`,
  ].filter(Boolean);
}
