"""The node and edge documents the export renderers read, and what every format draws
of them the same way: a node's label lines, the colours of the styles legend, and the
control characters no label keeps.

Kept apart from the renderers (topology/formats_dot.py, formats_mermaid.py,
formats_cytoscape.py) so that they, and the registry of them all (topology/formats.py),
share these without importing one another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Node = Mapping[str, Any]
Edge = Mapping[str, Any]

STALE_COLOUR = "#9e9e9e"
ROOT_FILL = "#fff3b0"
# Control characters (C0, DEL, C1): not text, so the DOT and Mermaid labels write them
# as spaces.
CONTROL_CODES = (*range(0x20), 0x7F, *range(0x80, 0xA0))


def attribute(edge: Edge, name: str) -> Any:
    attributes = edge.get("attributes") or {}
    return attributes.get(name)


def node_lines(node: Node) -> list[str]:
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
