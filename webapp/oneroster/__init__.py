"""OneRoster 1.2 CSV binding: the spec as data, and a strict validator of bulk bundles.

A pure library (no Flask, no database), the foundation of issue 15's export and import:

* :mod:`webapp.oneroster.files`: every CSV file of the binding, its headers in order, each
  column's requirement, format and references, in the shapes of
  :mod:`webapp.oneroster.spec`, which also holds the manifest's properties.
* :mod:`webapp.oneroster.vocab`: the enumerations, and the CEDS grade codes.
* :func:`validate_bundle`: checks a zip and returns :class:`Problem` objects naming the
  file, line, field and rule (``python -m webapp.oneroster.validate FILE.zip`` on the
  command line).

docs/oneroster.md summarises the spec as this package reads it.
"""

from webapp.oneroster.archive import Limits
from webapp.oneroster.problems import Problem, Rule
from webapp.oneroster.validate import validate_bundle

__all__ = ["Limits", "Problem", "Rule", "validate_bundle"]
