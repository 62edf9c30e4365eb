"""Faults injected under load, and the restore drill: ``python -m bench.faults FAULT``.

See :mod:`bench.faults.__main__` for the commands, ``bench/results/faults.md`` for the
figures, and ``tests/test_faults.py`` and ``tests/test_backup_drill.py`` for the short
versions in the suite.
"""
