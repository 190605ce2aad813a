"""slo-cli impact and slo-cli availability: the insight answers as tables.

With `--url` they ask a running server; otherwise they read the configured database
directly, through the same use cases as the HTTP API. `--as-of` answers from the graph
as it was at a past time, in either mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from slo_engine.live.cli_fetch import ApiKeyOption, AsOfOption, UrlOption, fetch

if TYPE_CHECKING:
    from slo_engine.graph.snapshot import GraphSnapshot
    from slo_engine.live.graph import LiveGraph
    from slo_engine.settings import Settings

console = Console()

ServiceArgument = Annotated[str, typer.Argument(help="The service id.")]
IncludeStaleOption = Annotated[
    bool, typer.Option(help="Follow stale edges too (ignored by default).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]


def _shown_as_json(answer: dict[str, Any], as_json: bool) -> dict[str, Any] | None:
    """`answer`, or None once it is printed as JSON (`--json`)."""
    if as_json:
        console.print_json(data=answer)
        return None
    return answer


def impact(
    service_id: ServiceArgument,
    depth: Annotated[int, typer.Option(min=1, max=10, help="Hops upstream.")] = 10,
    include_stale: IncludeStaleOption = False,
    max_affected: Annotated[
        int, typer.Option(min=1, max=100_000, help="List at most this many.")
    ] = 10_000,
    as_json: JsonOption = False,
    as_of: AsOfOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Blast radius: who is down or degraded if SERVICE_ID fails, and why."""
    from slo_engine.insights.service import impact_of
    from slo_engine.topology.service import service_in

    async def locally(snapshot: GraphSnapshot, cache: LiveGraph, _: Settings) -> tuple[int, bytes]:
        return await impact_of(
            cache,
            snapshot,
            service_in(snapshot, service_id),
            depth=depth,
            include_stale=include_stale,
            max_affected=max_affected,
        )

    params = {"depth": depth, "include_stale": include_stale, "max_affected": max_affected}
    path = f"/services/{service_id}/impact"
    answer = _shown_as_json(fetch(path, params, url, api_key, locally, as_of), as_json)
    if answer is None:
        return
    totals = answer["totals"]
    console.print(
        f"If [bold]{service_id}[/bold] fails: {totals['down']} service(s) down, "
        f"{totals['degraded']} degraded (within {depth} hops)."
        + (f" The first {len(answer['affected'])} are listed." if answer["truncated"] else "")
    )
    if not answer["affected"]:
        return
    table = Table("service", "impact", "hops", "team", "criticality", "because")
    for item in answer["affected"]:
        colour = "red" if item["impact"] == "down" else "yellow"
        # Team names are free text: shown as written, never read as Rich markup.
        table.add_row(
            item["service_id"],
            f"[{colour}]{item['impact']}[/{colour}]",
            str(item["distance"]),
            escape(item["team"] or ""),
            item["criticality"] or "",
            " → ".join(item["path"]),
        )
    console.print(table)
    by_team = Table("team", "down", "degraded", title="by team")
    for row in totals["by_team"]:
        by_team.add_row(escape(row["team"] or "(no team)"), str(row["down"]), str(row["degraded"]))
    console.print(by_team)


def availability(
    service_id: ServiceArgument,
    include_stale: IncludeStaleOption = False,
    as_json: JsonOption = False,
    as_of: AsOfOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Availability ceiling: the best SERVICE_ID can deliver given what it cannot work
    without, with the arithmetic and the dependencies that cost it most."""
    from slo_engine.insights.service import availability_of
    from slo_engine.topology.service import service_in

    async def locally(
        snapshot: GraphSnapshot, cache: LiveGraph, settings: Settings
    ) -> tuple[int, bytes]:
        return await availability_of(
            cache,
            snapshot,
            service_in(snapshot, service_id),
            include_stale=include_stale,
            default_target=settings.default_slo_target,
        )

    params = {"include_stale": include_stale}
    path = f"/services/{service_id}/availability"
    answer = _shown_as_json(fetch(path, params, url, api_key, locally, as_of), as_json)
    if answer is None:
        return
    nines = answer["nines"]
    console.print(
        f"[bold]{service_id}[/bold] can deliver at most [bold]{answer['ceiling']:.6%}[/bold]"
        + (f" ({nines:.2f} nines)" if nines is not None else "")
        + f" through {answer['dependencies']} hard synchronous dependencies."
    )
    console.print(f"  {answer['arithmetic']}")
    if answer["limiting"]:
        table = Table("dependency", "factor", "costs", "ceiling without it", title="limiting")
        for limit in answer["limiting"][:10]:
            table.add_row(
                ", ".join(limit["members"]),
                f"{limit['factor']:.6g}",
                f"{limit['cost']:.4%}",
                f"{limit['ceiling_without']:.6%}",
            )
        console.print(table)
    alternative = answer["if_soft_were_hard"]
    console.print(
        f"If soft dependencies were hard: {alternative['ceiling']:.6%} "
        f"({alternative['dependencies']} dependencies)."
    )
    for note in answer["notes"]:
        console.print(f"[dim]note: {escape(note)}[/dim]")
