"""Which sources the settings configure, built with their HTTP clients."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import httpx

from slo_engine.discovery.http import JsonGetter
from slo_engine.discovery.http_auth import HttpAuth
from slo_engine.discovery.prometheus import PrometheusClient
from slo_engine.discovery.sources.backstage import BackstageSource
from slo_engine.discovery.sources.base import Source
from slo_engine.discovery.sources.jaeger import JaegerSource
from slo_engine.discovery.sources.kubernetes import (
    KubernetesOptions,
    KubernetesSource,
    kubernetes_connection,
)
from slo_engine.discovery.sources.mesh import ServiceMeshSource
from slo_engine.discovery.sources.otel import OtelServiceGraphSource
from slo_engine.infra.components import AppComponent
from slo_engine.settings import Settings

SOURCE_NAMES = ("otel", "mesh", "jaeger", "backstage", "kubernetes")


@dataclass
class Discovery:
    sources: dict[str, Source]
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def _getter(settings: Settings, discovery: Discovery, auth: HttpAuth) -> JsonGetter:
    """A getter whose client sends `auth`'s credentials; the client is closed with
    `discovery`."""
    client = auth.client(settings.prometheus_timeout_seconds)
    discovery.clients.append(client)
    return JsonGetter(
        client,
        max_bytes=settings.discovery_max_response_bytes,
        retries=settings.discovery_retries,
        redact=auth.redact,
    )


def build_discovery(settings: Settings, only: str | None = None) -> Discovery:
    """The configured sources (or just `only`, configured or not enough: then absent).

    Raises ValueError (naming the setting) when a source's TLS files cannot be used.
    """
    discovery = Discovery(sources={})
    wanted = set(SOURCE_NAMES) if only is None else {only}
    if settings.prometheus_url and wanted & {"otel", "mesh"}:
        getter = _getter(settings, discovery, HttpAuth.from_settings(settings, "prometheus"))
        prometheus = PrometheusClient(settings.prometheus_url, getter)
        if "otel" in wanted:
            discovery.sources["otel"] = OtelServiceGraphSource(
                prometheus, settings.otel_graph_ingest_interval_minutes
            )
        if "mesh" in wanted and (settings.service_mesh_enabled or only == "mesh"):
            discovery.sources["mesh"] = ServiceMeshSource(
                prometheus, settings.service_mesh_ingest_interval_minutes
            )
    if settings.jaeger_url and "jaeger" in wanted:
        getter = _getter(settings, discovery, HttpAuth.from_settings(settings, "jaeger"))
        discovery.sources["jaeger"] = JaegerSource(
            settings.jaeger_url, getter, settings.jaeger_ingest_interval_minutes
        )
    if (settings.backstage_url or settings.backstage_catalog_path) and "backstage" in wanted:
        backstage_getter: JsonGetter | None = None
        if settings.backstage_url:
            auth = HttpAuth.from_settings(settings, "backstage")
            backstage_getter = _getter(settings, discovery, auth)
        discovery.sources["backstage"] = BackstageSource(
            interval_minutes=settings.backstage_ingest_interval_minutes,
            catalog_path=settings.backstage_catalog_path,
            base_url=settings.backstage_url,
            getter=backstage_getter,
        )
    if "kubernetes" in wanted and (settings.kubernetes_discovery_enabled or only == "kubernetes"):
        connection = kubernetes_connection(settings, os.environ)
        if connection is None and only is None:
            raise ValueError(
                "KUBERNETES_DISCOVERY_ENABLED outside a cluster needs KUBERNETES_API_URL "
                "(no KUBERNETES_SERVICE_HOST in the environment)"
            )
        if connection is not None:
            url, auth = connection
            discovery.sources["kubernetes"] = KubernetesSource(
                url,
                _getter(settings, discovery, auth),
                KubernetesOptions.from_settings(settings),
            )
    return discovery


# The configured sources and their HTTP clients.
DISCOVERY: AppComponent[Discovery] = AppComponent("discovery")
