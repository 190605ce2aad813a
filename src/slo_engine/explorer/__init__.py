"""The graph explorer: a web page served by the service (plain HTML, CSS, JS modules)."""
