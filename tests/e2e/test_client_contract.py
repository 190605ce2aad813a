"""The Python client (clients/python) against the contract it is written by hand from:
the OpenAPI document a real `slo-cli serve` publishes at /openapi.json.

* every operation the client wraps exists, with its operation id, method and path, the
  same path parameters, query parameters the operation has (and every required one),
  and request body and answer schemas the client's models match (by their fields);
* every model of the client matches its schema: no field the schema lacks, every
  field the schema requires, nothing required the server may leave out, and each
  field of a compatible shape (types, nullability, formats, enum values, items,
  references to the same schemas); every enumeration has the same values.

A server may add optional fields and parameters (answers keep unknown fields in
`model_extra`), so those alone are no drift; anything else fails here and names itself.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from slo_engine_client import models
from slo_engine_client._operations import OPERATIONS, Operation
from slo_engine_client.models import Answer, Body
from tests.local_servers import served_env, start_api

REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def document(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The OpenAPI document of a real server (no key needed for it)."""
    directory = tmp_path_factory.mktemp("client-contract")
    database = directory / "slo_engine.db"
    shutil.copyfile(sqlite_template, database)
    process, url = start_api(
        served_env(f"sqlite+aiosqlite:///{database}"), directory / "server.log"
    )
    try:
        response = httpx.get(f"{url}/openapi.json", timeout=30)
        assert response.status_code == 200
        yield response.json()
    finally:
        process.terminate()
        process.wait(timeout=10)


def schema_name(model: type[BaseModel] | type[Enum]) -> str:
    """The name of the schema a client class mirrors in the document."""
    return str(getattr(model, "openapi_name", model.__name__))


def client_classes() -> list[type[BaseModel] | type[Enum]]:
    found: list[type[BaseModel] | type[Enum]] = []
    for value in vars(models).values():
        if not isinstance(value, type) or value.__module__ != models.__name__:
            continue
        model = issubclass(value, BaseModel) and value not in (Answer, Body, BaseModel)
        if model or issubclass(value, Enum):
            found.append(value)
    return found


def ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return None if ref is None else str(ref).rsplit("/", 1)[-1]


# ------------------------------------------------------------------ operations


def operation_of(document: Any, operation: Operation) -> dict[str, Any]:
    path = document["paths"].get(operation.path)
    assert path is not None, f"{operation.operation_id}: no path {operation.path}"
    found = path.get(operation.method.lower())
    assert found is not None, (
        f"{operation.operation_id}: {operation.path} has no {operation.method}"
    )
    assert found["operationId"] == operation.operation_id
    return dict(found)


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_each_wrapped_operation_is_the_servers(document: Any, operation_id: str) -> None:
    operation = OPERATIONS[operation_id]
    published = operation_of(document, operation)
    parameters = published.get("parameters", [])
    in_path = {p["name"] for p in parameters if p["in"] == "path"}
    in_query = {p["name"]: p.get("required", False) for p in parameters if p["in"] == "query"}
    assert set(re.findall(r"{(\w+)}", operation.path)) == in_path
    assert operation.query <= set(in_query), f"{operation_id}: not published: " + str(
        sorted(operation.query - set(in_query))
    )
    required = {name for name, needed in in_query.items() if needed}
    assert operation.required_query == required, operation_id

    body = published.get("requestBody", {}).get("content", {}).get("application/json")
    if operation.body is None:
        assert body is None, f"{operation_id} takes a body the client does not send"
    else:
        assert body is not None, f"{operation_id} takes no JSON body"
        assert model_problems(document, operation.body, body["schema"]) == []

    responses = published["responses"]
    success = responses.get("200") or responses.get("201")
    assert success is not None
    answer = success.get("content", {}).get("application/json")
    if operation.answer is not None:
        assert answer is not None, f"{operation_id} answers no JSON"
        # By its fields: the server may answer a schema that extends the client's.
        assert model_problems(document, operation.answer, answer["schema"]) == []


def test_the_operation_ids_the_client_wraps(document: Any) -> None:
    published = {
        op["operationId"]
        for path in document["paths"].values()
        for op in path.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert set(OPERATIONS) <= published
    # The reads and the ingestion the client promises, at least.
    assert {
        "getDependencies",
        "getService",
        "listServices",
        "getImpact",
        "getAvailability",
        "listCycleAlerts",
        "listChanges",
        "getGraphDiff",
        "ingestGraph",
    } <= set(OPERATIONS)


# ------------------------------------------------------------------ models


def variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    if "anyOf" in schema:
        return [v for option in schema["anyOf"] for v in variants(option)]
    if "oneOf" in schema:
        return [v for option in schema["oneOf"] for v in variants(option)]
    return [schema]


def accepts_anything(schema: Any) -> bool:
    if schema is True or schema == {}:
        return True
    return isinstance(schema, dict) and not (
        {"type", "$ref", "anyOf", "oneOf", "enum", "const"} & set(schema)
    )


def compatible(mine: Any, theirs: Any, where: str) -> list[str]:  # noqa: PLR0911
    """What makes the client's schema `mine` differ from the server's `theirs` (empty
    when the client reads everything the server may send, and claims nothing else)."""
    if accepts_anything(mine):
        return []
    if accepts_anything(theirs):
        return [f"{where}: the server's schema admits anything, the client's {mine}"]
    mine_variants, their_variants = variants(mine), variants(theirs)
    if len(mine_variants) > 1 or len(their_variants) > 1:
        problems = []
        for variant in their_variants:
            if all(compatible(m, variant, where) for m in mine_variants):
                problems.append(f"{where}: the client cannot read {variant}")
        for variant in mine_variants:
            if all(compatible(variant, t, where) for t in their_variants):
                problems.append(f"{where}: the server never sends {variant}")
        return problems
    if "$ref" in mine or "$ref" in theirs:
        if ref_name(mine) != ref_name(theirs):
            return [f"{where}: {ref_name(mine)} is not {ref_name(theirs) or theirs}"]
        return []
    if mine.get("type") != theirs.get("type"):
        return [f"{where}: type {mine.get('type')} is not {theirs.get('type')}"]
    if ("enum" in mine or "enum" in theirs) and set(mine.get("enum", [])) != set(
        theirs.get("enum", [])
    ):
        return [f"{where}: values {mine.get('enum')} are not {theirs.get('enum')}"]
    if mine.get("format") != theirs.get("format") and "date-time" in (
        mine.get("format"),
        theirs.get("format"),
    ):
        return [f"{where}: format {mine.get('format')} is not {theirs.get('format')}"]
    if mine.get("type") == "array":
        return compatible(mine.get("items", {}), theirs.get("items", {}), f"{where}[]")
    if mine.get("type") == "object":
        return compatible(
            mine.get("additionalProperties", {}),
            theirs.get("additionalProperties", {}),
            f"{where}{{}}",
        )
    return []


def client_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF + "{model}")
    # References by the schema names of the document (ProblemErrorEntry -> ProblemError).
    names = {cls.__name__: schema_name(cls) for cls in client_classes()}

    def renamed(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: (
                    REF + names.get(item.rsplit("/", 1)[-1], item.rsplit("/", 1)[-1])
                    if key == "$ref"
                    else renamed(item)
                )
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [renamed(item) for item in value]
        return value

    return dict(renamed(schema))


def model_problems(document: Any, model: type[BaseModel], published: dict[str, Any]) -> list[str]:
    """How the client's `model` differs from the server's schema `published`."""
    name = schema_name(model)
    if "$ref" in published:
        published = document["components"]["schemas"][ref_name(published)]
    mine = client_schema(model)
    properties, theirs = mine["properties"], published["properties"]
    their_required = set(published.get("required", []))
    my_required = set(mine.get("required", []))
    problems = [f"{name}.{field}: not published" for field in sorted(set(properties) - set(theirs))]
    problems += [
        f"{name}.{field}: required by the server, missing in the client"
        for field in sorted(their_required - set(properties))
    ]
    problems += [
        f"{name}.{field}: required by the client, the server may leave it out"
        for field in sorted(my_required - their_required)
    ]
    if issubclass(model, Body):
        if my_required != their_required:
            problems.append(f"{name}: required {sorted(my_required)} != {sorted(their_required)}")
        if published.get("additionalProperties") is not False:
            problems.append(f"{name}: the server takes fields the client refuses")
    problems += [
        problem
        for field, schema in properties.items()
        if field in theirs
        for problem in compatible(schema, theirs[field], f"{name}.{field}")
    ]
    return problems


@pytest.mark.parametrize("model", client_classes(), ids=lambda cls: cls.__name__)
def test_each_model_matches_its_schema(document: Any, model: type[BaseModel] | type[Enum]) -> None:
    name = schema_name(model)
    published = document["components"]["schemas"].get(name)
    assert published is not None, f"the server publishes no schema {name}"
    if issubclass(model, Enum):
        assert {member.value for member in model} == set(published["enum"]), name
        return
    assert model_problems(document, model, published) == []
