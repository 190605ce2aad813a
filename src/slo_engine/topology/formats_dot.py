"""The Graphviz DOT renderer of a dependency graph, and DOT's quoting."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from slo_engine.topology.formats_documents import (
    CONTROL_CODES,
    ROOT_FILL,
    STALE_COLOUR,
    Edge,
    Node,
    attribute,
    node_lines,
)

_DOT_STYLES = {"hard": "solid", "soft": "dashed", "degraded": "dotted"}


def _edge_summary(edge: Edge) -> str:
    """One line of an edge's attributes, for tooltips."""
    parts = [f"{edge['source']} -> {edge['target']}"]
    for name in ("criticality", "communication_mode", "protocol"):
        value = attribute(edge, name)
        if value:
            parts.append(str(value))
    rate = attribute(edge, "request_rate")
    if rate is not None:
        parts.append(f"{rate:g} req/s")
    sources = edge.get("discovery_sources") or ()
    if sources:
        parts.append("sources: " + ", ".join(str(s) for s in sources))
    if edge.get("is_stale"):
        parts.append("stale")
    return "; ".join(parts)


# In a quoted DOT string `"` and `\` are special (backslash starts Graphviz's label
# escapes such as \N and \l), and Graphviz decodes HTML entities in any label, so a
# literal `&` must be written `&amp;` or "&lt;" in a name would show as "<". Line breaks
# become DOT's own `\n`; other control characters (C0, DEL, C1) are not text, so they
# become spaces.
_DOT_ESCAPES: dict[int, str] = {code: " " for code in CONTROL_CODES}
_DOT_ESCAPES.update(
    {
        ord("\\"): "\\\\",
        ord('"'): '\\"',
        ord("&"): "&amp;",
        ord("\n"): "\\n",
        ord("\r"): "",
    }
)


def dot_quoted(text: str) -> str:
    r"""`text` as a quoted DOT string that Graphviz shows exactly as `text`.

    >>> print(dot_quoted('say "hi" \\ <b> & co\nnext'))
    "say \"hi\" \\ <b> &amp; co\nnext"
    """
    return '"' + text.translate(_DOT_ESCAPES) + '"'


def _dot_attributes(attributes: Mapping[str, str | float]) -> str:
    rendered = []
    for name, value in attributes.items():
        text = dot_quoted(value) if isinstance(value, str) else f"{value:g}"
        rendered.append(f"{name}={text}")
    return "[" + ", ".join(rendered) + "]"


# Nodes that are not services drawn in their own shapes (docs/exports.md); a service is
# the default rounded box.
_DOT_SHAPES = {
    "database": "cylinder",
    "messaging": "cds",
    "external": "component",
    "virtual": "ellipse",
}


def render_dot(
    nodes: Iterable[Node],
    edges: Iterable[Edge],
    *,
    root: str | None = None,
    comments: Sequence[str] = (),
) -> Iterator[str]:
    """The graph as a Graphviz digraph (render with `dot -Tsvg`), line by line.

    >>> text = "".join(render_dot(
    ...     [{"service_id": "a", "discovered": False}, {"service_id": "b", "discovered": True}],
    ...     [{"source": "a", "target": "b", "attributes": {"criticality": "soft"}}],
    ... ))
    >>> for line in text.splitlines()[4:]: print(line)
      "a" [label="a", style="rounded"];
      "b" [label="b", style="rounded,dashed"];
      "a" -> "b" [style="dashed", tooltip="a -> b; soft"];
    }
    """
    for comment in comments:
        yield "// " + " ".join(comment.splitlines()) + "\n"
    yield (
        'digraph "slo-engine" {\n'
        '  graph [rankdir="LR", fontname="Helvetica"];\n'
        '  node [shape="box", style="rounded", fontname="Helvetica", fontsize=11];\n'
        '  edge [fontname="Helvetica", fontsize=9];\n'
    )
    for node in nodes:
        service_id = str(node["service_id"])
        styles = ["rounded"]
        attributes: dict[str, str | float] = {"label": "\n".join(node_lines(node))}
        if node.get("discovered"):
            styles.append("dashed")
        shape = _DOT_SHAPES.get(str(node.get("kind", "service")))
        if shape is not None:
            attributes["shape"] = shape
        if service_id == root:
            styles.append("filled")
            attributes["fillcolor"] = ROOT_FILL
            attributes["penwidth"] = 2.5
        attributes["style"] = ",".join(styles)
        yield f"  {dot_quoted(service_id)} {_dot_attributes(attributes)};\n"
    for edge in edges:
        criticality = attribute(edge, "criticality")
        edge_attributes: dict[str, str | float] = {
            "style": _DOT_STYLES.get(str(criticality), "solid")
        }
        if criticality == "hard":
            edge_attributes["penwidth"] = 1.8
        if attribute(edge, "communication_mode") == "async":
            edge_attributes["arrowhead"] = "empty"
            edge_attributes["label"] = "async"
        if edge.get("is_stale"):
            edge_attributes["color"] = STALE_COLOUR
            edge_attributes["fontcolor"] = STALE_COLOUR
        edge_attributes["tooltip"] = _edge_summary(edge)
        source, target = dot_quoted(str(edge["source"])), dot_quoted(str(edge["target"]))
        yield f"  {source} -> {target} {_dot_attributes(edge_attributes)};\n"
    yield "}\n"
