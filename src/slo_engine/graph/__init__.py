"""The pure graph core: model, traversal, cycles, merge, snapshot. Standard library only."""
