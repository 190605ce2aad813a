"""The export renderers on plain documents: styles, escaping, determinism."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from slo_engine.graph.model import CommunicationMode, DependencyCriticality
from slo_engine.topology.formats import ExportFormat, render_subgraph
from slo_engine.topology.formats_cytoscape import render_cytoscape
from slo_engine.topology.formats_dot import dot_quoted, render_dot
from slo_engine.topology.formats_mermaid import mermaid_text, render_mermaid

HOSTILE = 'Evil "quoted" \\N back\\slash\nnew line <b>&amp;</b> [x] {y} (z) |p| #35; `t` ;%%'


def node(service_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "service_id": service_id,
        "display_name": None,
        "team": None,
        "criticality": None,
        "discovered": False,
        **fields,
    }


def edge(source: str, target: str, **attributes: Any) -> dict[str, Any]:
    stale = attributes.pop("is_stale", False)
    return {
        "source": source,
        "target": target,
        "attributes": attributes,
        "confidence_score": 1.0,
        "discovery_sources": ["manual"],
        "last_observed_at": "2025-01-01T00:00:00Z",
        "is_stale": stale,
    }


NODES = [
    node("api", display_name=HOSTILE, team='t <&> "q"', criticality="critical"),
    node("db.main:5432", discovered=True),
    node("end"),  # a Mermaid keyword as a service id
    node("queue"),
]
EDGES = [
    edge("api", "db.main:5432", criticality="hard", communication_mode="sync"),
    edge("api", "end", criticality="soft"),
    edge("api", "queue", criticality="degraded", communication_mode="async"),
    edge("end", "queue", is_stale=True),
]


def text(renderer: Any, **options: Any) -> str:
    return "".join(renderer(NODES, EDGES, **options))


# ---------------------------------------------------------------- DOT


def dot_edge_line(output: str, source: str, target: str) -> str:
    (line,) = [
        line
        for line in output.splitlines()
        if line.strip().startswith(f'"{source}" -> "{target}" ')
    ]
    return line


def test_dot_quoting_leaves_graphviz_nothing_to_interpret() -> None:
    assert dot_quoted('a"b') == '"a\\"b"'
    assert dot_quoted("a\\Nb") == '"a\\\\Nb"'  # not Graphviz's node-name escape
    assert dot_quoted("x &amp; y") == '"x &amp;amp; y"'  # entities are decoded otherwise
    assert dot_quoted("one\ntwo\r\tthree\x00") == '"one\\ntwo three "'
    assert dot_quoted("<b>") == '"<b>"'  # a quoted label is never HTML


def test_dot_styles_by_criticality_mode_staleness_and_discovery() -> None:
    output = text(render_dot, root="api")
    assert 'style="solid"' in dot_edge_line(output, "api", "db.main:5432")
    assert "penwidth=1.8" in dot_edge_line(output, "api", "db.main:5432")
    assert 'style="dashed"' in dot_edge_line(output, "api", "end")
    degraded_async = dot_edge_line(output, "api", "queue")
    assert 'style="dotted"' in degraded_async
    assert 'arrowhead="empty"' in degraded_async and 'label="async"' in degraded_async
    stale = dot_edge_line(output, "end", "queue")
    assert 'color="#9e9e9e"' in stale
    assert 'color="#9e9e9e"' not in degraded_async
    assert re.search(r'"db.main:5432" \[.*style="rounded,dashed"', output)
    assert re.search(r'"api" \[.*style="rounded,filled".*', output)
    assert re.search(r'"queue" \[label="queue", style="rounded"\]', output)


def test_dot_has_one_statement_per_node_and_edge_and_balanced_quotes() -> None:
    output = text(render_dot)
    statements = [line for line in output.splitlines() if line.startswith('  "')]
    assert len(statements) == len(NODES) + len(EDGES)
    for line in statements:
        # With escaped quotes removed, every statement's quotes pair up on its own line.
        assert line.replace("\\\\", "").replace('\\"', "").count('"') % 2 == 0, line
    assert output.startswith('digraph "slo-engine" {') and output.endswith("}\n")


# ---------------------------------------------------------------- Mermaid


def decoded(coded: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), coded)


def test_mermaid_text_codes_every_special_character() -> None:
    coded = mermaid_text(HOSTILE)
    assert set(coded) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._-#;")
    assert decoded(coded) == HOSTILE.replace("\n", " ")


# Mermaid drops the last `;` of a line matching these before it decodes the codes
# (meant for its own `style` and `classDef` statements).
MERMAID_STYLE_FIXUPS = [re.compile(r"style.*:\S*#.*;"), re.compile(r"classDef.*:\S*#.*;")]


def test_no_mermaid_label_line_looks_like_a_style_statement() -> None:
    nodes = [
        node("lifestyle:8080", display_name="Café"),
        node("api", display_name="Lifestyle:Café", team="classDef:x é"),
        node("classDef:x", display_name="Zürich"),
    ]
    output = "".join(render_mermaid(nodes, [edge("lifestyle:8080", "classDef:x")]))
    labels = [line for line in output.splitlines() if re.match(r"^  n\d+\[", line)]
    assert len(labels) == 3
    for line in labels:
        assert ":" not in line
        assert not any(fixup.search(line) for fixup in MERMAID_STYLE_FIXUPS), line
    assert 'n0["lifestyle#58;8080<br/>Caf#233;"]' in output


def test_control_characters_become_spaces() -> None:
    controls = "a\x00b\x01c\x07d\te\x1bf\x7fg\x80h\x85i\x9bj\x9fk"
    assert mermaid_text(controls) == "a b c d e f g h i j k"
    assert dot_quoted(controls) == '"a b c d e f g h i j k"'
    assert mermaid_text("\xa0é") == "#160;#233;"  # not controls: kept, as codes
    assert dot_quoted("\xa0é") == '"\xa0é"'


def test_mermaid_generates_ids_and_labels_with_service_ids() -> None:
    output = text(render_mermaid, root="api")
    declared = dict(re.findall(r'^  (n\d+)\["([^"]*)"\]$', output, re.MULTILINE))
    assert list(declared) == ["n0", "n1", "n2", "n3"]
    assert [decoded(label.split("<br/>")[0]) for label in declared.values()] == [
        "api",
        "db.main:5432",
        "end",
        "queue",
    ]
    assert "class n0 root" in output and "class n1 discovered" in output
    assert output.startswith("flowchart LR\n")


def test_mermaid_link_styles() -> None:
    lines = text(render_mermaid).splitlines()
    links = [line.strip() for line in lines if re.match(r"^  n\d+ \S+ ", line)]
    assert links == [
        "n0 ==> n1",  # hard: thick
        "n0 -.-> n2",  # soft: dashed
        'n0 -.-o|"async"| n3',  # degraded async: dotted, circle head, labelled
        "n2 --> n3",  # stale, no criticality
    ]
    styles = [line.strip() for line in lines if line.strip().startswith("linkStyle")]
    assert styles == [
        "linkStyle 1 stroke-dasharray:8 4",
        "linkStyle 2 stroke-dasharray:2 3",
        "linkStyle 3 stroke:#9e9e9e,color:#9e9e9e",
    ]


def test_mermaid_names_edge_ends_missing_from_the_nodes() -> None:
    output = "".join(render_mermaid([node("a")], [edge("a", "ghost")]))
    assert 'n1["ghost"]' in output and "n0 --> n1" in output


# ---------------------------------------------------------------- Cytoscape


def test_cytoscape_elements_carry_data_and_classes() -> None:
    document = json.loads(text(render_cytoscape, root="api"))
    nodes = document["elements"]["nodes"]
    edges = document["elements"]["edges"]
    assert [n["data"]["id"] for n in nodes] == ["api", "db.main:5432", "end", "queue"]
    assert nodes[0]["data"]["display_name"] == HOSTILE
    assert nodes[0]["classes"] == "root critical"
    assert nodes[1]["classes"] == "discovered"
    assert [e["data"]["id"] for e in edges] == [
        "api->db.main:5432",
        "api->end",
        "api->queue",
        "end->queue",
    ]
    assert [e["classes"] for e in edges] == ["hard sync", "soft", "degraded async", "stale"]
    assert edges[0]["data"]["source"] == "api" and edges[0]["data"]["target"] == "db.main:5432"
    assert edges[0]["data"]["discovery_sources"] == ["manual"]
    assert document["data"]["root"] == "api"


def test_cytoscape_accepts_model_values() -> None:
    """The whole-graph export passes enums and datetimes, not decoded JSON."""
    observed = edge("a", "b")
    observed["attributes"] = {
        "criticality": DependencyCriticality.HARD,
        "communication_mode": CommunicationMode.ASYNC,
    }
    observed["last_observed_at"] = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    document = json.loads("".join(render_cytoscape([node("a"), node("b")], [observed])))
    (only,) = document["elements"]["edges"]
    assert only["classes"] == "hard async"
    assert only["data"]["last_observed_at"] == "2025-01-02T03:04:05Z"


# ---------------------------------------------------------------- all formats


@pytest.mark.parametrize("renderer", [render_dot, render_mermaid, render_cytoscape])
def test_output_depends_only_on_the_input(renderer: Any) -> None:
    first = text(renderer, root="api")
    again = "".join(renderer(list(NODES), iter(EDGES), root="api"))
    assert first == again
    chunks = list(renderer(NODES, EDGES))
    assert len(chunks) >= len(NODES) + len(EDGES)  # streamed in small pieces
    assert "".join(chunks) == text(renderer)


def test_empty_graph() -> None:
    assert "".join(render_dot([], [])) == (
        'digraph "slo-engine" {\n'
        '  graph [rankdir="LR", fontname="Helvetica"];\n'
        '  node [shape="box", style="rounded", fontname="Helvetica", fontsize=11];\n'
        '  edge [fontname="Helvetica", fontsize=9];\n'
        "}\n"
    )
    assert "".join(render_mermaid([], [])) == (
        "flowchart LR\n"
        "  classDef root fill:#fff3b0,stroke-width:3px\n"
        "  classDef discovered stroke-dasharray:5 4\n"
    )
    assert json.loads("".join(render_cytoscape([], []))) == {
        "data": {"root": None, "comments": []},
        "elements": {"nodes": [], "edges": []},
    }


@pytest.mark.parametrize(
    "export_format", [ExportFormat.DOT, ExportFormat.MERMAID, ExportFormat.CYTOSCAPE]
)
def test_render_subgraph_puts_the_root_first_and_highlights_it(
    export_format: ExportFormat,
) -> None:
    answer = {
        "service": {**node("api"), "metadata": {}, "created_at": "x", "updated_at": "x"},
        "nodes": [{**n, "depth": 1} for n in NODES[1:]],
        "edges": EDGES,
        "statistics": {"total_nodes": 3, "total_edges": 4, "truncated": True},
    }
    output = render_subgraph(export_format, answer)
    if export_format is ExportFormat.CYTOSCAPE:
        document = json.loads(output)
        root = document["elements"]["nodes"][0]
        assert root["data"]["id"] == "api" and root["data"]["depth"] == 0
        assert root["classes"].startswith("root")
        assert any("truncated" in c for c in document["data"]["comments"])
    elif export_format is ExportFormat.DOT:
        assert re.search(
            r'^  "api" \[label="api", fillcolor=.*style="rounded,filled"', output, re.M
        )
        assert "// truncated" in output
    else:
        assert 'n0["api"]\n  class n0 root' in output
        assert "%% truncated" in output
