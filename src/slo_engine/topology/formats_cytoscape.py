"""The Cytoscape.js renderer of a dependency graph: its elements as JSON.

A module per format (topology/formats.py holds the registry of them); this one writes
JSON documents rather than lines of text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from slo_engine.topology.formats_documents import Edge, Node, attribute


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
        "kind": str(node.get("kind", "service")),
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
    if data["kind"] != "service":
        classes.append(data["kind"])
    return {"data": data, "classes": " ".join(classes)}


def cytoscape_edge(edge: Edge) -> dict[str, Any]:
    """One Cytoscape.js edge element. Its id is `source->target`: `>` cannot occur in a
    service id, so ids are unique and never equal a node's."""
    source, target = str(edge["source"]), str(edge["target"])
    data: dict[str, Any] = {"id": f"{source}->{target}", "source": source, "target": target}
    for name in _EDGE_DATA:
        data[name] = attribute(edge, name)
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
