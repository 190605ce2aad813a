"""Content negotiation of the export formats (format= and Accept)."""

from __future__ import annotations

import pytest

from slo_engine.errors import NotAcceptableError
from slo_engine.topology.formats import ExportFormat
from slo_engine.topology.negotiation import negotiate

JSON, DOT, MERMAID, CYTOSCAPE = (
    ExportFormat.JSON,
    ExportFormat.DOT,
    ExportFormat.MERMAID,
    ExportFormat.CYTOSCAPE,
)


@pytest.mark.parametrize(
    ("accept", "expected", "media_type"),
    [
        (None, JSON, "application/json"),
        ("", JSON, "application/json"),
        ("*/*", JSON, "application/json"),
        ("application/json", JSON, "application/json"),
        ("text/vnd.graphviz", DOT, "text/vnd.graphviz"),
        ("TEXT/VND.GRAPHVIZ", DOT, "text/vnd.graphviz"),  # media types are case-insensitive
        ("text/vnd.mermaid", MERMAID, "text/vnd.mermaid"),
        ("text/x-mermaid", MERMAID, "text/x-mermaid"),
        ("application/vnd.cytoscape+json", CYTOSCAPE, "application/vnd.cytoscape+json"),
        ("application/vnd.cytoscape+json; charset=utf-8", CYTOSCAPE, None),
        # q-values
        ("application/json;q=0.5, text/vnd.graphviz", DOT, None),
        ("text/vnd.graphviz;q=0.2, text/vnd.mermaid;q=0.9", MERMAID, None),
        ("text/vnd.mermaid;q=0.5, text/x-mermaid;q=0.8", MERMAID, "text/x-mermaid"),
        ("*/*;q=0.1, text/vnd.graphviz;q=0.3", DOT, None),
        ("text/*", DOT, None),  # a tie: the order of preference decides
        ("text/*, text/vnd.graphviz;q=0", MERMAID, None),  # the most specific range counts
        ("application/*", JSON, None),
        ("application/*, application/json;q=0", CYTOSCAPE, None),
        # a browser's header
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON, None),
        # unreadable elements are skipped, readable ones still count
        ("nonsense, text/vnd.graphviz", DOT, None),
        ("application/json;q=2, text/vnd.mermaid", MERMAID, None),
        ("*/json, text/vnd.mermaid", MERMAID, None),
    ],
)
def test_accept_picks_the_best_acceptable_format(
    accept: str | None, expected: ExportFormat, media_type: str | None
) -> None:
    choice = negotiate(None, accept)
    assert choice.export_format is expected
    if media_type is not None:
        assert choice.media_type == media_type


def test_format_parameter_wins_over_accept() -> None:
    assert negotiate(DOT, "application/json").export_format is DOT
    assert negotiate(CYTOSCAPE, "image/png").media_type == "application/vnd.cytoscape+json"
    assert negotiate(MERMAID, None).media_type == "text/vnd.mermaid"


@pytest.mark.parametrize(
    "accept",
    [
        "image/png",
        "application/problem+json",
        "text/html, application/xml",
        "application/json;q=0, */*;q=0",
        "*/*;q=0",
        "garbage",
        "application/json;q=abc",
        "x" * 5000,
    ],
)
def test_nothing_acceptable_is_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptableError) as raised:
        negotiate(None, accept)
    detail = raised.value.detail
    assert "text/vnd.graphviz" in detail and "format=" in detail
    assert len(detail) < 600  # a long header is quoted only in part
