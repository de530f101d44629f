"""Benchmarks: `make bench` runs every `benchmarks/<name>/bench_*.py` and records its figures."""
