"""The Mermaid flowchart renderer of a dependency graph, and Mermaid's label coding."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from slo_engine.topology.formats_documents import (
    CONTROL_CODES,
    ROOT_FILL,
    STALE_COLOUR,
    Edge,
    Node,
    attribute,
    node_lines,
)

# Dash patterns for Mermaid, which has one "dotted" link type only: soft gets long
# dashes, degraded short dots, matching Graphviz's `dashed` and `dotted`.
_MERMAID_DASHES = {"soft": "8 4", "degraded": "2 3"}

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
_MERMAID_CONTROL = frozenset(chr(code) for code in CONTROL_CODES)


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


# Nodes that are not services in their own shapes: a cylinder, a flag, a hexagon, a
# circle (docs/exports.md); a service is a rectangle.
_MERMAID_SHAPES = {
    "database": ("[(", ")]"),
    "messaging": (">", "]"),
    "external": ("{{", "}}"),
    "virtual": ("((", "))"),
}


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

    def declare(service_id: str, lines: list[str], kind: str = "service") -> str:
        node_id = ids[service_id] = f"n{len(ids)}"
        label = "<br/>".join(mermaid_text(line) for line in lines)
        opening, closing = _MERMAID_SHAPES.get(kind, ("[", "]"))
        return f'  {node_id}{opening}"{label}"{closing}\n'

    for node in nodes:
        service_id = str(node["service_id"])
        if service_id in ids:
            continue
        text = declare(service_id, node_lines(node), str(node.get("kind", "service")))
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
        criticality = attribute(edge, "criticality")
        is_async = attribute(edge, "communication_mode") == "async"
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
