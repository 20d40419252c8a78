"""Tests of the bench itself (collected by ``make test``: ``testpaths`` in pyproject.toml).

The main suite, ``tests/``, imports nothing from ``benchmarks``: where it needs the
generator or the yardstick it runs them as commands (``python -m benchmarks.synth``,
``python -m benchmarks.yardstick``).
"""
