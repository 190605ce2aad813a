"""Kubernetes (`kubernetes`): services and workloads as nodes, never edges.

Lists `GET /api/v1/services`, `GET /apis/apps/v1/deployments` and
`GET /apis/apps/v1/statefulsets` (per namespace, `/api/v1/namespaces/{ns}/services` and
so on, when KUBERNETES_NAMESPACES names some), paged with `limit` and `continue`.
Namespaces in KUBERNETES_EXCLUDE_NAMESPACES (the control plane's by default) are left
out.

Each object becomes a declared service. Its id is the object's name, with `.namespace`
appended outside `default` (as the Istio source names workloads, so a Deployment
`reviews-v2` in `bookinfo` and the mesh's `reviews-v2.bookinfo` are one service); a
Service and a workload of the same name in one namespace are one node. The team is the
object's KUBERNETES_TEAM_ANNOTATION annotation (`slo-engine.io/team`), else its
KUBERNETES_TEAM_LABEL label (`team`), else not given (a team stored from elsewhere is
kept); a workload's team wins over its Service's. What Kubernetes says of it goes to
`metadata.kubernetes` (namespace, kinds, a few well-known labels, the Service's type
and selector, the workload's replicas), merged into the stored metadata: the other
keys (`slo_target`, `backstage`, ...) stay.

Kubernetes knows which services exist, not which call which: no edge is reported, and
the request is a `merge` (a `replace` would retract nothing of its own, and a full sync
of nodes does not exist: services the cluster no longer has are not deleted; they
show as services with no fresh edges). A run that cannot list everything (an HTTP
error, a malformed page, an expired `continue` token: 410) raises `SourceError` and
stores nothing.

Without KUBERNETES_API_URL, in a pod, the API's address and credentials are the
in-cluster ones: the `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` environment,
the service account's token (read again on every request: it is rotated) and its CA,
unless KUBERNETES_* auth settings say otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from slo_engine.discovery.http import JsonGetter, Params
from slo_engine.discovery.http_auth import HttpAuth
from slo_engine.discovery.naming import namespaced_id
from slo_engine.discovery.sources.base import Discovered
from slo_engine.errors import SourceError
from slo_engine.ingestion.schemas import ingestion_request
from slo_engine.settings import Settings

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_PAGE = 500
_MAX_PAGES = 1000
# (kind, list path under the API root, per-namespace path format)
_KINDS = (
    ("Service", "/api/v1/services", "/api/v1/namespaces/{ns}/services"),
    ("Deployment", "/apis/apps/v1/deployments", "/apis/apps/v1/namespaces/{ns}/deployments"),
    ("StatefulSet", "/apis/apps/v1/statefulsets", "/apis/apps/v1/namespaces/{ns}/statefulsets"),
)
# The labels kept in the metadata (the recommended ones, and the common short forms).
KEPT_LABELS = (
    "app",
    "version",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
)


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


@dataclass(frozen=True)
class KubernetesOptions:
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    exclude_namespaces: tuple[str, ...] = ()
    team_annotation: str = "slo-engine.io/team"
    team_label: str = "team"
    interval_minutes: int = 60

    @classmethod
    def from_settings(cls, settings: Settings) -> KubernetesOptions:
        return cls(
            namespaces=_names(settings.kubernetes_namespaces),
            exclude_namespaces=_names(settings.kubernetes_exclude_namespaces),
            team_annotation=settings.kubernetes_team_annotation.strip(),
            team_label=settings.kubernetes_team_label.strip(),
            interval_minutes=settings.kubernetes_ingest_interval_minutes,
        )


def kubernetes_connection(
    settings: Settings, environ: Mapping[str, str], service_account: Path = SERVICE_ACCOUNT
) -> tuple[str, HttpAuth] | None:
    """The API's URL and credentials; None when there is no address (outside a cluster).

    KUBERNETES_API_URL is used with exactly the KUBERNETES_* auth settings: the pod's
    service account token is never sent to an address someone typed (it may be another
    cluster's). Without it, the in-cluster address, and the service account's token and
    CA where the auth settings give none.
    """
    auth = HttpAuth.from_settings(settings, "kubernetes")
    if settings.kubernetes_api_url:
        return settings.kubernetes_api_url.rstrip("/"), auth
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host:
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    token, ca = service_account / "token", service_account / "ca.crt"
    in_cluster = auth.with_defaults(
        bearer_token_file=token if token.is_file() else None,
        ca_file=ca if ca.is_file() else None,
    )
    return f"https://{host}:{port or '443'}", in_cluster


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int | float | bool)}


def _team(meta: dict[str, Any], options: KubernetesOptions) -> str | None:
    annotations, labels = _str_map(meta.get("annotations")), _str_map(meta.get("labels"))
    for found in (
        annotations.get(options.team_annotation) if options.team_annotation else None,
        labels.get(options.team_label) if options.team_label else None,
    ):
        if found and found.strip():
            return found.strip()[:255]
    return None


def build_kubernetes_graph(
    objects: Iterable[tuple[str, dict[str, Any]]], options: KubernetesOptions
) -> Discovered:
    """The ingest request for listed objects, each given as (kind, list item).

    Pure: the unit tests drive it. Services come before workloads in the result's
    precedence (a workload's team and labels win over its Service's).
    """
    warnings: list[str] = []
    order = {kind: rank for rank, (kind, _, _) in enumerate(_KINDS)}
    nodes: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, Any]] = {}
    # A namespace named in KUBERNETES_NAMESPACES is read even if also excluded.
    excluded = set(options.exclude_namespaces) - set(options.namespaces)
    for kind, item in sorted(objects, key=lambda pair: order.get(pair[0], len(order))):
        meta = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            warnings.append(f"skipped a {kind} without metadata.name")
            continue
        name, namespace = meta["name"], str(meta.get("namespace") or "default")
        if namespace in excluded:
            continue
        service_id = namespaced_id(name, namespace)
        if service_id is None:
            warnings.append(f"skipped {kind} {namespace}/{name}: not usable as a service id")
            continue
        node = nodes.setdefault(service_id, {"service_id": service_id})
        team = _team(meta, options)
        if team is not None:
            node["team"] = team
        found = details.setdefault(service_id, {"namespace": namespace, "name": name})
        found.setdefault("kinds", []).append(kind)
        labels = _str_map(meta.get("labels"))
        kept = {k: labels[k] for k in (*KEPT_LABELS, options.team_label) if k in labels}
        if kept:
            found["labels"] = {**found.get("labels", {}), **kept}
        raw_spec = item.get("spec")
        spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
        if kind == "Service":
            if isinstance(spec.get("type"), str):
                found["service_type"] = spec["type"]
            selector = _str_map(spec.get("selector"))
            if selector:
                found["selector"] = selector
            if isinstance(spec.get("externalName"), str):
                found["external_name"] = spec["externalName"]
        elif isinstance(spec.get("replicas"), int):
            found["replicas"] = spec["replicas"]
    for service_id, node in nodes.items():
        found = details[service_id]
        found["kinds"] = sorted(set(found["kinds"]))
        node["metadata"] = {"kubernetes": found}
    service_ids = sorted(nodes)
    if not service_ids:
        warnings.append("the cluster listed no service or workload (check the namespaces)")
    request = ingestion_request(
        {
            "source": "kubernetes",
            "observed_at": datetime.now(UTC),
            "nodes": [nodes[k] for k in service_ids],
        }
    )
    return Discovered(request, warnings, metadata_key="kubernetes")


class KubernetesSource:
    name = "kubernetes"

    def __init__(self, base_url: str, getter: JsonGetter, options: KubernetesOptions) -> None:
        self._base = base_url.rstrip("/")
        self._getter = getter
        self._options = options
        self.interval_minutes = options.interval_minutes

    async def discover(self) -> Discovered:
        objects: list[tuple[str, dict[str, Any]]] = []
        for kind, everywhere, per_namespace in _KINDS:
            paths = (
                [per_namespace.format(ns=quote(ns, safe="")) for ns in self._options.namespaces]
                if self._options.namespaces
                else [everywhere]
            )
            for path in paths:
                objects.extend((kind, item) for item in await self._list(kind, path))
        return build_kubernetes_graph(objects, self._options)

    async def _list(self, kind: str, path: str) -> list[dict[str, Any]]:
        """Every item of a list, page by page (`continue` tokens)."""
        url = f"{self._base}{path}"
        params: Params = [("limit", str(_PAGE))]
        found: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            page = await self._getter.get(url, params)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise SourceError(f"the Kubernetes API's {kind} list has no 'items' list")
            found.extend(item for item in page["items"] if isinstance(item, dict))
            meta = page.get("metadata")
            token = meta.get("continue") if isinstance(meta, dict) else None
            if not token:
                return found
            params = [("limit", str(_PAGE)), ("continue", str(token))]
        raise SourceError(f"the Kubernetes API kept paging {kind}s past {_MAX_PAGES} pages")
