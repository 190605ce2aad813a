"""slo-engine: one trustworthy answer to what a service depends on."""

__version__ = "0.1.0"
