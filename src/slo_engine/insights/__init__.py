"""Questions the graph answers: blast radius (impact) and availability ceiling."""
