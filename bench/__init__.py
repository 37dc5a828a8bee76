"""make bench: the benchmark harness (see README.md)."""
