"""Drift: where what is declared and what traffic shows disagree (docs/drift.md)."""
