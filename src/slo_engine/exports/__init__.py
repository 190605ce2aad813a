"""Exports of the graph: the API's JSON, Graphviz DOT, Mermaid and Cytoscape.js elements."""
