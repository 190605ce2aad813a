"""The export formats of a dependency graph, Graphviz DOT, a Mermaid flowchart and
Cytoscape.js elements, and the renderer of each (topology/formats_dot.py,
formats_mermaid.py, formats_cytoscape.py): pure functions from the API's JSON shapes to
text, no I/O, no framework.

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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from slo_engine.topology.formats_cytoscape import render_cytoscape
from slo_engine.topology.formats_documents import Node
from slo_engine.topology.formats_dot import render_dot
from slo_engine.topology.formats_mermaid import render_mermaid


class ExportFormat(enum.StrEnum):
    JSON = "json"
    DOT = "dot"
    MERMAID = "mermaid"
    CYTOSCAPE = "cytoscape"


Renderer = Callable[..., Iterator[str]]


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
        "kind": service.get("kind", "service"),
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
