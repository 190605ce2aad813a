"""Backstage (`backstage`): the software catalog's Components and Resources.

Read from `catalog-info.yaml` descriptors (a file or a directory of `*.yaml`/`*.yml`,
multi-document files included) and, when BACKSTAGE_URL is set, from the catalog API
(`GET /api/catalog/entities/by-query`, paged by cursor, with BACKSTAGE_TOKEN as bearer).

Each Component or Resource becomes a declared service: `metadata.name` (with its
namespace, see `discovery/naming.py`) is the service id, `metadata.title` the display
name, `spec.owner` the team (`group:default/payments` → `payments`), and `spec.lifecycle`,
`spec.type`, the kind, `metadata.description` and `metadata.tags` go to the service's
metadata under `backstage` (its other keys stay). Each `spec.dependsOn` ref becomes a
declared edge; a ref without a kind means a Component. Other kinds (System, API, Group,
...) are ignored.

Each run is a full sync of what it read: the request is `mode: replace` with
`scope: {"services": [every Component and Resource read]}`, so a `dependsOn` removed
from a descriptor (or from the catalog) is retracted on the next run, in the same
transaction. What is out of scope stays: the edges of services this run did not read
(a descriptor deleted, an entity skipped with a warning) and other sources' reports of
the same edges. A run that cannot read everything (unreadable YAML, a malformed or
partial catalog page, paging past the limit) raises `SourceError` before anything is
ingested, so it stores and retracts nothing; so does a run that read no usable
Component or Resource at all (see `build_backstage_graph`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from slo_engine.discovery.http import JsonGetter, Params
from slo_engine.discovery.naming import entity_ref_to_service_id
from slo_engine.discovery.sources.base import Discovered
from slo_engine.errors import SourceError
from slo_engine.ingestion.schemas import ingestion_request

_KINDS = {"component", "resource"}
_PAGE = 500
_MAX_PAGES = 1000


def _ref_name(ref: Any) -> str | None:
    if not isinstance(ref, str) or not ref.strip():
        return None
    parsed = entity_ref_to_service_id(ref, default_kind="group")
    return parsed[1] if parsed else None


def read_descriptors(path: Path) -> list[dict[str, Any]]:
    """Every YAML document under `path` (a file, or a directory searched recursively)."""
    files = (
        sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        if path.is_dir()
        else [path]
    )
    if not files:
        raise SourceError(f"no catalog descriptors (*.yaml, *.yml) under {path}")
    entities: list[dict[str, Any]] = []
    for file in files:
        try:
            documents = list(yaml.safe_load_all(file.read_text()))
        except (OSError, yaml.YAMLError) as error:
            raise SourceError(f"{file}: not readable YAML ({error})") from error
        entities.extend(d for d in documents if isinstance(d, dict))
    return entities


# Resource types that name what a node is (graph.model.NodeKind); Backstage leaves the
# type free-form, so these are the spellings catalogs use most.
_RESOURCE_KINDS = {
    "database": "database",
    "db": "database",
    "queue": "messaging",
    "topic": "messaging",
    "message-queue": "messaging",
    "message-broker": "messaging",
    "kafka-topic": "messaging",
}


def kind_of_entity(entity_kind: str, spec_type: object) -> str | None:
    """The node kind a catalog entity declares: a Component is a service; a Resource of
    a known type a database or messaging node; any other Resource is left to what the
    sources observe (None).

    >>> kind_of_entity("component", "website"), kind_of_entity("resource", "Database")
    ('service', 'database')
    >>> kind_of_entity("resource", "s3-bucket") is None
    True
    """
    if entity_kind == "component":
        return "service"
    return _RESOURCE_KINDS.get(str(spec_type or "").strip().lower())


def build_backstage_graph(entities: Iterable[dict[str, Any]]) -> Discovered:
    warnings: list[str] = []
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for entity in entities:
        kind = str(entity.get("kind", "")).lower()
        if kind not in _KINDS:
            continue
        meta = entity.get("metadata") or {}
        spec = entity.get("spec") or {}
        if not isinstance(meta, dict) or not isinstance(spec, dict):
            warnings.append(f"skipped a {kind} whose metadata or spec is not a mapping")
            continue
        namespace = str(meta.get("namespace") or "default")
        parsed = entity_ref_to_service_id(f"{kind}:{namespace}/{meta.get('name', '')}")
        if parsed is None:
            warnings.append(f"skipped a {kind} without a usable metadata.name")
            continue
        service_id = parsed[1]
        depends_on = spec.get("dependsOn") or []
        if not isinstance(depends_on, list):
            # Read as a list, a string would become one edge per character; and the run
            # retracts what a service read no longer lists, so a service whose
            # dependencies cannot be read is left out whole: its stored edges stay.
            warnings.append(f"skipped {service_id}: spec.dependsOn is not a list")
            continue
        details = {
            "kind": kind,
            # The entity as Backstage names it: the explorer links a service to it,
            # whatever the service id became (docs/explorer.md).
            "entity_ref": f"{kind}:{namespace}/{meta.get('name')}",
            "lifecycle": spec.get("lifecycle"),
            "type": spec.get("type"),
            "description": meta.get("description"),
            "tags": meta.get("tags"),
            "system": spec.get("system"),
        }
        nodes[service_id] = {
            "service_id": service_id,
            "display_name": str(meta["title"])[:255] if meta.get("title") else None,
            "team": _ref_name(spec.get("owner")),
            "metadata": {"backstage": {k: v for k, v in details.items() if v is not None}},
        }
        node_kind = kind_of_entity(kind, spec.get("type"))
        if node_kind is not None:
            nodes[service_id]["kind"] = node_kind
        for ref in depends_on:
            target = entity_ref_to_service_id(str(ref)) if isinstance(ref, str) else None
            if target is None:
                warnings.append(f"{service_id}: skipped dependsOn entry {ref!r}")
                continue
            edges[(service_id, target[1])] = {
                "source": service_id,
                "target": target[1],
                "attributes": {"criticality": "hard"},
            }
    if not nodes:
        # A scope-less replace would retract every edge Backstage ever declared, and a
        # plain merge of nothing would report a healthy run while the graph no longer
        # matches the catalog. A configured catalog that yields no Component or Resource
        # is almost always a mistake (a wrong path, a token the catalog's permissions
        # filter down to nothing), so the run fails instead: nothing is stored or
        # retracted, and the reason shows in the source's status.
        raise SourceError(
            "the catalog gave no usable Component or Resource; nothing was synced"
            + (f" ({len(warnings)} skipped, first: {warnings[0]})" if warnings else "")
        )
    service_ids = sorted(nodes)
    request = ingestion_request(
        {
            "source": "backstage",
            "observed_at": datetime.now(UTC),
            # The complete picture of the outgoing edges of every service read.
            "mode": "replace",
            "scope": {"services": service_ids},
            "nodes": [nodes[k] for k in service_ids],
            "edges": [edges[k] for k in sorted(edges)],
        }
    )
    # metadata.backstage replaces its own key in the stored metadata, not the whole
    # object: the Kubernetes source's key and a service's slo_target stay.
    return Discovered(request, warnings, metadata_key="backstage")


class BackstageSource:
    name = "backstage"

    def __init__(
        self,
        *,
        interval_minutes: int,
        catalog_path: str | None = None,
        base_url: str | None = None,
        getter: JsonGetter | None = None,
    ) -> None:
        if base_url and getter is None:
            raise ValueError("reading the catalog API needs an HTTP getter")
        self._path = Path(catalog_path) if catalog_path else None
        self._base = base_url.rstrip("/") if base_url else None
        self._getter = getter
        self.interval_minutes = interval_minutes

    async def discover(self) -> Discovered:
        entities: list[dict[str, Any]] = []
        if self._path is not None:
            entities.extend(read_descriptors(self._path))
        if self._base is not None and self._getter is not None:
            entities.extend(await self._from_api())
        return build_backstage_graph(entities)

    async def _from_api(self) -> list[dict[str, Any]]:
        assert self._base is not None and self._getter is not None
        url = f"{self._base}/api/catalog/entities/by-query"
        # Repeated `filter` parameters are alternatives (within one, commas mean "and").
        params: Params = [("filter", "kind=component"), ("filter", "kind=resource")]
        params.append(("limit", str(_PAGE)))
        found: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            page = await self._getter.get(url, params)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise SourceError("Backstage's answer has no 'items' list")
            found.extend(item for item in page["items"] if isinstance(item, dict))
            cursor = (page.get("pageInfo") or {}).get("nextCursor")
            if not cursor:
                return found
            params = [("cursor", str(cursor)), ("limit", str(_PAGE))]
        raise SourceError(f"Backstage kept paging past {_MAX_PAGES} pages")
