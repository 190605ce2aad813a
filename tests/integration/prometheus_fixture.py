"""A real Prometheus server loaded with service-graph and Istio series.

The series are written as OpenMetrics text from 40 minutes ago to 20 minutes ahead, turned into
TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, and served by
`prometheus` on 127.0.0.1 (Debian's package; .ci/run installs it). Counters grow
linearly, so `increase(...[15m])` and `rate(...)` give exact, hand-computable figures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.local_servers import free_port

STEP_SECONDS = 15
SPAN_SECONDS = 60 * 60


@dataclass(frozen=True)
class Series:
    family: str
    kind: str  # counter, gauge, histogram
    labels: dict[str, str]
    per_second: float = 0.0  # counter slope, or the gauge's value
    buckets: tuple[tuple[str, float], ...] = ()  # histogram: (le, cumulative per second)
    constant: float | None = None  # a counter that does not move (an idle edge)


def _labels(labels: dict[str, str], extra: str = "") -> str:
    items = [f'{k}="{v}"' for k, v in sorted(labels.items())]
    if extra:
        items.append(extra)
    return "{" + ",".join(items) + "}"


def openmetrics(series: list[Series], end: int) -> str:
    """OpenMetrics text: each family's samples together, each series in time order."""
    lines: list[str] = []
    start = end - SPAN_SECONDS
    times = range(start, end + 1, STEP_SECONDS)
    families: dict[str, list[Series]] = {}
    for item in series:
        families.setdefault(item.family, []).append(item)
    for family, members in families.items():
        lines.append(f"# TYPE {family} {members[0].kind}")
        for item in members:
            for t in times:
                elapsed = t - start
                if item.kind == "counter":
                    value = (
                        item.constant if item.constant is not None else item.per_second * elapsed
                    )
                    lines.append(f"{family}_total{_labels(item.labels)} {value} {t}")
                elif item.kind == "gauge":
                    lines.append(f"{family}{_labels(item.labels)} {item.per_second} {t}")
                else:
                    for le, per_second in item.buckets:
                        bucket = _labels(item.labels, f'le="{le}"')
                        lines.append(f"{family}_bucket{bucket} {per_second * elapsed} {t}")
                    count = item.buckets[-1][1] * elapsed
                    lines.append(f"{family}_count{_labels(item.labels)} {count} {t}")
                    lines.append(f"{family}_sum{_labels(item.labels)} {count * 0.01} {t}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _e(client: str, server: str, **more: str) -> dict[str, str]:
    return {"client": client, "server": server, **more}


OTEL_SERIES = [
    Series("traces_service_graph_request", "counter", _e("frontend", "checkout"), 2.0),
    Series("traces_service_graph_request_failed", "counter", _e("frontend", "checkout"), 0.2),
    Series(
        "traces_service_graph_request_server_seconds",
        "histogram",
        _e("frontend", "checkout", failed="false"),
        buckets=(("0.05", 1.0), ("0.1", 1.8), ("0.25", 2.0), ("+Inf", 2.0)),
    ),
    Series(
        "traces_service_graph_request",
        "counter",
        _e("checkout", "orders", connection_type="messaging_system"),
        1.0,
    ),
    Series(
        "traces_service_graph_request",
        "counter",
        _e("checkout", "postgres", connection_type="database"),
        5.0,
    ),
    Series(
        "traces_service_graph_request_client_seconds",
        "histogram",
        _e("checkout", "postgres", connection_type="database"),
        buckets=(("0.01", 4.0), ("0.05", 5.0), ("+Inf", 5.0)),
    ),
    Series(
        "traces_service_graph_request",
        "counter",
        _e("user", "frontend", connection_type="virtual_node"),
        0.5,
    ),
    Series("traces_service_graph_request", "counter", _e("frontend", "legacy"), constant=1000),
    Series(
        "traces_service_graph_request", "counter", _e("cart", "redis", client_version="1.2"), 3.0
    ),
    Series(  # the unsuffixed histogram name of older generators
        "traces_service_graph_request_server",
        "histogram",
        _e("cart", "redis"),
        buckets=(("0.001", 2.4), ("0.005", 3.0), ("+Inf", 3.0)),
    ),
    Series("traces_service_graph_connection_info", "gauge", _e("checkout", "payments"), 1.0),
]

# The same kinds of edges as the connector and Tempo label them across versions and
# semantic conventions (docs/identity.md "OpenTelemetry names"); served apart from
# OTEL_SERIES by `otel_naming_prometheus_url`.
_DB = {"connection_type": "database"}
_PEER = {"connection_type": "virtual_node"}
OTEL_NAMING_SERIES = [
    # Connector, db.name as `server`, semconv < 1.26 dimension `db.system`.
    Series(
        "traces_service_graph_request",
        "counter",
        _e("orders-api", "orders", client_db_system="postgresql", **_DB),
        1.0,
    ),
    # Tempo, `network.peer.address:port` as `server`, semconv >= 1.30 dimensions, seen at
    # two addresses: one node, the counts added.
    Series(
        "traces_service_graph_request",
        "counter",
        _e(
            "billing",
            "10.0.0.7:5432",
            client_db_system_name="postgresql",
            client_db_namespace="billing-db",
            **_DB,
        ),
        2.0,
    ),
    Series(
        "traces_service_graph_request",
        "counter",
        _e(
            "billing",
            "10.0.0.8:5432",
            client_db_system_name="postgresql",
            client_db_namespace="billing-db",
            **_DB,
        ),
        0.5,
    ),
    # Two callers of unnamed PostgreSQLs (peer attribute `db.system`): not one node.
    Series("traces_service_graph_request", "counter", _e("reports", "postgresql", **_PEER), 1.0),
    Series("traces_service_graph_request", "counter", _e("audit", "postgresql", **_PEER), 1.0),
    # SQL Server under its old and new system names: one node.
    Series(
        "traces_service_graph_request",
        "counter",
        _e("hr-api", "hr", client_db_system="mssql", client_db_name="hr", **_DB),
        1.0,
    ),
    Series(
        "traces_service_graph_request",
        "counter",
        _e(
            "payroll",
            "sql-1.corp",
            client_db_system_name="microsoft.sql_server",
            client_db_namespace="hr",
            **_DB,
        ),
        1.0,
    ),
    # Tempo without `enable_client_server_prefix`: bare dimensions.
    Series(
        "traces_service_graph_request",
        "counter",
        _e("cart", "cache.internal", db_system="redis", **_DB),
        3.0,
    ),
    # An unpaired producer, the old `messaging.destination` dimension.
    Series(
        "traces_service_graph_request",
        "counter",
        _e(
            "shipping",
            "kafka",
            client_messaging_system="kafka",
            client_messaging_destination="parcels",
            **_PEER,
        ),
        1.0,
    ),
    # A producer and its consumer, `messaging.destination.name` on both sides.
    Series(
        "traces_service_graph_request",
        "counter",
        _e(
            "checkout",
            "invoicer",
            connection_type="messaging_system",
            client_messaging_system="kafka",
            client_messaging_destination_name="invoices",
            server_messaging_destination_name="invoices",
        ),
        4.0,
    ),
    # `service.namespace` as a dimension, on both sides.
    Series(
        "traces_service_graph_request",
        "counter",
        _e("web", "cart", client_service_namespace="shop", server_service_namespace="shop"),
        2.0,
    ),
    # An IP address as `server` (the old default peer attribute `net.sock.peer.addr`),
    # the hostname in the old `net.peer.name` dimension.
    Series(
        "traces_service_graph_request",
        "counter",
        _e("payments", "203.0.113.9", client_net_peer_name="api.stripe.com", **_PEER),
        1.0,
    ),
    # semconv 1.39's `service.peer.name` and `service.peer.namespace`.
    Series(
        "traces_service_graph_request",
        "counter",
        _e(
            "payments",
            "ledger",
            client_service_peer_name="ledger",
            client_service_peer_namespace="finance",
            **_PEER,
        ),
        1.0,
    ),
]

_BOOKINFO = {
    "source_workload": "productpage-v1",
    "source_workload_namespace": "bookinfo",
    "destination_workload": "reviews-v2",
    "destination_workload_namespace": "bookinfo",
    "destination_service_name": "reviews",
    "destination_service_namespace": "bookinfo",
    "reporter": "destination",
}
_TO_MONGO = {
    "source_workload": "ratings",
    "source_workload_namespace": "default",
    "destination_workload": "unknown",
    "destination_service_name": "mongodb",
    "destination_service_namespace": "default",
    "reporter": "source",
}
MESH_SERIES = [
    Series("istio_requests", "counter", {**_BOOKINFO, "response_code": "200"}, 9.0),
    Series("istio_requests", "counter", {**_BOOKINFO, "response_code": "503"}, 1.0),
    Series("istio_requests", "counter", {**_TO_MONGO, "response_code": "200"}, 2.0),
    Series(
        "istio_requests",
        "counter",
        {**_BOOKINFO, "source_workload": "unknown", "response_code": "200"},
        4.0,
    ),
    Series(
        "istio_request_duration_milliseconds",
        "histogram",
        {**_BOOKINFO, "response_code": "200"},
        buckets=(("10", 5.0), ("25", 9.5), ("50", 10.0), ("+Inf", 10.0)),
    ),
]


def _binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        message = "prometheus/promtool are not installed (Debian package `prometheus`)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)
    return prometheus, promtool


@pytest.fixture(scope="session")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_prometheus(
        tmp_path_factory, [*OTEL_SERIES, *MESH_SERIES], "count(istio_requests_total)"
    ) as url:
        yield url


@pytest.fixture(scope="session")
def otel_naming_prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server, holding only OTEL_NAMING_SERIES (tests/integration/test_otel_naming.py):
    the first one's tests count its edges exactly."""
    with serve_prometheus(
        tmp_path_factory, OTEL_NAMING_SERIES, "count(traces_service_graph_request_total)"
    ) as url:
        yield url


@contextmanager
def serve_prometheus(
    tmp_path_factory: pytest.TempPathFactory, series: list[Series], ready_query: str
) -> Iterator[str]:
    """A Prometheus serving `series`, once `ready_query` answers something."""
    prometheus, promtool = _binaries()
    workdir = tmp_path_factory.mktemp("prometheus")
    data = workdir / "data"
    source = workdir / "series.om"
    # The series run 20 minutes past now, so that a 15-minute window ending whenever a
    # test queries during the session (< 20 minutes) is fully covered: exact figures.
    source.write_text(openmetrics(series, int(time.time()) + 20 * 60))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": ready_query}).json()
                if answer.get("data", {}).get("result"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(Path(log.name).read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
