"""District scale benchmark (issue 14): ``python -m bench.scale``; see ``__main__``."""
