"""The OpenAPI document is a contract a client can be generated from (issue 15, part 3):
valid OpenAPI; every operation with its published, stable id, a summary and a
description; every parameter and every schema property described; an example for every
request body and JSON answer, valid against its schema. Each failure names the operation
or field to fix.

The document is built from the app as `/openapi.json` serves it (no database needed).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from slo_engine.app import create_app
from slo_engine.settings import Settings

Document = dict[str, Any]

OPERATION_ID = re.compile(r"^[a-z][A-Za-z]+$")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The published operation ids: clients generated from the document name their methods
# after them, so changing one breaks those clients. A new operation is added here with
# its id; an id is never changed or reused.
PUBLISHED_IDS = {
    ("GET", "/api/v1/health"): "getLiveness",
    ("GET", "/api/v1/health/ready"): "getReadiness",
    ("POST", "/api/v1/services/dependencies"): "ingestGraph",
    ("DELETE", "/api/v1/services/{source_id}/dependencies/{target_id}"): "retractDependency",
    ("DELETE", "/api/v1/services/{service_id}"): "deleteService",
    ("GET", "/api/v1/services/{service_id}"): "getService",
    ("GET", "/api/v1/services/{service_id}/dependencies"): "getDependencies",
    ("GET", "/api/v1/services/{service_id}/impact"): "getImpact",
    ("GET", "/api/v1/services/{service_id}/availability"): "getAvailability",
    ("GET", "/api/v1/graph"): "getGraph",
    ("GET", "/api/v1/services"): "listServices",
    ("GET", "/api/v1/circular-dependencies"): "listCycleAlerts",
    ("GET", "/api/v1/circular-dependencies/{alert_id}"): "getCycleAlert",
    ("PATCH", "/api/v1/circular-dependencies/{alert_id}"): "updateCycleAlert",
    ("GET", "/api/v1/api-keys"): "listApiKeys",
    ("POST", "/api/v1/api-keys"): "createApiKey",
    ("DELETE", "/api/v1/api-keys/{name}"): "revokeApiKey",
    ("GET", "/api/v1/discovery/sources"): "listDiscoverySources",
    ("GET", "/api/v1/changes"): "listChanges",
    ("GET", "/api/v1/graph/diff"): "getGraphDiff",
    ("GET", "/api/v1/graph/overview"): "getGraphOverview",
    ("GET", "/api/v1/webhooks"): "listWebhooks",
    ("POST", "/api/v1/webhooks"): "createWebhook",
    ("GET", "/api/v1/webhooks/{webhook_id}"): "getWebhook",
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): "deleteWebhook",
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): "listWebhookDeliveries",
    (
        "POST",
        "/api/v1/webhooks/{webhook_id}/deliveries/{message_id}/redeliver",
    ): "redeliverWebhookMessage",
    ("POST", "/api/v1/aliases"): "createAlias",
    ("GET", "/api/v1/aliases"): "listAliases",
    ("DELETE", "/api/v1/aliases/{alias_id}"): "deleteAlias",
    ("GET", "/api/v1/drift"): "listDrift",
    ("GET", "/api/v1/drift/suggestions"): "getDriftSuggestions",
    ("GET", "/api/v1/services/{service_id}/drift"): "getServiceDrift",
    ("GET", "/metrics"): "getMetrics",
}


@pytest.fixture(scope="module")
def document() -> Document:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    # A copy: the app keeps its document, and a test must not change it for the next.
    return copy.deepcopy(app.openapi())


def operations(document: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    """(a name for messages, the operation) of every operation in the document."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                yield f"{operation.get('operationId', '?')} ({method.upper()} {path})", operation


def test_the_document_is_valid_openapi(document: Document) -> None:
    validate(document)  # raises, naming the part of the document that is wrong


def test_every_operation_has_an_id_a_summary_and_a_description(document: Document) -> None:
    problems = []
    seen: dict[str, str] = {}
    for name, operation in operations(document):
        operation_id = operation.get("operationId", "")
        if not OPERATION_ID.fullmatch(operation_id):
            problems.append(f"{name}: operationId {operation_id!r} is not lowerCamelCase")
        if operation_id in seen:
            problems.append(f"{name}: operationId also used by {seen[operation_id]}")
        seen[operation_id] = name
        for part in ("summary", "description"):
            if not str(operation.get(part, "")).strip():
                problems.append(f"{name}: no {part}")
    assert not problems, "\n".join(problems)


def test_the_operation_ids_are_the_published_ones(document: Document) -> None:
    found = {
        (method.upper(), path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }
    changed = {key: (PUBLISHED_IDS.get(key), found.get(key)) for key in found | PUBLISHED_IDS}
    changed = {key: ids for key, ids in changed.items() if ids[0] != ids[1]}
    assert not changed, "\n".join(
        f"{method} {path}: published {old!r}, now {new!r}"
        for (method, path), (old, new) in sorted(changed.items())
    )


def test_every_parameter_has_a_description(document: Document) -> None:
    problems = [
        f"{name}: {parameter['in']} parameter {parameter['name']!r} has no description"
        for name, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not str(parameter.get("description", "")).strip()
    ]
    assert not problems, "\n".join(problems)


def undescribed_properties(schema: Any, where: str) -> Iterator[str]:
    """Where a property of `schema`, or of any schema inside it, has no description."""
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from undescribed_properties(item, f"{where}[{index}]")
        return
    if not isinstance(schema, dict):
        return
    for name, value in schema.get("properties", {}).items():
        if not str(value.get("description", "")).strip():
            yield f"{where}.{name}"
        yield from undescribed_properties(value, f"{where}.{name}")
    for keyword in ("items", "additionalProperties", "prefixItems", "anyOf", "oneOf", "allOf"):
        if keyword in schema:
            yield from undescribed_properties(schema[keyword], f"{where}<{keyword}>")


def test_every_schema_property_has_a_description(document: Document) -> None:
    problems = [
        found
        for name, schema in document["components"]["schemas"].items()
        for found in undescribed_properties(schema, name)
    ]
    # Schemas written into an operation rather than referenced are held to it too.
    for name, operation in operations(document):
        for _, media in media_types(operation):
            problems.extend(undescribed_properties(media.get("schema", {}), name))
    assert not problems, "properties without a description:\n" + "\n".join(problems)


def media_types(operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """("request body" or "<status> answer", its media type object) of every JSON request
    body and successful JSON answer of `operation`."""
    for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
        if media_type == "application/json":
            yield "request body", media
    for status, response in operation.get("responses", {}).items():
        for media_type, media in response.get("content", {}).items():
            if status.startswith("2") and media_type == "application/json":
                yield f"{status} answer", media


def resolved(document: Document, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def examples_of(document: Document, media: dict[str, Any]) -> list[Any]:
    """The examples a reader (and Swagger UI or ReDoc) is shown for a media type: its
    own, or those of its schema."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    return list(resolved(document, media.get("schema", {})).get("examples", []))


def closed(schema: Any) -> Any:
    """A copy of `schema` in which an object with declared properties allows no other
    (the models' answers have none): a misspelt or stale field in an example fails."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copied = {key: closed(value) for key, value in schema.items()}
    if "properties" in copied and "additionalProperties" not in copied:
        copied["additionalProperties"] = False
    return copied


def example_errors(document: Document, schema: dict[str, Any], example: Any) -> list[str]:
    """Why `example` is not valid against `schema` (whose references point into the
    document's components), strictly (`closed`, and formats such as date-time checked)."""
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": closed(document["components"]),
        **schema,
    }
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"at /{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(example)
    ]


def test_every_json_body_and_answer_has_a_valid_example(document: Document) -> None:
    problems = []
    checked = 0
    for name, operation in operations(document):
        for what, media in media_types(operation):
            examples = examples_of(document, media)
            if not examples:
                problems.append(f"{name}: the {what} has no example")
            for index, example in enumerate(examples):
                checked += 1
                for error in example_errors(document, media.get("schema", {}), example):
                    problems.append(f"{name}: example {index} of the {what}: {error}")
    assert not problems, "\n".join(problems)
    assert checked >= 30  # the walk saw the operations' examples


def test_every_example_of_a_schema_is_valid(document: Document) -> None:
    """Examples of schemas no operation shows first (ServiceOut, Problem) are held to
    their schema too."""
    problems = [
        f"{name}: example {index}: {error}"
        for name, schema in document["components"]["schemas"].items()
        for index, example in enumerate(schema.get("examples", []))
        for error in example_errors(document, {"$ref": f"#/components/schemas/{name}"}, example)
    ]
    assert not problems, "\n".join(problems)
