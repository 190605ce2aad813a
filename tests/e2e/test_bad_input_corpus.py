"""A corpus of bad input, on both engines: every case is refused with the exact status
and an RFC 9457 problem (a pointer naming the field for a body that breaks the model or
a bad parameter), never a 500, and the database is byte-identical afterwards (read with
sqlite3 / asyncpg, tests/stored_graph.py). The input that must be accepted at the same
edges (control characters in free text, the first and last instants of the calendar)
is stored and reads back unchanged, also after a restart of a real server.

1. times at the edges of the calendar and of time zones (observed_at, expires_at);
2. NUL, other control characters and unpaired surrogates in every string of every body
   and in every string parameter;
3. strict types (no coercion);
4. huge and deeply nested bodies, numbers JSON allows but the store cannot keep;
5. wrong content types on every endpoint that reads a JSON body;
6. huge request heads on a real `slo-cli serve` (raw sockets);
7. the rest a client can send: unknown fields, duplicate keys, long path parameters,
   out-of-range parameters, methods not allowed, ...

Most cases run in-process on one app per engine (module-scoped: one database, app and
client per engine for hundreds of cases; the refused cases leave it as it was, which is
what each one checks). The restart and the request heads need real server processes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from slo_engine.access.keys import Scope
from slo_engine.app import create_app
from slo_engine.infra.migrate import upgrade_database
from tests.conftest import _pg_execute
from tests.e2e.conftest import INGEST, JSON_CONTENT, ingest, make_key, settings_for
from tests.local_servers import served_env, start_api
from tests.stored_graph import StoredGraph

PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://slo-engine.dev/problems/"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "correlation_id"}
KEYS = "/api/v1/api-keys"
SERVICES = "/api/v1/services"
ALERTS = "/api/v1/circular-dependencies"
GRAPH = "/api/v1/graph"
BODY_LIMIT = 64 * 1024  # what settings_for configures
HEADER_LIMIT = 32 * 1024  # MAX_REQUEST_HEADER_BYTES by default
_URLSPLIT_DROPS = str.maketrans("", "", "\t\r\n")


# ---------------------------------------------------------------- the corpus' app


@dataclass
class Corpus:
    """One engine's database, app and admin client, shared by the cases of this module."""

    engine: str
    url: str
    client: TestClient
    stored: StoredGraph
    alert_id: str
    admin_key: str


def _pg_run(dsn: str, *statements: str) -> None:
    asyncio.run(_pg_execute(dsn, *statements))


def _execute(database_url: str, statement: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        with closing(sqlite3.connect(url.database)) as connection, connection:
            connection.execute(statement)
    else:
        _pg_run(url.set(drivername="postgresql").render_as_string(hide_password=False), statement)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    """A database of its own per engine (the PostgreSQL one is created next to the
    session's and dropped at the end, so the function-scoped `database_url` of other
    tests, which empties the session's, never touches it)."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            template: Path = request.getfixturevalue("sqlite_template")
            path = tmp_path_factory.mktemp("corpus") / "corpus.db"
            shutil.copyfile(template, path)
            url = f"sqlite+aiosqlite:///{path}"
            # A new graph: answers cached for another copy of the template must not match.
            _execute(url, f"UPDATE graph_identity SET epoch = '{uuid.uuid4()}' WHERE id = 1")
            never = "9999-12-31 00:00:00.000000"  # how the service stores times on SQLite
        else:
            session_url = make_url(request.getfixturevalue("postgres_url"))
            admin_dsn = session_url.set(drivername="postgresql").render_as_string(
                hide_password=False
            )
            name = f"slo_corpus_{uuid.uuid4().hex[:12]}"
            _pg_run(admin_dsn, f'CREATE DATABASE "{name}"')
            stack.callback(_pg_run, admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            url = session_url.set(database=name).render_as_string(hide_password=False)
            upgrade_database(url)
            never = "9999-12-31T00:00:00+00:00"
        admin_key = make_key(url, "corpus-admin", Scope.ADMIN)
        # The service stamps a key's last_used_at at most once a minute, in the
        # background: a stamp landing between two dumps would look like a change made by
        # a refused request. A stamp in the future is never moved (it only moves
        # forward), so this database changes only when a request changes it.
        _execute(url, f"UPDATE api_keys SET last_used_at = '{never}'")
        app = create_app(settings_for(url))
        client = stack.enter_context(
            TestClient(
                app,
                raise_server_exceptions=False,
                headers={"Authorization": f"Bearer {admin_key}"},
            )
        )
        (admin,) = ok(client.get(KEYS))["items"]
        assert admin["last_used_at"] == "9999-12-31T00:00:00Z", admin
        stored = StoredGraph(url)
        stack.callback(stored.close)
        # A cycle, so there is an alert to PATCH.
        answer = ingest(client, [("cycle-a", "cycle-b"), ("cycle-b", "cycle-a")])
        (cycle,) = answer["circular_dependencies_detected"]
        yield Corpus(request.param, url, client, stored, cycle["alert_id"], admin_key)


# ------------------------------------------------------------------ assertions


def check_problem(response: httpx.Response, status: int, pointer: str | None = None) -> Any:
    """The answer is an RFC 9457 problem of `status`; with `pointer`, its `errors` list
    names that field. Returns the problem."""
    assert response.status_code == status, (response.status_code, response.text[:3000])
    assert response.headers["content-type"] == PROBLEM, response.headers
    problem = response.json()
    assert problem.keys() >= PROBLEM_FIELDS, problem
    assert problem.keys() <= PROBLEM_FIELDS | {"errors"}, problem
    assert problem["status"] == status
    assert problem["type"].startswith(PROBLEM_BASE), problem
    assert isinstance(problem["title"], str) and problem["title"], problem
    assert isinstance(problem["detail"], str) and problem["detail"], problem
    sent_path = unquote(response.request.url.raw_path.decode("ascii").split("?", 1)[0])
    # (Starlette builds the URL with urllib's urlsplit, which drops tabs and newlines.)
    assert problem["instance"] == sent_path.translate(_URLSPLIT_DROPS), problem
    assert problem["correlation_id"] == response.headers["x-correlation-id"], problem
    assert response.headers["x-content-type-options"] == "nosniff"
    if pointer is not None:
        errors = problem.get("errors")
        assert isinstance(errors, list) and errors, f"no errors list naming {pointer}: {problem}"
        for error in errors:
            assert error.keys() == {"pointer", "detail"}, problem
            assert isinstance(error["pointer"], str) and isinstance(error["detail"], str)
        assert pointer in [e["pointer"] for e in errors], (pointer, problem)
    return problem


def refused(
    corpus: Corpus,
    method: str,
    url: str,
    status: int,
    pointer: str | None = None,
    **request: Any,
) -> Any:
    """Send a request that must be refused; check the problem and that the database is
    byte-identical afterwards. Returns the response."""
    before = corpus.stored.dump()
    response = corpus.client.request(method, url, **request)
    check_problem(response, status, pointer)
    after = corpus.stored.dump()
    assert after == before, f"{method} {url[:200]} was refused ({status}) but changed the store"
    return response


def send_json_text(corpus: Corpus, method: str, url: str, text: bytes | str) -> httpx.Response:
    return corpus.client.request(method, url, content=text, headers=JSON_CONTENT)


def alert_url(corpus: Corpus) -> str:
    return f"{ALERTS}/{corpus.alert_id}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text[:3000])
    return response.json()


def get_service(corpus: Corpus, service_id: str) -> Any:
    return ok(corpus.client.get(f"{SERVICES}/{quote(service_id, safe='')}"))


def first_edge(corpus: Corpus, source: str) -> Any:
    answer = ok(
        corpus.client.get(
            f"{SERVICES}/{source}/dependencies", params={"depth": 1, "include_stale": "true"}
        )
    )
    (edge,) = answer["edges"]
    return edge


def key_named(corpus: Corpus, name: str) -> Any:
    (key,) = [k for k in ok(corpus.client.get(KEYS))["items"] if k["name"] == name]
    return key


def case_id(text: str) -> str:
    """A service id or key name made of a case's id (the patterns allow few characters)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "-" for c in text)[:120]


# ============================================== 1. times at the edges of the calendar

# Refused on both fields: no such instant in UTC within the years 1-9999, no such date
# or time, or not a time at all.
BAD_TIMES = [
    "0001-01-01T00:00:00+05:00",  # year 0 in UTC
    "0001-01-01T00:00:59+00:01",  # year 0 in UTC, by a minute
    "9999-12-31T23:59:59-05:00",  # year 10000 in UTC
    "9999-12-31T23:59:59.999999-00:01",
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",  # not a leap year
    "1900-02-29T00:00:00Z",  # a century, not a leap year
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T23:60:00Z",
    "2026-01-01T23:59:60Z",  # a leap second: Python's calendar has none
    "2026-01-01T00:00:00+24:00",
    "2026-01-01T00:00:00-24:00",
    "2026-01-01T00:00:00+00:60",
    "2026-01-01T00:00:00+99:99",
    "2026-01-01",
    "",
    "now",
    1_767_225_600,  # a Unix time is not RFC 3339 (no coercion)
    True,
    ["2026-01-01T00:00:00Z"],
]

# Accepted, stored, read back as the same UTC instant (on both engines, and after a
# restart: test_edge_times_survive_a_restart_of_a_real_server).
EDGE_TIMES = {
    "0001-01-01T00:00:00Z": "0001-01-01T00:00:00Z",
    "0092-01-04T15:33:40Z": "0092-01-04T15:33:40Z",  # once stored as '92-01-04' on SQLite
    "9999-12-31T23:59:59Z": "9999-12-31T23:59:59Z",
    "2026-11-26T10:00:00+14:00": "2026-11-25T20:00:00Z",
    "0001-01-01T23:59:59+23:59": "0001-01-01T00:00:59Z",
    "9999-12-31T00:00:00-23:59": "9999-12-31T23:59:00Z",
    "2024-02-29T12:00:00-00:00": "2024-02-29T12:00:00Z",
    "2000-02-29T23:30:00-01:00": "2000-03-01T00:30:00Z",
    "0999-12-31T23:59:59.999999Z": "0999-12-31T23:59:59.999999Z",
}


def observed_body(observed_at: Any, tag: str = "t") -> dict[str, Any]:
    return {
        "source": "manual",
        "observed_at": observed_at,
        "edges": [{"source": f"{tag}-src", "target": f"{tag}-dst"}],
    }


@pytest.mark.parametrize("value", BAD_TIMES, ids=repr)
def test_observed_at_outside_the_calendar_is_422(corpus: Corpus, value: Any) -> None:
    refused(corpus, "POST", INGEST, 422, "/observed_at", json=observed_body(value))


@pytest.mark.parametrize("value", BAD_TIMES, ids=repr)
def test_expires_at_outside_the_calendar_is_422(corpus: Corpus, value: Any) -> None:
    body = {"name": "late", "scopes": ["read"], "expires_at": value}
    refused(corpus, "POST", KEYS, 422, "/expires_at", json=body)


@pytest.mark.parametrize("value", ["2026-11-26T10:00:00", "2026-11-26T10:00:00.5"])
def test_observed_at_without_an_offset_is_422(corpus: Corpus, value: str) -> None:
    refused(corpus, "POST", INGEST, 422, "/observed_at", json=observed_body(value))


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00Z", "0092-01-04T15:33:40Z", "2000-01-01T00:00:00+14:00"]
)
def test_expires_at_in_the_past_is_422(corpus: Corpus, value: str) -> None:
    body = {"name": "past", "scopes": ["read"], "expires_at": value}
    refused(corpus, "POST", KEYS, 422, "/expires_at", json=body)


class Sent:
    """An ingestion of one edge at an edge instant, and what must read back: the same
    instant in UTC; or, for one more than 5 minutes ahead of the server's clock, the
    time of the request, with a warning (docs/decisions.md: observed_at)."""

    def __init__(self, sent: str) -> None:
        self.sent = sent
        self.utc = EDGE_TIMES[sent]
        self.before = self.after = datetime.now(UTC)
        self.warnings: list[str] = []

    def post(self, http: httpx.Client | TestClient, tag: str) -> None:
        self.before = datetime.now(UTC)
        answer = http.post(INGEST, json=observed_body(self.sent, tag))
        self.after = datetime.now(UTC)
        assert answer.status_code == 200, answer.text
        self.warnings = answer.json()["warnings"]

    def check(self, last_observed_at: str) -> None:
        if datetime.fromisoformat(self.utc) <= self.after + timedelta(minutes=5):
            assert last_observed_at == self.utc, (self.sent, last_observed_at)
            return
        assert any("in the future" in w for w in self.warnings), self.warnings
        assert self.before <= datetime.fromisoformat(last_observed_at) <= self.after, (
            self.sent,
            last_observed_at,
        )


@pytest.mark.parametrize("sent", list(EDGE_TIMES), ids=str)
def test_observed_at_at_the_edges_is_stored_as_the_same_instant(corpus: Corpus, sent: str) -> None:
    tag = case_id(f"edge-{sent}")
    ingestion = Sent(sent)
    ingestion.post(corpus.client, tag)
    ingestion.check(first_edge(corpus, f"{tag}-src")["last_observed_at"])


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T23:59:59", "9999-12-31T23:59:59Z"),  # no offset: UTC
        ("9999-12-31T23:59:59+14:00", "9999-12-31T09:59:59Z"),
        ("9999-12-31T00:00:00-23:59", "9999-12-31T23:59:00Z"),
    ],
)
def test_expires_at_at_the_edges_is_stored_as_the_same_instant(
    corpus: Corpus, sent: str, expected: str
) -> None:
    name = case_id(f"exp-{sent}")
    created = ok(
        corpus.client.post(KEYS, json={"name": name, "scopes": ["read"], "expires_at": sent}),
        201,
    )
    assert created["expires_at"] == expected
    assert key_named(corpus, name)["expires_at"] == expected


def _raw_times(database_url: str) -> list[str]:
    """The stored text of every edge's last_observed_at and every key's expires_at
    (SQLite, where times are text)."""
    path = make_url(database_url).database
    assert path
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            "SELECT last_observed_at FROM service_dependencies "
            "UNION ALL SELECT expires_at FROM api_keys WHERE expires_at IS NOT NULL"
        )
        return sorted(str(row[0]) for row in rows)


def test_edge_times_survive_a_restart_of_a_real_server(database_url: str, tmp_path: Path) -> None:
    """Ingest the edge instants through a real server, stop it, start a new one on the
    same database: everything reads back, and the database still takes writes."""
    key = make_key(database_url, "restart-admin", Scope.ADMIN)
    env = served_env(database_url)
    auth = {"Authorization": f"Bearer {key}"}
    tags = {sent: case_id(f"rs-{sent}") for sent in EDGE_TIMES}
    expiry = "9999-12-31T23:59:59+14:00"

    ingestions = {sent: Sent(sent) for sent in EDGE_TIMES}
    process, url = start_api(env, tmp_path / "first.log")
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
            for sent, tag in tags.items():
                ingestions[sent].post(http, tag)
            created = http.post(
                KEYS, json={"name": "far-future", "scopes": ["read"], "expires_at": expiry}
            )
            assert created.status_code == 201, created.text
    finally:
        process.terminate()
        process.wait(timeout=30)
    if make_url(database_url).get_backend_name() == "sqlite":
        # Four-digit years, as SQLite's own date functions and Python read them.
        stored = _raw_times(database_url)
        for text in stored:
            assert len(text.split("-", 1)[0]) == 4, text
        assert any(text.startswith("0092-01-04 15:33:40") for text in stored), stored
        assert any(text.startswith("9999-12-31 09:59:59") for text in stored), stored

    process, url = start_api(env, tmp_path / "second.log")
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
            for sent, tag in tags.items():
                answer = http.get(
                    f"{SERVICES}/{tag}-src/dependencies", params={"include_stale": "true"}
                )
                assert answer.status_code == 200, answer.text
                (edge,) = answer.json()["edges"]
                ingestions[sent].check(edge["last_observed_at"])
            graph = http.get(GRAPH, params={"include_stale": "true"})
            assert graph.status_code == 200, graph.text
            observed = {e["source"]: e["last_observed_at"] for e in graph.json()["edges"]}
            for sent, tag in tags.items():
                ingestions[sent].check(observed[f"{tag}-src"])
            keys = http.get(KEYS)
            assert keys.status_code == 200, keys.text
            (far,) = [k for k in keys.json()["items"] if k["name"] == "far-future"]
            assert far["expires_at"] == "9999-12-31T09:59:59Z"
            again = http.post(INGEST, json=observed_body("2026-11-26T10:00:00Z", "after"))
            assert again.status_code == 200, again.text
            assert http.get(f"{SERVICES}/after-src").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


# ============================== 2. NUL, control characters, surrogates in every string


@dataclass(frozen=True)
class Char:
    """A character as it is written into the JSON text (escaped or raw) and the text a
    parser reads from it (None: the JSON text is not valid JSON, a 400)."""

    name: str
    fragment: bytes
    value: str | None

    def __str__(self) -> str:
        return self.name


CHARS = [
    Char("U+0000", b"\\u0000", "\x00"),
    Char("U+0000-raw", b"\x00", None),  # unescaped control characters are not JSON
    Char("U+0001", b"\\u0001", "\x01"),
    Char("U+0001-raw", b"\x01", None),
    Char("U+001F", b"\\u001f", "\x1f"),
    Char("U+007F", b"\x7f", "\x7f"),  # DEL may be raw
    Char("U+0085", "\x85".encode(), "\x85"),  # NEL, raw UTF-8
    Char("U+0085-escaped", b"\\u0085", "\x85"),
    Char("U+2028", b"\\u2028", "\u2028"),
    Char("U+FEFF", b"\\ufeff", "\ufeff"),
    Char("U+FFFF", b"\\uffff", "\uffff"),
    Char("U+10FFFF", "\U0010ffff".encode(), "\U0010ffff"),
    Char("pair-escaped", b"\\ud83d\\ude00", "\U0001f600"),  # a surrogate pair: fine
    Char("U+D800", b"\\ud800", None),  # unpaired surrogates
    Char("U+DC00", b"\\udc00", None),
    Char("U+D800-as-utf8", b"\xed\xa0\x80", None),  # not UTF-8
    Char("byte-FF", b"\xff", None),
]
MARK = "@@CHAR@@"


@dataclass(frozen=True)
class Slot:
    """A string in a JSON body: how to build a body with `text` there (and a case's
    unique id), where the pointer points, whether free text (control characters kept)
    and how to read the stored value back."""

    name: str
    method: str
    url: Callable[[Corpus], str]
    build: Callable[[str, str], dict[str, Any]]
    pointer: str
    accepts: Callable[[str], bool]  # does a parsed text without NUL go in?
    read_back: Callable[[Corpus, str], Any] | None = None
    expected: Callable[[str], Any] = lambda text: text
    wrap: Callable[[str], str] = lambda mark: f"a{mark}b"
    created: int = 200

    def __str__(self) -> str:
        return self.name


def _ingest_url(_: Corpus) -> str:
    return INGEST


def _node(uid: str, **fields: Any) -> dict[str, Any]:
    return {"source": "manual", "nodes": [{"service_id": uid, **fields}]}


def _edge(uid: str, **attributes: Any) -> dict[str, Any]:
    return {
        "source": "manual",
        "edges": [{"source": uid, "target": f"{uid}-t", "attributes": attributes}],
    }


def _always(_: str) -> bool:
    return True


def _never(_: str) -> bool:
    return False


def _is_rate(text: str) -> bool:
    # A key's own rate is written as the API's pattern says (`600/minute`): nothing may
    # stand between the number and the '/' (RATE_PATTERN in rate_policy.py).
    return text == "600/minute"


SLOTS = [
    Slot(
        "node.display_name",
        "POST",
        _ingest_url,
        lambda uid, text: _node(uid, display_name=text),
        "/nodes/0/display_name",
        _always,
        lambda c, uid: get_service(c, uid)["display_name"],
    ),
    Slot(
        "node.team",
        "POST",
        _ingest_url,
        lambda uid, text: _node(uid, team=text),
        "/nodes/0/team",
        _always,
        lambda c, uid: get_service(c, uid)["team"],
    ),
    Slot(
        "node.metadata.key",
        "POST",
        _ingest_url,
        lambda uid, text: _node(uid, metadata={text: 1}),
        "/nodes/0/metadata",
        _always,
        lambda c, uid: get_service(c, uid)["metadata"],
        lambda text: {text: 1},
    ),
    Slot(
        "node.metadata.deep-value",
        "POST",
        _ingest_url,
        lambda uid, text: _node(uid, metadata={"a": [{"b": {"c": ["x", text]}}]}),
        "/nodes/0/metadata",
        _always,
        lambda c, uid: get_service(c, uid)["metadata"],
        lambda text: {"a": [{"b": {"c": ["x", text]}}]},
    ),
    Slot(
        "node.metadata.deep-key",
        "POST",
        _ingest_url,
        lambda uid, text: _node(uid, metadata={"a": {"b": [{text: True}]}}),
        "/nodes/0/metadata",
        _always,
        lambda c, uid: get_service(c, uid)["metadata"],
        lambda text: {"a": {"b": [{text: True}]}},
    ),
    Slot(
        "edge.protocol",
        "POST",
        _ingest_url,
        lambda uid, text: _edge(uid, protocol=text),
        "/edges/0/attributes/protocol",
        _always,
        lambda c, uid: first_edge(c, uid)["attributes"]["protocol"],
    ),
    Slot(
        "edge.retry_config.key",
        "POST",
        _ingest_url,
        lambda uid, text: _edge(uid, retry_config={text: 3}),
        "/edges/0/attributes/retry_config",
        _always,
        lambda c, uid: first_edge(c, uid)["attributes"]["retry_config"],
        lambda text: {text: 3},
    ),
    Slot(
        "edge.retry_config.deep-value",
        "POST",
        _ingest_url,
        lambda uid, text: _edge(uid, retry_config={"backoff": {"kinds": ["x", text]}}),
        "/edges/0/attributes/retry_config",
        _always,
        lambda c, uid: first_edge(c, uid)["attributes"]["retry_config"],
        lambda text: {"backoff": {"kinds": ["x", text]}},
    ),
    # Identifiers and enumerations: a pattern or a fixed set, so refused whatever it is.
    Slot(
        "node.service_id",
        "POST",
        _ingest_url,
        lambda uid, text: {"source": "manual", "nodes": [{"service_id": text}]},
        "/nodes/0/service_id",
        _never,
    ),
    Slot(
        "edge.source",
        "POST",
        _ingest_url,
        lambda uid, text: {"source": "manual", "edges": [{"source": text, "target": "x"}]},
        "/edges/0/source",
        _never,
    ),
    Slot(
        "edge.target",
        "POST",
        _ingest_url,
        lambda uid, text: {"source": "manual", "edges": [{"source": "x", "target": text}]},
        "/edges/0/target",
        _never,
    ),
    Slot(
        "ingest.source",
        "POST",
        _ingest_url,
        lambda uid, text: {"source": text, "edges": []},
        "/source",
        _never,
        wrap=lambda mark: f"manual{mark}",
    ),
    Slot(
        "node.criticality",
        "POST",
        _ingest_url,
        lambda uid, text: _node(uid, criticality=text),
        "/nodes/0/criticality",
        _never,
        wrap=lambda mark: f"high{mark}",
    ),
    Slot(
        "edge.communication_mode",
        "POST",
        _ingest_url,
        lambda uid, text: _edge(uid, communication_mode=text),
        "/edges/0/attributes/communication_mode",
        _never,
        wrap=lambda mark: f"sync{mark}",
    ),
    # PATCH an alert (a note with it, so asking for the same status again writes).
    Slot(
        "alert.actor",
        "PATCH",
        alert_url,
        lambda uid, text: {"status": "acknowledged", "actor": text, "note": uid},
        "/actor",
        _always,
        lambda c, uid: ok(c.client.get(alert_url(c)))["acknowledged_by"],
    ),
    Slot(
        "alert.note",
        "PATCH",
        alert_url,
        lambda uid, text: {"status": "acknowledged", "note": text},
        "/note",
        _always,
        lambda c, uid: ok(c.client.get(alert_url(c)))["note"],
    ),
    Slot(
        "alert.status",
        "PATCH",
        alert_url,
        lambda uid, text: {"status": text},
        "/status",
        _never,
        wrap=lambda mark: f"open{mark}",
    ),
    # POST an API key.
    Slot(
        "key.name",
        "POST",
        lambda _: KEYS,
        lambda uid, text: {"name": text, "scopes": ["read"]},
        "/name",
        _never,
        created=201,
    ),
    Slot(
        "key.scopes",
        "POST",
        lambda _: KEYS,
        lambda uid, text: {"name": uid, "scopes": [text]},
        "/scopes/0",
        _never,
        wrap=lambda mark: f"read{mark}",
        created=201,
    ),
    Slot(
        "key.rate_limit_ingestion",
        "POST",
        lambda _: KEYS,
        lambda uid, text: {"name": uid, "scopes": ["read"], "rate_limit_ingestion": text},
        "/rate_limit_ingestion",
        _is_rate,
        lambda c, uid: key_named(c, uid)["rate_limit_ingestion"],
        lambda text: "600/minute",  # stored as the canonical rate
        wrap=lambda mark: f"600{mark}/minute",
        created=201,
    ),
    Slot(
        "key.rate_limit_query",
        "POST",
        lambda _: KEYS,
        lambda uid, text: {"name": uid, "scopes": ["read"], "rate_limit_query": text},
        "/rate_limit_query",
        _is_rate,
        lambda c, uid: key_named(c, uid)["rate_limit_query"],
        lambda text: "600/minute",
        wrap=lambda mark: f"600{mark}/minute",
        created=201,
    ),
]


def json_text_with(body: dict[str, Any], char: Char) -> bytes:
    """The body as JSON text, with the character's fragment written where MARK is."""
    text = json.dumps(body, ensure_ascii=False).encode()
    assert text.count(MARK.encode()) == 1, text
    return text.replace(MARK.encode(), char.fragment)


@pytest.mark.parametrize("char", CHARS, ids=str)
@pytest.mark.parametrize("slot", SLOTS, ids=str)
def test_every_body_string_keeps_the_text_rule(corpus: Corpus, slot: Slot, char: Char) -> None:
    uid = case_id(f"cc-{slot.name}-{char.name}")
    body = slot.build(uid, slot.wrap(MARK))
    raw = json_text_with(body, char)
    url = slot.url(corpus)
    if char.value is None:  # not JSON
        response = refused(corpus, slot.method, url, 400, content=raw, headers=JSON_CONTENT)
        assert response.json()["type"] == PROBLEM_BASE + "malformed-json"
        return
    text = slot.wrap(char.value)
    if "\x00" in char.value or not slot.accepts(text):
        refused(corpus, slot.method, url, 422, slot.pointer, content=raw, headers=JSON_CONTENT)
        return
    response = send_json_text(corpus, slot.method, url, raw)
    ok(response, slot.created)
    assert slot.read_back is not None
    assert slot.read_back(corpus, uid) == slot.expected(text), (slot.name, char.name)


# The same text, found again through the string parameters that filter on it.
@pytest.mark.parametrize("char", [c for c in CHARS if c.value and "\x00" not in c.value], ids=str)
def test_control_characters_in_team_and_search_find_what_was_stored(
    corpus: Corpus, char: Char
) -> None:
    assert char.value is not None
    uid = case_id(f"find-{char.name}")
    team = f"team-{uid}{char.value}x"
    display = f"Name-{uid}{char.value}y"
    ok(corpus.client.post(INGEST, json=_node(uid, team=team, display_name=display)))
    by_team = ok(corpus.client.get(SERVICES, params={"team": team}))
    assert [s["service_id"] for s in by_team["items"]] == [uid]
    by_search = ok(corpus.client.get(SERVICES, params={"search": display.lower()}))
    assert [s["service_id"] for s in by_search["items"]] == [uid]


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()


# Query parameters, as a client percent-encodes them (UTF-8).
QUERY_SLOTS = [
    (SERVICES, "team", True),
    (SERVICES, "search", True),
    (SERVICES, "cursor", False),
    (ALERTS, "cursor", False),
    (GRAPH, "cursor", False),
]
QUERY_CHARS = [
    ("U+0000", "%00"),
    ("U+0001", "%01"),
    ("U+001F", "%1F"),
    ("U+007F", "%7F"),
    ("U+0085", "%C2%85"),
    ("U+D800-as-utf8", "%ED%A0%80"),  # not UTF-8: read as U+FFFD
    ("byte-FF", "%FF"),
]


@pytest.mark.parametrize(("name", "encoded"), QUERY_CHARS, ids=[c[0] for c in QUERY_CHARS])
@pytest.mark.parametrize(
    ("path", "parameter", "free"), QUERY_SLOTS, ids=[f"{p}?{n}" for p, n, _ in QUERY_SLOTS]
)
def test_every_string_parameter_keeps_the_text_rule(
    corpus: Corpus, path: str, parameter: str, free: bool, name: str, encoded: str
) -> None:
    url = f"{path}?{parameter}=q{encoded}z"  # text no stored service holds
    if name == "U+0000" or not free:
        refused(corpus, "GET", url, 400, f"/query/{parameter}")
        return
    before = corpus.stored.dump()
    answer = ok(corpus.client.get(url))
    assert answer["items"] == []
    assert corpus.stored.dump() == before


@pytest.mark.parametrize(
    ("path", "values"),
    [
        (SERVICES, ["\x00"]),
        (SERVICES, ["a\x00"]),
        (ALERTS, ["\x00"]),
        (ALERTS, ["2026-01-01T00:00:00+00:00", "\x00"]),
        (ALERTS, ["\x00", "a5d3b1c6-0b8e-4a3e-9a43-8f6f3c1d2e10"]),
        (GRAPH, ["\x00"]),
        (GRAPH, ["a\x00b"]),
        (SERVICES, ["\ud800"]),  # json.dumps escapes it; the cursor's JSON carries it
        (GRAPH, ["\udfff"]),
    ],
    ids=repr,
)
def test_a_cursor_that_decodes_to_nul_is_400(corpus: Corpus, path: str, values: list[str]) -> None:
    refused(corpus, "GET", path, 400, "/query/cursor", params={"cursor": _cursor(values)})


@pytest.mark.parametrize(
    "path",
    [
        f"{SERVICES}/a%00b",
        f"{SERVICES}/a%00b/dependencies",
        f"{SERVICES}/a%00b/impact",
        f"{SERVICES}/a%00b/availability",
        f"{SERVICES}/a%01b",
        f"{SERVICES}/a%C2%85b",
    ],
)
def test_control_characters_in_a_service_id_path_are_400(corpus: Corpus, path: str) -> None:
    refused(corpus, "GET", path, 400, "/path/service_id")


def test_nul_in_a_key_name_path_is_400(corpus: Corpus) -> None:
    refused(corpus, "DELETE", f"{KEYS}/a%00b", 400, "/path/name")


# =========================================================== 3. strict types


def _edge_attrs(**attributes: Any) -> dict[str, Any]:
    return {
        "source": "manual",
        "edges": [{"source": "st-a", "target": "st-b", "attributes": attributes}],
    }


def _node_fields(**fields: Any) -> dict[str, Any]:
    return {"source": "manual", "nodes": [{"service_id": "st-n", **fields}]}


ATTRIBUTE_POINTER = "/edges/0/attributes/{}"
STRICT_INGEST = [
    # (field, value): refused, the pointer names the attribute
    ("request_rate", True),
    ("request_rate", "42.0"),
    ("request_rate", -1.0),
    ("request_rate", [1.0]),
    ("latency_p95_ms", False),
    ("latency_p95_ms", "35.5"),
    ("latency_p95_ms", -0.5),
    ("error_rate", "0.1"),
    ("error_rate", 1.5),
    ("error_rate", True),
    ("timeout_ms", "500"),
    ("timeout_ms", 500.5),
    ("timeout_ms", True),
    ("timeout_ms", -1),
    ("timeout_ms", 86_400_001),
    ("timeout_ms", 2**63),
    ("timeout_ms", 2**70),
    ("timeout_ms", {"ms": 5}),
    ("confidence_score", "1"),
    ("confidence_score", True),
    ("confidence_score", 1.0000001),
    ("confidence_score", -0.1),
    ("criticality", 1),
    ("criticality", "HARD"),
    ("criticality", True),
    ("communication_mode", "SYNC"),
    ("communication_mode", 0),
    ("protocol", 5),
    ("protocol", ["grpc"]),
    ("protocol", "p" * 65),
    ("retry_config", []),
    ("retry_config", "3"),
    ("retry_config", 3),
]
STRICT_NODE = [
    ("criticality", 1),
    ("criticality", "High"),
    ("criticality", True),
    ("display_name", 5),
    ("display_name", "d" * 256),
    ("team", ["a"]),
    ("team", False),
    ("team", "t" * 256),
    ("metadata", []),
    ("metadata", "x"),
    ("metadata", 1),
    ("service_id", 1),
    ("service_id", ""),
    ("service_id", "-leading-dash"),
    ("service_id", "s" * 256),
    ("service_id", "sp ace"),
    ("service_id", "caf\u00e9"),
    ("service_id", None),
    ("service_id", "svc\n"),  # `$` in a Python pattern would let the newline through
]


@pytest.mark.parametrize(("name", "value"), STRICT_INGEST, ids=repr)
def test_edge_attributes_are_strict(corpus: Corpus, name: str, value: Any) -> None:
    body = _edge_attrs(**{name: value})
    refused(corpus, "POST", INGEST, 422, ATTRIBUTE_POINTER.format(name), json=body)


def test_a_whole_number_written_with_a_point_is_an_integer(corpus: Corpus) -> None:
    """JSON Schema, and so the OpenAPI document, counts 500.0 as an integer."""
    ok(corpus.client.post(INGEST, json=_edge_attrs(timeout_ms=500.0)))
    answer = ok(corpus.client.get(f"{SERVICES}/st-a/dependencies", params={"depth": 1}))
    (timeout,) = [e["attributes"]["timeout_ms"] for e in answer["edges"] if e["target"] == "st-b"]
    assert timeout == 500 and type(timeout) is int


@pytest.mark.parametrize(("name", "value"), STRICT_NODE, ids=repr)
def test_node_fields_are_strict(corpus: Corpus, name: str, value: Any) -> None:
    refused(corpus, "POST", INGEST, 422, f"/nodes/0/{name}", json=_node_fields(**{name: value}))


STRICT_SHAPES = [
    # (body, pointer)
    ({"source": "MANUAL"}, "/source"),
    ({"source": 1}, "/source"),
    ({"source": "somewhere"}, "/source"),
    ({"edges": []}, "/source"),
    ({"source": "manual", "nodes": {}}, "/nodes"),
    ({"source": "manual", "edges": {"source": "a", "target": "b"}}, "/edges"),
    ({"source": "manual", "edges": None}, "/edges"),
    ({"source": "manual", "edges": ["a->b"]}, "/edges/0"),
    ({"source": "manual", "nodes": [None]}, "/nodes/0"),
    ({"source": "manual", "edges": [{"source": "a"}]}, "/edges/0/target"),
    (
        {"source": "manual", "edges": [{"source": "a", "target": "b", "attributes": []}]},
        "/edges/0/attributes",
    ),
    (
        {"source": "manual", "edges": [{"source": "a", "target": "b", "attributes": "x"}]},
        "/edges/0/attributes",
    ),
    ({"source": "manual", "nodes": [{"team": "t"}]}, "/nodes/0/service_id"),
    # The second of two edges: the pointer says which.
    (
        {
            "source": "manual",
            "edges": [
                {"source": "a", "target": "b"},
                {"source": "a", "target": "b", "attributes": {"timeout_ms": "1"}},
            ],
        },
        "/edges/1/attributes/timeout_ms",
    ),
]


@pytest.mark.parametrize(("body", "pointer"), STRICT_SHAPES, ids=[p for _, p in STRICT_SHAPES])
def test_ingest_shapes_are_strict(corpus: Corpus, body: dict[str, Any], pointer: str) -> None:
    refused(corpus, "POST", INGEST, 422, pointer, json=body)


STRICT_KEYS = [
    ({"name": "k", "scopes": "read"}, "/scopes"),
    ({"name": "k", "scopes": ["read", 1]}, "/scopes/1"),
    ({"name": "k", "scopes": ["superuser"]}, "/scopes/0"),
    ({"name": "k", "scopes": ["READ"]}, "/scopes/0"),
    ({"name": "k", "scopes": []}, "/scopes"),
    ({"name": "k", "scopes": ["read", "write", "admin", "read"]}, "/scopes"),
    ({"name": "k", "scopes": None}, "/scopes"),
    ({"name": "k"}, "/scopes"),
    ({"scopes": ["read"]}, "/name"),
    ({"name": 1, "scopes": ["read"]}, "/name"),
    ({"name": "", "scopes": ["read"]}, "/name"),
    ({"name": "k" * 129, "scopes": ["read"]}, "/name"),
    ({"name": "has space", "scopes": ["read"]}, "/name"),
    ({"name": "k\n", "scopes": ["read"]}, "/name"),
    ({"name": "k", "scopes": ["read"], "expires_at": True}, "/expires_at"),
    ({"name": "k", "scopes": ["read"], "rate_limit_query": 600}, "/rate_limit_query"),
    ({"name": "k", "scopes": ["read"], "rate_limit_query": "fast"}, "/rate_limit_query"),
    ({"name": "k", "scopes": ["read"], "rate_limit_query": "0/minute"}, "/rate_limit_query"),
    ({"name": "k", "scopes": ["read"], "rate_limit_query": "6" * 33}, "/rate_limit_query"),
    (
        {"name": "k", "scopes": ["read"], "rate_limit_ingestion": "10/fortnight"},
        "/rate_limit_ingestion",
    ),
    (
        {"name": "k", "scopes": ["read"], "rate_limit_ingestion": ["10/minute"]},
        "/rate_limit_ingestion",
    ),
]


@pytest.mark.parametrize(("body", "pointer"), STRICT_KEYS, ids=repr)
def test_api_key_bodies_are_strict(corpus: Corpus, body: dict[str, Any], pointer: str) -> None:
    refused(corpus, "POST", KEYS, 422, pointer, json=body)


STRICT_PATCH = [
    ({"status": True}, "/status"),
    ({"status": 1}, "/status"),
    ({"status": "ACKNOWLEDGED"}, "/status"),
    ({"status": "closed"}, "/status"),
    ({"status": None}, "/status"),
    ({}, "/status"),
    ({"actor": "x"}, "/status"),
    ({"status": "acknowledged", "actor": 1}, "/actor"),
    ({"status": "acknowledged", "actor": ""}, "/actor"),
    ({"status": "acknowledged", "actor": "   "}, "/actor"),  # stripped, then empty
    ({"status": "acknowledged", "actor": "\u0085"}, "/actor"),  # NEL is whitespace
    ({"status": "acknowledged", "actor": "a" * 256}, "/actor"),
    ({"status": "acknowledged", "actor": ["alice"]}, "/actor"),
    ({"status": "acknowledged", "note": 1}, "/note"),
    ({"status": "acknowledged", "note": "n" * 4001}, "/note"),
    ({"status": "acknowledged", "note": {"text": "x"}}, "/note"),
]


@pytest.mark.parametrize(("body", "pointer"), STRICT_PATCH, ids=repr)
def test_alert_updates_are_strict(corpus: Corpus, body: dict[str, Any], pointer: str) -> None:
    refused(corpus, "PATCH", alert_url(corpus), 422, pointer, json=body)


# ====================================================== 4. huge and deep bodies, numbers

JSON_BODY_ENDPOINTS = [
    ("POST", lambda c: INGEST),
    ("PATCH", alert_url),
    ("POST", lambda c: KEYS),
]
ENDPOINT_IDS = ["ingest", "alert", "api-key"]


def _padded(size: int) -> bytes:
    """A valid ingestion body of exactly `size` bytes."""
    head = b'{"source":"manual","nodes":[{"service_id":"big","display_name":"'
    tail = b'"}]}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize(("method", "url"), JSON_BODY_ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("size", [BODY_LIMIT + 1, 4 * BODY_LIMIT, 16 * 1024 * 1024])
def test_a_body_over_the_limit_is_413(
    corpus: Corpus, method: str, url: Callable[[Corpus], str], size: int
) -> None:
    refused(corpus, method, url(corpus), 413, content=_padded(size), headers=JSON_CONTENT)


@pytest.mark.parametrize(("method", "url"), JSON_BODY_ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_streamed_body_over_the_limit_is_413(
    corpus: Corpus, method: str, url: Callable[[Corpus], str]
) -> None:
    """No Content-Length (chunked): counted as it arrives."""
    body = _padded(BODY_LIMIT + 4096)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    refused(corpus, method, url(corpus), 413, content=chunks(), headers=JSON_CONTENT)


def _nested(depth: int, leaf: str = "1", kind: str = "object") -> str:
    if kind == "object":
        return '{"a":' * depth + leaf + "}" * depth
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("kind", ["object", "array"])
@pytest.mark.parametrize(
    ("where", "template"),
    [
        ("metadata", '{"source":"manual","nodes":[{"service_id":"deep","metadata":{"m":%s}}]}'),
        (
            "retry_config",
            '{"source":"manual","edges":[{"source":"deep","target":"deep-t",'
            '"attributes":{"retry_config":{"r":%s}}}]}',
        ),
        ("nodes", '{"source":"manual","nodes":%s}'),
    ],
)
@pytest.mark.parametrize("depth", [1000, 10_000])
def test_nesting_too_deep_is_refused_never_500(
    corpus: Corpus, where: str, template: str, kind: str, depth: int
) -> None:
    """Nesting past the parser's limit: pydantic's parser refuses it (invalid JSON for
    it, a 400); it must never reach the encoder, the database or the recursion limit."""
    raw = (template % _nested(depth, kind=kind)).encode()
    refused(corpus, "POST", INGEST, 400, content=raw, headers=JSON_CONTENT)


@pytest.mark.parametrize("kind", ["object", "array"])
def test_nesting_within_the_limit_is_stored_and_reads_back(corpus: Corpus, kind: str) -> None:
    uid = f"deep-ok-{kind}"
    metadata = json.loads('{"m":' + _nested(190, '"leaf"', kind) + "}")
    ok(corpus.client.post(INGEST, json=_node(uid, metadata=metadata)))
    assert get_service(corpus, uid)["metadata"] == metadata


BIG_NUMBERS = [
    # (JSON literal, where, pointer): numbers JSON allows that the store cannot keep as sent
    ("18446744073709551616", "metadata", "/nodes/0/metadata"),  # 2**64
    ("-9223372036854775809", "metadata", "/nodes/0/metadata"),  # -(2**63) - 1
    ("123456789012345678901234567890", "metadata", "/nodes/0/metadata"),
    ("1" + "0" * 4000, "metadata", "/nodes/0/metadata"),
    # Whole numbers have one rule however they are written: JSON (and JSON Schema) cannot
    # tell 1e300 from a 301-digit integer, so beyond 64 bits both are refused.
    ("1e300", "metadata", "/nodes/0/metadata"),
    ("1.7976931348623157e308", "retry_config", "/edges/0/attributes/retry_config"),
    ("-1e20", "metadata", "/nodes/0/metadata"),
    ("18446744073709551616", "retry_config", "/edges/0/attributes/retry_config"),
    ('[1, {"n": 99999999999999999999}]', "metadata", "/nodes/0/metadata"),
    # Beyond the largest double: read as infinity, which JSON cannot hold (orjson
    # would write it as null: the document would change).
    ("1e400", "metadata", "/nodes/0/metadata"),
    ("-1e400", "metadata", "/nodes/0/metadata"),
    ("1e400", "retry_config", "/edges/0/attributes/retry_config"),
]


def _with_number(where: str, literal: str) -> bytes:
    if where == "metadata":
        return (
            '{"source":"manual","nodes":[{"service_id":"num","metadata":{"n":@N@}}]}'.replace(
                "@N@", literal
            )
        ).encode()
    return (
        '{"source":"manual","edges":[{"source":"num","target":"num-t",'
        '"attributes":{"retry_config":{"n":@N@}}}]}'.replace("@N@", literal)
    ).encode()


@pytest.mark.parametrize(("literal", "where", "pointer"), BIG_NUMBERS, ids=lambda v: str(v)[:24])
def test_numbers_the_store_cannot_keep_are_422(
    corpus: Corpus, literal: str, where: str, pointer: str
) -> None:
    raw = _with_number(where, literal)
    refused(corpus, "POST", INGEST, 422, pointer, content=raw, headers=JSON_CONTENT)


@pytest.mark.parametrize(
    "number",
    [2**64 - 1, -(2**63), 2**63 - 1, 0.1, 5e-324, 1.5e-300, 1e16, 1.5, -2.5e-10],
    ids=repr,
)
def test_numbers_at_the_edges_of_64_bits_read_back(corpus: Corpus, number: Any) -> None:
    uid = case_id(f"num-{number!r}")
    metadata = {"n": number, "deep": [{"n": number}]}
    ok(corpus.client.post(INGEST, json=_node(uid, metadata=metadata)))
    stored = get_service(corpus, uid)["metadata"]
    assert stored == metadata
    assert type(stored["n"]) is type(number)


NON_JSON_NUMBERS = ["NaN", "Infinity", "-Infinity", "+1", "01", "1.", ".5", "0x10", "1e"]


@pytest.mark.parametrize("literal", NON_JSON_NUMBERS)
@pytest.mark.parametrize("where", ["request_rate", "metadata", "retry_config"])
def test_number_literals_json_does_not_have_are_refused(
    corpus: Corpus, where: str, literal: str
) -> None:
    """NaN and Infinity are not JSON (RFC 8259 section 6), nor are the others. The
    parser reads NaN and Infinity as numbers, which the model refuses as not finite (a
    422 naming the field); the rest do not parse (a 400)."""
    if where == "request_rate":
        raw = (
            '{"source":"manual","edges":[{"source":"nan","target":"nan-t",'
            '"attributes":{"request_rate":@N@}}]}'.replace("@N@", literal)
        ).encode()
    else:
        raw = _with_number(where, literal)
    if literal.lstrip("-") in ("NaN", "Infinity"):
        pointer = {
            "request_rate": "/edges/0/attributes/request_rate",
            "metadata": "/nodes/0/metadata",
            "retry_config": "/edges/0/attributes/retry_config",
        }[where]
        refused(corpus, "POST", INGEST, 422, pointer, content=raw, headers=JSON_CONTENT)
        return
    response = refused(corpus, "POST", INGEST, 400, content=raw, headers=JSON_CONTENT)
    assert response.json()["type"] == PROBLEM_BASE + "malformed-json"


NOT_AN_OBJECT = ["[]", '[{"source":"manual"}]', '"manual"', '""', "null", "0", "true", "1.5"]


@pytest.mark.parametrize(("method", "url"), JSON_BODY_ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
def test_json_that_is_not_an_object_is_422(
    corpus: Corpus, method: str, url: Callable[[Corpus], str], raw: str
) -> None:
    """Valid JSON, the wrong shape: a 422 whose pointer is the whole document ("")."""
    refused(corpus, method, url(corpus), 422, "", content=raw.encode(), headers=JSON_CONTENT)


MALFORMED = [
    b"",
    b" ",
    b"\r\n",
    b"{",
    b'{"source":"manual"',
    b'{"source":"manual",}',
    b"{'source':'manual'}",
    b'{"source":"manual"} {}',
    b'{"source":"manual"} x',
    b'{"source":"manual" /* comment */}',
    b'\xef\xbb\xbf{"source":"manual"}',  # a UTF-8 byte order mark
    '{"source":"manual"}'.encode("utf-16"),
    b'{source:"manual"}',
    b'{"source":"manual\n"}',  # a raw newline inside a string
    b"\x00",
]


@pytest.mark.parametrize(("method", "url"), JSON_BODY_ENDPOINTS, ids=ENDPOINT_IDS)
@pytest.mark.parametrize("raw", MALFORMED, ids=lambda b: repr(b)[:40])
def test_unparseable_json_is_400(
    corpus: Corpus, method: str, url: Callable[[Corpus], str], raw: bytes
) -> None:
    response = refused(corpus, method, url(corpus), 400, content=raw, headers=JSON_CONTENT)
    assert response.json()["type"] == PROBLEM_BASE + "malformed-json"


# ======================================================= 5. wrong content types

REFUSED_TYPES = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/xml",
    "text/xml",
    "multipart/form-data; boundary=corpus",
    "text/json",
    "application/jsonp",
    "application/json-seq",
    "application/x-ndjson",
    "application/octet-stream",
    "*/*",
    "application",
    "json",
    "",
    None,  # no Content-Type at all
]
ACCEPTED_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    "Application/JSON",
    "application/merge-patch+json",
    "application/vnd.slo-engine+json",
]


def _valid_body(endpoint: str, tag: str) -> dict[str, Any]:
    if endpoint == "ingest":
        return {"source": "manual", "edges": [{"source": f"{tag}-a", "target": f"{tag}-b"}]}
    if endpoint == "alert":
        return {"status": "acknowledged", "note": tag}
    return {"name": tag, "scopes": ["read"]}


@pytest.mark.parametrize(
    ("method", "url", "endpoint"),
    [(m, u, i) for (m, u), i in zip(JSON_BODY_ENDPOINTS, ENDPOINT_IDS, strict=True)],
    ids=ENDPOINT_IDS,
)
@pytest.mark.parametrize("content_type", REFUSED_TYPES, ids=repr)
def test_a_json_body_without_a_json_content_type_is_415(
    corpus: Corpus,
    method: str,
    url: Callable[[Corpus], str],
    endpoint: str,
    content_type: str | None,
) -> None:
    """A valid JSON body with a wrong or missing media type (a form body with the form
    type): refused on the type alone, before the body is read."""
    raw = (
        b"source=manual&edges="
        if content_type == "application/x-www-form-urlencoded"
        else json.dumps(_valid_body(endpoint, "ct-refused")).encode()
    )
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = refused(corpus, method, url(corpus), 415, content=raw, headers=headers)
    header = "Accept-Post" if method == "POST" else "Accept-Patch"
    assert response.headers[header] == "application/json"


@pytest.mark.parametrize(
    ("method", "url", "endpoint"),
    [(m, u, i) for (m, u), i in zip(JSON_BODY_ENDPOINTS, ENDPOINT_IDS, strict=True)],
    ids=ENDPOINT_IDS,
)
@pytest.mark.parametrize("content_type", ACCEPTED_TYPES)
def test_json_content_types_are_accepted(
    corpus: Corpus, method: str, url: Callable[[Corpus], str], endpoint: str, content_type: str
) -> None:
    tag = case_id(f"ct-{endpoint}-{content_type}")
    raw = json.dumps(_valid_body(endpoint, tag)).encode()
    response = corpus.client.request(
        method, url(corpus), content=raw, headers={"Content-Type": content_type}
    )
    ok(response, 201 if endpoint == "api-key" else 200)


# ================================================ 6. huge request heads, real server


@pytest.fixture(scope="module")
def served(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `slo-cli serve` on the corpus' database (it only reads it here)."""
    env = served_env(corpus.url)
    log = tmp_path_factory.mktemp("served") / f"{corpus.engine}.log"
    process, url = start_api(env, log)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _address(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    assert parsed.host and parsed.port
    return parsed.host, parsed.port


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, bool]:
    """One HTTP/1.1 response with a Content-Length: (status, headers, body, whether the
    server closed the connection after it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        rest += chunk
    closed = False
    if headers.get("connection", "").lower() == "close":
        try:
            closed = sock.recv(1) == b""
        except ConnectionResetError:
            closed = True
    return int(status_line.split(" ")[1]), headers, rest[:length], closed


def _request_head(target: str, extra: list[tuple[str, str]], key: str | None = None) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1"]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


HUGE_HEADS = {
    "one 40 KiB header": ("/api/v1/health", [("X-Padding", "a" * 40 * 1024)]),
    "400 headers of 100 bytes": (
        "/api/v1/health",
        [(f"X-Pad-{i}", "b" * 100) for i in range(400)],
    ),
    "a 40 KiB request target": ("/api/v1/health?q=" + "c" * 40 * 1024, []),
    "a 40 KiB Authorization": (SERVICES, [("Authorization", "Bearer slo_" + "d" * 40 * 1024)]),
    "just over the limit": ("/api/v1/health", [("X-Padding", "e" * HEADER_LIMIT)]),
}


@pytest.mark.parametrize("case", list(HUGE_HEADS))
def test_a_head_over_the_limit_is_431_and_the_connection_closes(
    corpus: Corpus, served: str, case: str
) -> None:
    target, extra = HUGE_HEADS[case]
    before = corpus.stored.dump()
    with socket.create_connection(_address(served), timeout=10) as sock:
        sock.sendall(_request_head(target, extra))
        status, headers, body, closed = _read_response(sock)
    assert status == 431
    assert headers["content-type"] == PROBLEM
    assert headers["connection"].lower() == "close"
    assert closed, "the server kept the connection open after a 431"
    problem = json.loads(body)
    assert problem.keys() == PROBLEM_FIELDS, problem
    assert problem["status"] == 431
    assert problem["type"] == PROBLEM_BASE + "header-fields-too-large"
    assert problem["instance"] == target.split("?", 1)[0][:256]
    uuid.UUID(problem["correlation_id"])
    assert corpus.stored.dump() == before
    assert httpx.get(f"{served}/api/v1/health", timeout=10).status_code == 200


def test_a_30_kib_head_is_served_and_the_count_restarts_per_request(
    corpus: Corpus, served: str
) -> None:
    """Two requests with 30 KiB heads on one keep-alive connection: 60 KiB in all, each
    under the limit."""
    with socket.create_connection(_address(served), timeout=10) as sock:
        for target in ("/api/v1/health", SERVICES):
            head = _request_head(target, [("X-Padding", "f" * 30 * 1024)], corpus.admin_key)
            assert len(head) < HEADER_LIMIT
            sock.sendall(head)
            status, _, body, closed = _read_response(sock)
            assert status == 200, body[:500]
            assert not closed


def test_a_64_mib_head_is_cut_off_early(corpus: Corpus, served: str) -> None:
    """A 64 MiB header streamed over a raw socket: the server closes the connection
    after at most the limit plus one read, so the client cannot send more than what
    the two sockets' buffers hold (a small send buffer keeps that count honest)."""
    total = 64 * 1024 * 1024
    chunk = b"g" * 16 * 1024
    sent = 0
    refused_with: str | None = None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)
    sock.settimeout(10)
    started = time.monotonic()
    with sock:
        sock.connect(_address(served))
        sent += sock.send(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        while sent < total:
            try:
                sent += sock.send(chunk)
            except (BrokenPipeError, ConnectionResetError) as error:
                refused_with = type(error).__name__
                break
            except TimeoutError:
                refused_with = "timeout: the server stopped reading but kept the connection"
                break
    elapsed = time.monotonic() - started
    assert refused_with in ("BrokenPipeError", "ConnectionResetError"), (refused_with, sent)
    assert sent <= 1024 * 1024, f"{sent} bytes were sent before the server closed"
    assert elapsed < 10
    assert httpx.get(f"{served}/api/v1/health", timeout=10).status_code == 200
    print(f"64 MiB head: refused after {sent} bytes ({refused_with}, {elapsed:.3f} s)")


MALFORMED_HEADS = {
    # Both framings at once: a smuggling attempt; the server must not pick one.
    "Content-Length and Transfer-Encoding": (
        b"POST /api/v1/services/dependencies HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "a negative Content-Length": (
        b"POST /api/v1/services/dependencies HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: -1\r\n\r\n"
    ),
    "NUL in a header name": b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A\x00: b\r\n\r\n",
    "NUL in the request target": b"GET /api/v1/he\x00alth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "not HTTP": b"GARBAGE\r\n\r\n",
}


@pytest.mark.parametrize("case", list(MALFORMED_HEADS))
def test_a_malformed_request_head_is_a_400_problem_and_the_connection_closes(
    corpus: Corpus, served: str, case: str
) -> None:
    """Refused by the HTTP parser, before the app: still a problem, like every answer
    (docs/api.md: every answer carries X-Correlation-ID and nosniff)."""
    before = corpus.stored.dump()
    with socket.create_connection(_address(served), timeout=10) as sock:
        sock.sendall(MALFORMED_HEADS[case])
        status, headers, body, closed = _read_response(sock)
    assert status == 400
    assert closed, "the server kept a connection whose framing it could not read"
    assert corpus.stored.dump() == before
    assert httpx.get(f"{served}/api/v1/health", timeout=10).status_code == 200
    assert headers["content-type"] == PROBLEM, (headers, body[:300])
    assert headers.get("x-content-type-options") == "nosniff", headers
    assert "x-correlation-id" in headers, headers
    problem = json.loads(body)
    assert problem.keys() >= PROBLEM_FIELDS, problem
    assert problem["status"] == 400


# ================================================================= 7. everything else

UNKNOWN_FIELDS = [
    ("POST", lambda c: INGEST, {"source": "manual", "extra": 1}, "/extra"),
    (
        "POST",
        lambda c: INGEST,
        {"source": "manual", "edges": [{"source": "a", "target": "b", "weight": 2}]},
        "/edges/0/weight",
    ),
    (
        "POST",
        lambda c: INGEST,
        {
            "source": "manual",
            "edges": [{"source": "a", "target": "b", "attributes": {"weight": 2}}],
        },
        "/edges/0/attributes/weight",
    ),
    (
        "POST",
        lambda c: INGEST,
        {"source": "manual", "nodes": [{"service_id": "a", "owner": "x"}]},
        "/nodes/0/owner",
    ),
    ("PATCH", alert_url, {"status": "acknowledged", "assignee": "bob"}, "/assignee"),
    ("POST", lambda c: KEYS, {"name": "k", "scopes": ["read"], "owner": "x"}, "/owner"),
    ("POST", lambda c: KEYS, {"name": "k", "scopes": ["read"], "key": "slo_x"}, "/key"),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "pointer"), UNKNOWN_FIELDS, ids=[u[3] for u in UNKNOWN_FIELDS]
)
def test_unknown_fields_are_422(
    corpus: Corpus, method: str, url: Callable[[Corpus], str], body: Any, pointer: str
) -> None:
    refused(corpus, method, url(corpus), 422, pointer, json=body)


def test_of_duplicate_member_names_the_last_one_counts(corpus: Corpus) -> None:
    """RFC 8259 section 4 leaves duplicate names to the parser; pydantic's, like
    ECMAScript's JSON.parse, keeps the last one, and the model validates that value
    (docs/decisions.md). Deterministic on both engines, never a 500."""
    raw = b'{"name":"dup","scopes":["admin"],"scopes":["read"]}'
    created = ok(corpus.client.post(KEYS, content=raw, headers=JSON_CONTENT), 201)
    assert created["scopes"] == ["read"]
    raw = b'{"source":"manual","nodes":[{"service_id":"dup","team":"a","team":"b"}]}'
    ok(corpus.client.post(INGEST, content=raw, headers=JSON_CONTENT))
    assert get_service(corpus, "dup")["team"] == "b"
    # The last value is validated like any other.
    raw = b'{"name":"dup2","scopes":["read"],"scopes":"admin"}'
    refused(corpus, "POST", KEYS, 422, "/scopes", content=raw, headers=JSON_CONTENT)


LONG = "a" * 10_000
BAD_PARAMETERS = [
    # (path, pointer)
    (f"{SERVICES}/{LONG}", "/path/service_id"),
    (f"{SERVICES}/{LONG}/dependencies", "/path/service_id"),
    (f"{SERVICES}/{LONG}/impact", "/path/service_id"),
    (f"{SERVICES}/{LONG}/availability", "/path/service_id"),
    (f"{SERVICES}/-a", "/path/service_id"),
    (f"{SERVICES}/svc%0A", "/path/service_id"),
    (f"{SERVICES}/cycle-a/dependencies?depth=11", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?depth=0", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?depth=-1", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?depth=1.5", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?depth=three", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?depth=99999999999999999999999", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?depth=", "/query/depth"),
    (f"{SERVICES}/cycle-a/dependencies?direction=sideways", "/query/direction"),
    (f"{SERVICES}/cycle-a/dependencies?include_stale=maybe", "/query/include_stale"),
    (f"{SERVICES}/cycle-a/dependencies?max_nodes=0", "/query/max_nodes"),
    (f"{SERVICES}/cycle-a/dependencies?max_nodes=100001", "/query/max_nodes"),
    (f"{SERVICES}/cycle-a/dependencies?format=xml", "/query/format"),
    (f"{SERVICES}/cycle-a/dependencies?format=JSON", "/query/format"),
    (f"{SERVICES}/cycle-a/impact?depth=11", "/query/depth"),
    (f"{SERVICES}/cycle-a/impact?max_affected=0", "/query/max_affected"),
    (f"{SERVICES}/cycle-a/availability?max_terms=0", "/query/max_terms"),
    (f"{SERVICES}/cycle-a/availability?include_stale=2", "/query/include_stale"),
    (f"{SERVICES}?limit=0", "/query/limit"),
    (f"{SERVICES}?limit=1001", "/query/limit"),
    (f"{SERVICES}?limit=ten", "/query/limit"),
    (f"{SERVICES}?criticality=extreme", "/query/criticality"),
    (f"{SERVICES}?discovered=maybe", "/query/discovered"),
    (f"{SERVICES}?team={'t' * 256}", "/query/team"),
    (f"{SERVICES}?search={'s' * 256}", "/query/search"),
    (f"{SERVICES}?cursor={'A' * 2049}", "/query/cursor"),
    (f"{SERVICES}?cursor=not%20base64!", "/query/cursor"),
    (f"{SERVICES}?cursor={_cursor(['a', 'b'])}", "/query/cursor"),  # the wrong length
    (f"{SERVICES}?cursor={_cursor([[[[['a']]]]])}", "/query/cursor"),
    (f"{SERVICES}?cursor={_cursor([{'a': 1}])}", "/query/cursor"),
    (f"{SERVICES}?cursor={_cursor([1])}", "/query/cursor"),
    (f"{SERVICES}?cursor=AAAA", "/query/cursor"),
    (f"{ALERTS}?limit=0", "/query/limit"),
    (f"{ALERTS}?status=closed", "/query/status"),
    (f"{ALERTS}?cursor={'A' * 2049}", "/query/cursor"),
    (
        f"{ALERTS}?cursor={_cursor(['9999-12-31T23:59:59-23:59', str(uuid.UUID(int=0))])}",
        "/query/cursor",
    ),
    (f"{ALERTS}?cursor={_cursor(['yesterday', str(uuid.UUID(int=0))])}", "/query/cursor"),
    (f"{ALERTS}?cursor={_cursor(['2026-01-01T00:00:00Z', 'not-a-uuid'])}", "/query/cursor"),
    (f"{GRAPH}?format=xml", "/query/format"),
    (f"{GRAPH}?format=", "/query/format"),
    (f"{GRAPH}?limit=0", "/query/limit"),
    (f"{GRAPH}?limit=2001", "/query/limit"),
    (f"{GRAPH}?include_stale=maybe", "/query/include_stale"),
    (f"{GRAPH}?cursor={'A' * 2049}", "/query/cursor"),
    (f"{GRAPH}?cursor={_cursor([1, 2])}", "/query/cursor"),
    (f"{GRAPH}?format=dot&cursor={_cursor(['a'])}", "/query/cursor"),
    (f"{KEYS}/{LONG}", "/path/name"),
]


@pytest.mark.parametrize(("path", "pointer"), BAD_PARAMETERS, ids=lambda v: str(v)[:60])
def test_bad_parameters_are_400_with_a_pointer(corpus: Corpus, path: str, pointer: str) -> None:
    method = "DELETE" if path.startswith(KEYS) else "GET"
    refused(corpus, method, path, 400, pointer)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", f"{ALERTS}/{LONG}"),
        ("PATCH", f"{ALERTS}/not-a-uuid"),
        ("PATCH", f"{ALERTS}/{uuid.UUID(int=0)}"),
        ("GET", f"{ALERTS}/{LONG}"),
        ("GET", f"{ALERTS}/a%00b"),
        ("GET", f"{SERVICES}/no-such-service"),
        ("GET", f"{SERVICES}/no-such-service/dependencies"),
        ("DELETE", f"{KEYS}/no-such-key"),
        # DELETE /services/{service_id} of a service named "dependencies" (none is).
        ("DELETE", INGEST),
        ("DELETE", f"{SERVICES}/a/dependencies/b"),
    ],
    ids=lambda v: str(v)[:60],
)
def test_unknown_ids_are_404(corpus: Corpus, method: str, path: str) -> None:
    """An alert id is opaque: one that is no alert's (whatever its form) is a 404."""
    body = {"status": "acknowledged", "note": "x"} if method == "PATCH" else None
    refused(corpus, method, path, 404, json=body)


METHODS = {
    KEYS: {"GET", "POST"},
    "{alert}": {"GET", "PATCH"},
    # The literal path is ingestion; Allow does not list the GET of /services/{service_id}.
    INGEST: {"POST"},
    GRAPH: {"GET"},
    ALERTS: {"GET"},
}
NOT_ALLOWED = [
    ("PUT", KEYS),
    ("PATCH", KEYS),
    ("DELETE", KEYS),
    ("PUT", "{alert}"),
    ("DELETE", "{alert}"),
    ("POST", "{alert}"),
    ("PUT", INGEST),
    ("POST", GRAPH),
    ("DELETE", GRAPH),
    ("POST", ALERTS),
    ("PATCH", ALERTS),
]


@pytest.mark.parametrize(("method", "path"), NOT_ALLOWED, ids=str)
def test_a_method_not_allowed_is_405_listing_every_allowed_method(
    corpus: Corpus, method: str, path: str
) -> None:
    url = alert_url(corpus) if path == "{alert}" else path
    response = refused(corpus, method, url, 405, json={"status": "resolved"})
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert METHODS[path] <= allowed, (method, path, response.headers["allow"])
    assert allowed <= METHODS[path] | {"HEAD", "OPTIONS"}, response.headers["allow"]


def test_refused_writes_leave_no_trace(corpus: Corpus) -> None:
    """Requests that pass the schema and are refused later (a name taken, an
    alert change not allowed): the transaction is rolled back whole."""
    ok(corpus.client.post(KEYS, json={"name": "taken", "scopes": ["read"]}), 201)
    refused(corpus, "POST", KEYS, 409, json={"name": "taken", "scopes": ["admin"]})
    ok(corpus.client.patch(alert_url(corpus), json={"status": "resolved", "note": "done"}))
    # resolved -> acknowledged is not a transition a client may ask for
    refused(corpus, "PATCH", alert_url(corpus), 409, json={"status": "acknowledged"})
    ok(corpus.client.patch(alert_url(corpus), json={"status": "open", "note": "again"}))


@pytest.mark.parametrize("wildcard", ["%", "_", "\\", "%%", "[a]"])
def test_search_wildcards_are_literal(corpus: Corpus, wildcard: str) -> None:
    uid = case_id(f"wild-{ord(wildcard[0])}-{len(wildcard)}")
    ok(corpus.client.post(INGEST, json=_node(uid, display_name=f"x{wildcard}y")))
    found = ok(corpus.client.get(SERVICES, params={"search": wildcard, "limit": 1000}))
    ids = [s["service_id"] for s in found["items"]]
    assert uid in ids
    for service in found["items"]:
        assert wildcard in service["service_id"] + (service["display_name"] or ""), service


@pytest.mark.parametrize("given", ["x" * 129, "<script>", "a b", "id\u00e9", "../../etc/passwd?x"])
def test_an_insane_correlation_id_is_replaced(corpus: Corpus, given: str) -> None:
    response = refused(
        corpus,
        "POST",
        INGEST,
        400,
        content=b"{",
        headers={**JSON_CONTENT, "X-Correlation-ID": given.encode()},
    )
    assert response.headers["x-correlation-id"] != given
    uuid.UUID(response.headers["x-correlation-id"])
