"""Webhook subscriptions: the graph's changes pushed to subscribers (docs/history.md)."""
