"""Examples in the OpenAPI document exactly as the models declare them.

A model declares its examples in its config (`model_config = ConfigDict(
json_schema_extra={"examples": [...]})`), next to its fields. FastAPI writes its document
through `jsonable_encoder(..., exclude_none=True)`, which drops every null, those of
examples included (an example whose required, nullable field is null then fails its own
schema), and pydantic sorts the keys of each example alphabetically. So once the document
is built, app.py puts each model's examples back into its component, as written.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel


def models_within(models: Iterable[type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """The models, and every model their fields hold (in lists, unions, dicts, at any
    depth), by name: the names of their components in the document."""
    found: dict[str, type[BaseModel]] = {}
    seen: set[type[BaseModel]] = set()
    pending: list[Any] = list(models)
    while pending:
        candidate = pending.pop()
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if candidate in seen:
                continue
            seen.add(candidate)
            found[candidate.__name__] = candidate
            pending.extend(field.annotation for field in candidate.model_fields.values())
        else:
            # list[X], X | None, dict[str, X], Annotated[X, ...]: look inside.
            pending.extend(typing.get_args(candidate))
    return found


def declared_examples(model: type[BaseModel]) -> list[Any] | None:
    """The examples in the model's own config, as written; None when it declares none."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    return list(examples) if isinstance(examples, list) else None


def restore_examples(document: dict[str, Any], models: Iterable[type[BaseModel]]) -> None:
    """Put the examples of `models` and of the models they hold into the document's
    components, in place of what FastAPI wrote of them."""
    components = document.get("components", {}).get("schemas", {})
    for name, model in models_within(models).items():
        examples = declared_examples(model)
        if examples is not None:
            if name not in components:
                raise LookupError(f"{name} declares examples but has no component")
            components[name]["examples"] = examples
