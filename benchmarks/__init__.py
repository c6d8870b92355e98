"""Benchmarks: scripts that print figures. Not tests; run with `make bench` or `python -m benchmarks`."""
