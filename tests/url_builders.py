"""Werkzeug's URL builders compiled once per rule for the whole test run.

Every test makes its own app (``create_app``), and werkzeug compiles two Python functions
for each of the app's ~330 URL rules (``Rule._compile_builder``: an AST built and passed
to ``compile``): about 35 ms of CPU an app, over a minute a run. A builder depends only
on the rule's text, its parsed parts and defaults, so the same rule text gives the same
function; this cache hands it out again. Only the tests use it: a server builds its rules
once a worker.
"""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.routing import Rule

_Builder = Callable[..., tuple[str, str]]
_compile_builder = Rule._compile_builder
_builders: dict[tuple[object, ...], _Builder] = {}


def _cached_compile_builder(self: Rule, append_unknown: bool = True) -> _Builder:
    """``Rule._compile_builder``, memoised by what the compiled function depends on: the
    rule's text, its parsed parts, its defaults and ``append_unknown``."""
    defaults = self.defaults or {}
    key = (
        self.rule,
        tuple(self._trace),
        tuple(sorted((name, repr(value)) for name, value in defaults.items())),
        append_unknown,
    )
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


def install() -> None:
    """Make every ``Rule`` from now on use the cache."""
    Rule._compile_builder = _cached_compile_builder  # type: ignore[method-assign]
