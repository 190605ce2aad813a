"""Aliases through the whole service, held to their properties on random graphs (SQLite;
the same code runs on PostgreSQL in test_aliases.py): ingesting through aliases equals
ingesting the canonical names, whether the aliases come before the reports or after
them (a merge), and every answer shows one id per thing."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from tests.e2e.conftest import INGEST, make_key, settings_for

CANONICAL = ("cart", "checkout", "payment")
OTHER_NAMES = ("cartservice", "checkoutservice", "pay")
SOURCES = ("manual", "jaeger", "otel_service_graph")
START = datetime(2026, 12, 1, tzinfo=UTC)

Report = tuple[str, str, str, int]  # caller, callee, source, request rate
AliasesGiven = dict[str, tuple[str, str | None]]  # name -> (service id, source or every)


class Service:
    """A fresh database with a running app, and an admin client of it."""

    def __init__(self, template: Path, directory: Path) -> None:
        path = directory / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(template, path)
        with closing(sqlite3.connect(path)) as connection, connection:
            connection.execute(
                "UPDATE graph_identity SET epoch = ? WHERE id = 1", (str(uuid.uuid4()),)
            )
        url = f"sqlite+aiosqlite:///{path}"
        key = make_key(url, "admin", Scope.ADMIN)
        self.client = TestClient(
            create_app(settings_for(url)), headers={"Authorization": f"Bearer {key}"}
        )

    def __enter__(self) -> Service:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(*exc)

    def report(self, reports: list[tuple[int, Report]]) -> None:
        """Each report its own request, observed its number of minutes after the start:
        the last one sent is the one observed last."""
        for index, (source, target, discovery_source, rate) in reports:
            body = {
                "source": discovery_source,
                "observed_at": (START + timedelta(minutes=index)).isoformat(),
                "edges": [
                    {"source": source, "target": target, "attributes": {"request_rate": rate}}
                ],
            }
            response = self.client.post(INGEST, json=body)
            assert response.status_code == 200, response.text

    def alias(self, aliases: AliasesGiven) -> None:
        for name, (service_id, discovery_source) in aliases.items():
            body: dict[str, Any] = {"alias": name, "service_id": service_id}
            if discovery_source is not None:
                body["discovery_source"] = discovery_source
            response = self.client.post("/api/v1/aliases", json=body)
            assert response.status_code == 201, response.text

    def graph(self) -> tuple[set[str], dict[tuple[str, str], Any]]:
        """The services and the edges (their sources and figures), as answered."""
        answer = self.client.get("/api/v1/graph", params={"limit": 2000}).json()
        services = self.client.get("/api/v1/services", params={"limit": 1000}).json()["items"]
        edges = {
            (e["source"], e["target"]): (
                sorted(e["discovery_sources"]),
                e["attributes"]["request_rate"],
                e["last_observed_at"],
            )
            for e in answer["edges"]
        }
        return {s["service_id"] for s in services}, edges


def canonical(name: str, source: str, aliases: AliasesGiven) -> str:
    """What the aliases make of a name a source reports (exact aliases: a lookup)."""
    if name in aliases and aliases[name][1] in (None, source):
        return aliases[name][0]
    return name


@st.composite
def graphs(draw: st.DrawFn) -> tuple[list[Report], AliasesGiven]:
    names = CANONICAL + OTHER_NAMES
    reports = draw(
        st.lists(
            st.tuples(
                st.sampled_from(names),
                st.sampled_from(names),
                st.sampled_from(SOURCES),
                st.integers(0, 9),
            ),
            min_size=1,
            max_size=6,
        )
    )
    aliased = draw(st.sets(st.sampled_from(OTHER_NAMES), min_size=1))
    aliases = {
        name: (
            draw(st.sampled_from(CANONICAL)),
            draw(st.one_of(st.none(), st.sampled_from(SOURCES))),
        )
        for name in sorted(aliased)
    }
    return reports, aliases


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(graph=graphs())
def test_aliases_before_or_after_the_reports_equal_the_canonical_names(
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    graph: tuple[list[Report], AliasesGiven],
) -> None:
    reports, aliases = graph
    directory = tmp_path_factory.mktemp("aliases")
    # The oracle: the canonical names sent; a call between two names of one service
    # is no dependency.
    renamed = [
        (canonical(s, d, aliases), canonical(t, d, aliases), d, rate) for s, t, d, rate in reports
    ]
    expected_reports = [
        (index, r)
        for index, (r, (s, t, _, _)) in enumerate(zip(renamed, reports, strict=True))
        if r[0] != r[1] or s == t
    ]
    numbered = list(enumerate(reports))
    with Service(sqlite_template, directory) as oracle:
        oracle.report(expected_reports)
        expected = oracle.graph()
    with Service(sqlite_template, directory) as first:
        first.alias(aliases)
        first.report(numbered)
        assert first.graph() == expected
    with Service(sqlite_template, directory) as merged:
        merged.report(numbered)
        before = merged.graph()
        merged.alias(aliases)
        services, edges = merged.graph()
        assert (services, edges) == expected
        # One id per thing: a name every source's alias maps elsewhere is in no answer.
        for name, (_, only_for) in aliases.items():
            if only_for is None:
                assert name not in services
                response = merged.client.get(f"/api/v1/services/{name}")
                assert response.status_code == 404
        # And the merge undone gives back the graph as the sources named it.
        for item in merged.client.get("/api/v1/aliases").json()["items"]:
            response = merged.client.delete(f"/api/v1/aliases/{item['id']}")
            assert response.status_code == 200, response.text
        assert merged.graph() == before
