"""Renderers of a dependency graph as Graphviz DOT, a Mermaid flowchart and Cytoscape.js
elements: pure functions from the API's JSON shapes to text, no I/O, no framework.

Input is what the API answers (docs/api.md): node documents (`service_id`,
`display_name`, `team`, `criticality`, `discovered`, optionally `depth`) and edge
documents (`source`, `target`, `attributes.criticality`, `attributes.communication_mode`,
`is_stale`, `discovery_sources`, ...). Values may be decoded JSON or the model's own
types (enums are `str` subclasses, datetimes are formatted as the API formats them).

Every renderer consumes its nodes first, then its edges, and yields text chunks (about
one line per node or edge), so the whole graph can be streamed without being held as
text. Output depends only on the input order: callers sort (the whole graph by service
id, a subgraph in its answer's order), so equal graphs give byte-equal exports.

Styles, the same in every format (docs/exports.md has the legend):
  edge criticality  hard: solid (heavier), soft: dashed, degraded: dotted
  async edge        open arrowhead (DOT) / circle head (Mermaid) and an "async" label
  stale edge        grey
  discovered-only   dashed border (known from edges only, never declared)
  root              filled and heavier border (subgraph exports)
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any


class ExportFormat(enum.StrEnum):
    JSON = "json"
    DOT = "dot"
    MERMAID = "mermaid"
    CYTOSCAPE = "cytoscape"


Node = Mapping[str, Any]
Edge = Mapping[str, Any]
Renderer = Callable[..., Iterator[str]]

STALE_COLOUR = "#9e9e9e"
ROOT_FILL = "#fff3b0"
# Dash patterns for Mermaid, which has one "dotted" link type only: soft gets long
# dashes, degraded short dots, matching Graphviz's `dashed` and `dotted`.
_MERMAID_DASHES = {"soft": "8 4", "degraded": "2 3"}
_DOT_STYLES = {"hard": "solid", "soft": "dashed", "degraded": "dotted"}


def _attribute(edge: Edge, name: str) -> Any:
    attributes = edge.get("attributes") or {}
    return attributes.get(name)


def _node_lines(node: Node) -> list[str]:
    """What a node's label says: its id, then its display name and team/criticality
    when known (free text, escaped by each format)."""
    lines = [str(node["service_id"])]
    display_name = node.get("display_name")
    if display_name and display_name != node["service_id"]:
        lines.append(str(display_name))
    details = [str(value) for value in (node.get("team"), node.get("criticality")) if value]
    if details:
        lines.append(" · ".join(details))
    return lines


def _edge_summary(edge: Edge) -> str:
    """One line of an edge's attributes, for tooltips."""
    parts = [f"{edge['source']} -> {edge['target']}"]
    for name in ("criticality", "communication_mode", "protocol"):
        value = _attribute(edge, name)
        if value:
            parts.append(str(value))
    rate = _attribute(edge, "request_rate")
    if rate is not None:
        parts.append(f"{rate:g} req/s")
    sources = edge.get("discovery_sources") or ()
    if sources:
        parts.append("sources: " + ", ".join(str(s) for s in sources))
    if edge.get("is_stale"):
        parts.append("stale")
    return "; ".join(parts)


# ---------------------------------------------------------------- Graphviz DOT

# In a quoted DOT string `"` and `\` are special (backslash starts Graphviz's label
# escapes such as \N and \l), and Graphviz decodes HTML entities in any label, so a
# literal `&` must be written `&amp;` or "&lt;" in a name would show as "<". Line breaks
# become DOT's own `\n`; other control characters (C0, DEL, C1) are not text, so they
# become spaces.
_CONTROL_CODES = (*range(0x20), 0x7F, *range(0x80, 0xA0))
_DOT_ESCAPES: dict[int, str] = {code: " " for code in _CONTROL_CODES}
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
        attributes: dict[str, str | float] = {"label": "\n".join(_node_lines(node))}
        if node.get("discovered"):
            styles.append("dashed")
        if service_id == root:
            styles.append("filled")
            attributes["fillcolor"] = ROOT_FILL
            attributes["penwidth"] = 2.5
        attributes["style"] = ",".join(styles)
        yield f"  {dot_quoted(service_id)} {_dot_attributes(attributes)};\n"
    for edge in edges:
        criticality = _attribute(edge, "criticality")
        edge_attributes: dict[str, str | float] = {
            "style": _DOT_STYLES.get(str(criticality), "solid")
        }
        if criticality == "hard":
            edge_attributes["penwidth"] = 1.8
        if _attribute(edge, "communication_mode") == "async":
            edge_attributes["arrowhead"] = "empty"
            edge_attributes["label"] = "async"
        if edge.get("is_stale"):
            edge_attributes["color"] = STALE_COLOUR
            edge_attributes["fontcolor"] = STALE_COLOUR
        edge_attributes["tooltip"] = _edge_summary(edge)
        source, target = dot_quoted(str(edge["source"])), dot_quoted(str(edge["target"]))
        yield f"  {source} -> {target} {_dot_attributes(edge_attributes)};\n"
    yield "}\n"


# ------------------------------------------------------------ Mermaid flowchart

# Inside a quoted Mermaid label, `"` ends the label and `#...;` is an entity code; other
# characters ([]{}()|<>`&;) start shapes, links, markdown or HTML in some position.
# Writing every character outside this set as a numeric entity code (`#34;`) leaves
# nothing for the parser to misread; Mermaid turns the codes back into the characters.
# `:` is coded too: before decoding, Mermaid drops the last `;` of any line matching
# `style.*:\S*#.*;` or `classDef.*:\S*#.*;` (meant for its own style statements), which
# "lifestyle:8080" followed by a code would match; with no `:` in a label line, none can.
_MERMAID_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-")
# Control characters are not text, and Mermaid would put their codes back into its SVG
# (which is then not well-formed XML): they become spaces, as in DOT.
_MERMAID_CONTROL = frozenset(chr(code) for code in _CONTROL_CODES)


def mermaid_text(text: str) -> str:
    """`text` for a quoted Mermaid label: every special character as a `#N;` code,
    line breaks and other control characters as spaces.

    >>> mermaid_text('a "b" <c> #1; x:y\tz')
    'a #34;b#34; #60;c#62; #35;1#59; x#58;y z'
    """
    return "".join(
        char if char in _MERMAID_PLAIN else " " if char in _MERMAID_CONTROL else f"#{ord(char)};"
        for char in " ".join(text.splitlines())
    )


def _mermaid_link(criticality: Any, is_async: bool) -> str:
    """Mermaid's link type: thick for hard, its dotted type for soft and degraded
    (dash patterns are set per link), a circle head for async, else an arrow."""
    head = "o" if is_async else ">"
    if criticality == "hard":
        return "==" + head
    if criticality in _MERMAID_DASHES:
        return "-.-" + head
    return "--" + head


def render_mermaid(
    nodes: Iterable[Node],
    edges: Iterable[Edge],
    *,
    root: str | None = None,
    comments: Sequence[str] = (),
) -> Iterator[str]:
    """The graph as a Mermaid flowchart, line by line.

    Node ids are generated (n0, n1, ... in input order) and labelled with the service
    id: Mermaid reads some ids as keywords (`end`) and its ids cannot hold every
    character a service id may. Link styles are addressed by position, so each edge's
    `linkStyle` follows it.

    >>> print("".join(render_mermaid(
    ...     [{"service_id": "a"}, {"service_id": "end", "discovered": True}],
    ...     [{"source": "a", "target": "end", "attributes": {"communication_mode": "async"}}],
    ...     root="a",
    ... )))
    flowchart LR
      classDef root fill:#fff3b0,stroke-width:3px
      classDef discovered stroke-dasharray:5 4
      n0["a"]
      class n0 root
      n1["end"]
      class n1 discovered
      n0 --o|"async"| n1
    <BLANKLINE>
    """
    for comment in comments:
        # Text after `%%` is ignored, unless it starts with `{` (a directive).
        yield "%% " + mermaid_text(comment) + "\n"
    yield (
        "flowchart LR\n"
        f"  classDef root fill:{ROOT_FILL},stroke-width:3px\n"
        "  classDef discovered stroke-dasharray:5 4\n"
    )
    ids: dict[str, str] = {}

    def declare(service_id: str, lines: list[str]) -> str:
        node_id = ids[service_id] = f"n{len(ids)}"
        label = "<br/>".join(mermaid_text(line) for line in lines)
        return f'  {node_id}["{label}"]\n'

    for node in nodes:
        service_id = str(node["service_id"])
        if service_id in ids:
            continue
        text = declare(service_id, _node_lines(node))
        if service_id == root:
            text += f"  class {ids[service_id]} root\n"
        if node.get("discovered"):
            text += f"  class {ids[service_id]} discovered\n"
        yield text
    for link_index, edge in enumerate(edges):
        text = ""
        ends = []
        for service_id in (str(edge["source"]), str(edge["target"])):
            if service_id not in ids:  # an end missing from the nodes: name it anyway
                text += declare(service_id, [service_id])
            ends.append(ids[service_id])
        criticality = _attribute(edge, "criticality")
        is_async = _attribute(edge, "communication_mode") == "async"
        link = _mermaid_link(criticality, is_async)
        label = '|"async"|' if is_async else ""
        text += f"  {ends[0]} {link}{label} {ends[1]}\n"
        styles = []
        if criticality in _MERMAID_DASHES:
            styles.append(f"stroke-dasharray:{_MERMAID_DASHES[criticality]}")
        if edge.get("is_stale"):
            styles.append(f"stroke:{STALE_COLOUR},color:{STALE_COLOUR}")
        if styles:
            text += f"  linkStyle {link_index} {','.join(styles)}\n"
        yield text


# ------------------------------------------------------------ Cytoscape.js elements


def _json_value(value: Any) -> Any:
    # Datetimes as the API writes them (UTC as "Z"); anything else is not expected.
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), default=_json_value)


_EDGE_DATA = (
    "criticality",
    "communication_mode",
    "protocol",
    "timeout_ms",
    "retry_config",
    "request_rate",
    "error_rate",
    "latency_p95_ms",
)


def cytoscape_node(node: Node, root: str | None = None) -> dict[str, Any]:
    """One Cytoscape.js node element: the node's fields as `data`, its styles as classes."""
    service_id = str(node["service_id"])
    data: dict[str, Any] = {
        "id": service_id,
        "label": service_id,
        "display_name": node.get("display_name"),
        "team": node.get("team"),
        "criticality": node.get("criticality"),
        "discovered": bool(node.get("discovered")),
    }
    if "depth" in node:
        data["depth"] = node["depth"]
    classes = []
    if service_id == root:
        classes.append("root")
    if node.get("discovered"):
        classes.append("discovered")
    if node.get("criticality"):
        classes.append(str(node["criticality"]))
    return {"data": data, "classes": " ".join(classes)}


def cytoscape_edge(edge: Edge) -> dict[str, Any]:
    """One Cytoscape.js edge element. Its id is `source->target`: `>` cannot occur in a
    service id, so ids are unique and never equal a node's."""
    source, target = str(edge["source"]), str(edge["target"])
    data: dict[str, Any] = {"id": f"{source}->{target}", "source": source, "target": target}
    for name in _EDGE_DATA:
        data[name] = _attribute(edge, name)
    data["confidence_score"] = edge.get("confidence_score")
    data["discovery_sources"] = list(edge.get("discovery_sources") or ())
    data["last_observed_at"] = edge.get("last_observed_at")
    data["is_stale"] = bool(edge.get("is_stale"))
    classes = [str(value) for value in (data["criticality"], data["communication_mode"]) if value]
    if data["is_stale"]:
        classes.append("stale")
    return {"data": data, "classes": " ".join(classes)}


def render_cytoscape(
    nodes: Iterable[Node],
    edges: Iterable[Edge],
    *,
    root: str | None = None,
    comments: Sequence[str] = (),
) -> Iterator[str]:
    """The graph as Cytoscape.js elements JSON (`cy.add(doc.elements)` or
    `cytoscape({elements: doc.elements})`), an element per chunk.

    `comments` go to the top-level `data` object (JSON has no comments), with the root.

    >>> import json
    >>> doc = json.loads("".join(render_cytoscape(
    ...     [{"service_id": "a"}], [{"source": "a", "target": "a", "is_stale": True}])))
    >>> doc["elements"]["edges"][0]["classes"], doc["elements"]["nodes"][0]["data"]["id"]
    ('stale', 'a')
    """
    yield '{"data":' + _json({"root": root, "comments": list(comments)})
    yield ',"elements":{"nodes":['
    separator = ""
    for node in nodes:
        yield separator + _json(cytoscape_node(node, root))
        separator = ","
    yield '],"edges":['
    separator = ""
    for edge in edges:
        yield separator + _json(cytoscape_edge(edge))
        separator = ","
    yield "]}}\n"


RENDERERS: dict[ExportFormat, Renderer] = {
    ExportFormat.DOT: render_dot,
    ExportFormat.MERMAID: render_mermaid,
    ExportFormat.CYTOSCAPE: render_cytoscape,
}


def subgraph_nodes(answer: Mapping[str, Any]) -> list[Node]:
    """The nodes of a subgraph answer with its root first (at depth 0): the answer
    reports the root apart from the nodes it reached."""
    service = answer["service"]
    root = {
        "service_id": service["service_id"],
        "display_name": service.get("display_name"),
        "team": service.get("team"),
        "criticality": service.get("criticality"),
        "discovered": service.get("discovered", False),
        "depth": 0,
    }
    return [root, *answer["nodes"]]


def render_subgraph(export_format: ExportFormat, answer: Mapping[str, Any]) -> str:
    """A subgraph answer (GET /services/{id}/dependencies) in a non-JSON format, with
    its root highlighted."""
    root = str(answer["service"]["service_id"])
    statistics = answer.get("statistics") or {}
    comments = [f"slo-engine: dependencies of {root}"]
    if statistics.get("truncated"):
        comments.append(
            f"truncated: only the {statistics.get('total_nodes')} closest services are shown"
        )
    renderer = RENDERERS[export_format]
    return "".join(renderer(subgraph_nodes(answer), answer["edges"], root=root, comments=comments))
