"""Benchmarks of the hub against a hand-written LIMIT (``make bench``); not part of pytest.

See ``tests/benchmarks/__main__.py`` and docs/benchmarks.md.
"""
