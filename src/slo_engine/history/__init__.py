"""The graph's history over HTTP: the change feed, and the difference between two times."""
