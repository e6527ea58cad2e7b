"""Benchmark scripts; run as `python bench/<name>.py` (results: docs/PERFORMANCE.md)."""
