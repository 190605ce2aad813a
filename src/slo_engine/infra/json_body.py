"""Every JSON request body is read one way: one content-type rule, one parser.

`json_body(Model)` is the FastAPI dependency a route declares for its body, with
`openapi_body(Model)` in its `openapi_extra` so the OpenAPI document shows it:

* a Content-Type other than `application/json` (or `application/<x>+json`), or none,
  is a 415 problem that names what to send (RFC 9110 section 15.5.16), before the body
  is read;
* the bytes are validated by pydantic's own JSON parser in strict mode: unparseable
  JSON (and unpaired surrogates, which it refuses) is a 400, a body that parses but
  breaks the model a 422 with a JSON Pointer per error, exactly as FastAPI's own body
  validation would report them (infra/http_errors.py renders both);
* for a large ingestion batch that is also much faster than FastAPI's
  json.loads-then-validate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from slo_engine.errors import UnsupportedMediaTypeError

Model = TypeVar("Model", bound=BaseModel)

JSON_MEDIA_TYPE = "application/json"


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or a `+json` structured syntax suffix, any parameters.

    >>> [is_json_media_type(t) for t in ("application/json; charset=utf-8",
    ...     "application/merge-patch+json", "text/plain", None)]
    [True, True, False, False]
    """
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    async def parse(request: Request) -> Model:
        content_type = request.headers.get("content-type")
        if not is_json_media_type(content_type):
            sent = f"'{content_type}'" if content_type else "no Content-Type"
            raise UnsupportedMediaTypeError(
                f"This endpoint reads a JSON body: send it with Content-Type: "
                f"{JSON_MEDIA_TYPE} (the request had {sent}).",
                accepted=JSON_MEDIA_TYPE,
                method=request.method,
            )
        raw = await request.body()
        try:
            return model.model_validate_json(raw)
        except ValidationError as error:
            located = [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
            raise RequestValidationError(located) from error

    return parse


def openapi_body(model: type[BaseModel]) -> dict[str, Any]:
    """The `requestBody` of an operation whose body `json_body(model)` reads (the model
    is added to the document's components in app.py)."""
    return {
        "required": True,
        "content": {
            JSON_MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }
