"""A renderer for the small subset of Helm templating the chart keeps to (there is no
`helm` binary here): `{{ .Values.a.b }}`, `.Release.*`, `.Chart.*`, `| quote`,
`toYaml X | nindent N`, `{{- if X }} … {{- end }}`, and Helm's `{{-`/`-}}` whitespace
trimming. Anything else raises, which keeps the chart inside what is tested."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)
_PATH = re.compile(r"^\.[A-Za-z][\w.]*$")


class UnsupportedTemplateError(ValueError):
    pass


def _lookup(path: str, context: dict[str, Any]) -> Any:
    if not _PATH.match(path):
        raise UnsupportedTemplateError(f"not a value path: {path!r}")
    value: Any = context
    for part in path[1:].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _evaluate(expression: str, context: dict[str, Any]) -> str:
    if expression.startswith("toYaml "):
        match = re.fullmatch(r"toYaml (\S+) \| nindent (\d+)", expression)
        if match is None:
            raise UnsupportedTemplateError(expression)
        dumped = yaml.safe_dump(_lookup(match[1], context), sort_keys=False).rstrip("\n")
        pad = " " * int(match[2])
        return "\n" + "\n".join(pad + line for line in dumped.splitlines())
    parts = [p.strip() for p in expression.split("|")]
    value = _lookup(parts[0], context)
    for function in parts[1:]:
        if function != "quote":
            raise UnsupportedTemplateError(expression)
        value = json.dumps(str(value))
    return "" if value is None else str(value)


def render(template: str, context: dict[str, Any]) -> str:
    out: list[str] = []
    emitting = [True]
    position = 0
    for match in _ACTION.finditer(template):
        text = template[position : match.start()]
        if match[1]:
            text = text.rstrip(" \t\n")
        if all(emitting):
            out.append(text)
        position = match.end()
        if match[3]:
            while position < len(template) and template[position] in " \t\n":
                position += 1
        action = match[2]
        if action.startswith("if "):
            emitting.append(bool(_lookup(action[3:].strip(), context)))
        elif action == "end":
            if len(emitting) == 1:
                raise UnsupportedTemplateError("end without if")
            emitting.pop()
        elif all(emitting):
            out.append(_evaluate(action, context))
    if len(emitting) != 1:
        raise UnsupportedTemplateError("if without end")
    out.append(template[position:])
    return "".join(out)
