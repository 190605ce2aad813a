"""`slo-cli aliases list|add|add-rule|delete|sync`: the aliases on the configured
database, through the same use cases as /api/v1/aliases (aliases/service.py); each
change merges or unmerges in one transaction and prints what it did, as the API
answers it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from slo_engine.aliases import service
from slo_engine.aliases.file_form import merge_line, sync_from_file
from slo_engine.aliases.schemas import AliasCreated, AliasOut, MergeOut
from slo_engine.aliases.service import AliasSpec
from slo_engine.graph.model import DiscoverySource
from slo_engine.live.cli_fetch import on_database, print_listing

app = typer.Typer(help="Aliases: reported names mapped to service ids.", no_args_is_help=True)
console = Console()
# Who the change log says made a change from the command line.
CLI_ACTOR = "cli"

SourceOption = Annotated[
    DiscoverySource | None,
    typer.Option(
        "--discovery-source",
        help="Rename only this source's reports (and merge no service). Default: every "
        "source's, and the service of that name is merged into the canonical one.",
    ),
]


@app.command("list")
def list_aliases(
    as_json: Annotated[
        bool, typer.Option("--json", help="One alias per line, as the API lists them.")
    ] = False,
) -> None:
    """Every alias, in the order rules apply."""
    found = on_database(lambda database, *_: database.read(service.list_aliases))
    items = [AliasOut.of(a) for a in found]
    print_listing(
        items, as_json=as_json, table=_table, what="aliases", limit=len(items), more=False
    )


def _add(spec: AliasSpec) -> None:
    alias, summary = on_database(
        lambda database, cache, _: database.transaction(
            lambda session: service.add_alias(session, cache, spec, CLI_ACTOR)
        )
    )
    answer = AliasCreated(alias=AliasOut.of(alias), merge=MergeOut.of(summary))
    console.print_json(answer.model_dump_json())


@app.command("add")
def add_alias(
    alias: Annotated[str, typer.Argument(help="The name a source reports.")],
    service_id: Annotated[str, typer.Argument(help="The service it stands for.")],
    discovery_source: SourceOption = None,
) -> None:
    """Map ALIAS to SERVICE_ID, and merge what is stored under ALIAS."""
    _add(AliasSpec(discovery_source, alias=alias, service_id=service_id))


@app.command("add-rule")
def add_rule(
    pattern: Annotated[str, typer.Argument(help="A regular expression over the whole name.")],
    replacement: Annotated[
        str, typer.Argument(help="The service id, with \\1 or \\g<name> for groups.")
    ],
    discovery_source: SourceOption = None,
) -> None:
    """Map every name PATTERN matches to REPLACEMENT (applied after the earlier rules)."""
    _add(AliasSpec(discovery_source, pattern=pattern, replacement=replacement))


@app.command("delete")
def delete_alias(
    alias_id: Annotated[uuid.UUID, typer.Argument(help="The alias's id (see `list`).")],
) -> None:
    """Delete an alias and undo what it merged."""
    summary = on_database(
        lambda database, cache, _: database.transaction(
            lambda session: service.delete_alias(session, cache, alias_id, CLI_ACTOR)
        )
    )
    console.print_json(MergeOut.of(summary).model_dump_json())


@app.command("sync")
def sync(
    file: Annotated[
        Path, typer.Argument(help="An aliases file (YAML or JSON), as ALIASES_FILE reads.")
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Sync even a file older than the one synced last (a rollback)."
        ),
    ] = False,
) -> None:
    """Make the file's aliases in the store exactly FILE's, as the server's
    `aliases-file` job does with ALIASES_FILE."""
    outcome = on_database(
        lambda database, cache, _: sync_from_file(database, cache, file, force=force)
    )
    typer.echo(merge_line(outcome))
    if outcome.older_than_synced is not None:
        raise typer.Exit(1)


def _table(items: Sequence[AliasOut]) -> Table:
    table = Table("id", "maps", "to", "source", "origin", box=box.SIMPLE_HEAD)
    for item in items:
        maps = item.alias if item.pattern is None else f"/{item.pattern}/"
        to = item.service_id if item.replacement is None else item.replacement
        table.add_row(
            str(item.id),
            escape(maps or ""),
            escape(to or ""),
            item.discovery_source.value if item.discovery_source else "every",
            item.origin,
        )
    return table
