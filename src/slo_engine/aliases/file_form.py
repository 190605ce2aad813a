"""The aliases file: the aliases as configuration (a ConfigMap in Kubernetes), in YAML
or JSON, the same shape as `POST /api/v1/aliases` bodies under one key:

    aliases:
      - alias: checkoutservice
        service_id: checkout
      - pattern: '(?P<app>[a-z0-9-]+)\\.shop'
        replacement: '\\g<app>'
        discovery_source: service_mesh

Rules apply in the file's order, after those added through the API. A sync makes the
file's aliases in the store exactly the file's (aliases/service.py
`sync_aliases_file`), so deleting a line undoes its merge.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from slo_engine.aliases.schemas import AliasCreate
from slo_engine.aliases.service import (
    MAX_ALIASES,
    AliasSpec,
    ConflictCheck,
    FileSync,
    FileVersion,
    checked_spec,
    sync_aliases_file,
)
from slo_engine.errors import InvalidInputError
from slo_engine.infra.db import Database
from slo_engine.infra.storable import STRICT_BODY
from slo_engine.live.graph import LiveGraph

# A file larger than this is refused unread: 10,000 aliases fit in well under 4 MiB.
MAX_FILE_BYTES = 4 * 1024 * 1024
# Who the change log says made the file's changes.
FILE_ACTOR = "aliases-file"


class AliasesFile(BaseModel):
    model_config = ConfigDict(**STRICT_BODY)

    aliases: list[AliasCreate] = Field(default_factory=list, max_length=MAX_ALIASES)


class AliasesFileError(InvalidInputError):
    title = "Invalid aliases file"


def read_aliases_file(path: str | Path) -> tuple[list[AliasSpec], FileVersion]:
    """The file's aliases, checked as the API checks a body and against each other, and
    which file it was; AliasesFileError says what is wrong and where."""
    file = Path(path)
    try:
        status = file.stat()
        if status.st_size > MAX_FILE_BYTES:
            raise AliasesFileError(f"{file}: {status.st_size} bytes, more than {MAX_FILE_BYTES}.")
        content = file.read_bytes()
        document = yaml.safe_load(content.decode("utf-8"))
    except OSError as error:
        raise AliasesFileError(f"{file}: cannot be read ({error.strerror}).") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise AliasesFileError(f"{file}: not YAML or JSON ({error}).") from None
    version = FileVersion(
        hashlib.sha256(content).hexdigest(), datetime.fromtimestamp(status.st_mtime, UTC)
    )
    if document is None:
        return [], version
    try:
        # Through JSON, as the API reads a body: strict JSON rules (an enum by its text).
        parsed = AliasesFile.model_validate_json(orjson.dumps(document))
    except orjson.JSONEncodeError as error:
        raise AliasesFileError(f"{file}: holds what JSON cannot ({error}).") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'/'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()[:10]
        )
        raise AliasesFileError(f"{file}: {problems}.") from None
    specs = [alias.spec() for alias in parsed.aliases]
    check = ConflictCheck()
    for index, spec in enumerate(specs):
        try:
            checked_spec(spec, f"/aliases/{index}")
        except InvalidInputError as error:
            raise AliasesFileError(f"{file}: aliases/{index}: {error.detail}") from None
        conflict = check.conflict(spec)
        if conflict is not None:
            raise AliasesFileError(f"{file}: aliases/{index}: {conflict}")
        check.add(spec)
    return specs, version


async def sync_from_file(
    database: Database, cache: LiveGraph, path: str | Path, *, force: bool = False
) -> FileSync:
    """Read the file and make the store's file aliases exactly its own, merging and
    unmerging in one transaction (not when the file is older than the one synced last,
    unless `force`)."""
    specs, version = read_aliases_file(path)
    return await database.transaction(
        lambda session: sync_aliases_file(session, cache, specs, FILE_ACTOR, version, force=force)
    )


def merge_line(outcome: FileSync) -> str:
    """One line saying what a sync did (a job's summary, the CLI's output)."""
    if outcome.older_than_synced is not None:
        return (
            "aliases file not synced: it is older than the one synced last (modified "
            f"{outcome.older_than_synced.isoformat()}); a replica whose file has not "
            "changed yet, or an old one"
        )
    summary = outcome.summary
    if summary is None:
        return "aliases file unchanged"
    return (
        f"aliases file synced at revision {summary.revision}: {summary.edges_moved} edges "
        f"moved, {summary.edges_set_aside} set aside, {summary.edges_restored} restored; "
        f"services merged: {', '.join(summary.services_merged) or 'none'}; removed: "
        f"{', '.join(summary.services_removed) or 'none'}; restored: "
        f"{', '.join(summary.services_restored) or 'none'}"
    )
