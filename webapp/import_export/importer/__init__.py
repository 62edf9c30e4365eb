"""CSV import of students, shared by the upload pages and ``flask students import``.

One module per stage, each usable on its own:

1. :mod:`.reading`: the file's bytes to a header and rows of text (:func:`read_csv`);
   :mod:`.columns` maps the header to student fields (:func:`parse_csv`). A file that
   cannot be used as a whole raises :class:`ImportFileError`.
2. :mod:`.checking`: each row on its own, with the field declarations' rules, in worker
   processes for large files (:func:`validate_rows`, :func:`iter_validated`).
3. :mod:`.planning`: each row against the roster: create, update, unchanged or error
   (:class:`Planner`, :func:`plan_import`).
4. :mod:`.writing`: the planned rows and their audit events, in bulk
   (:class:`PlanWriter`, :func:`begin_import`).
5. :mod:`.pipeline`: the stages together: :func:`apply_plan` after a preview, or
   :func:`run_import` streaming a file through all of them (the command line).

This package re-exports what its callers use.
"""

from webapp.import_export.importer.checking import (
    ValidatedFile,
    ValidRow,
    iter_validated,
    largest_id,
    read_and_validate,
    validate_rows,
    validation_processes,
)
from webapp.import_export.importer.columns import ParsedCsv, parse_csv, parse_table
from webapp.import_export.importer.pipeline import (
    ImportConflictError,
    ImportResult,
    apply_plan,
    describe_row,
    run_import,
)
from webapp.import_export.importer.planning import (
    Action,
    Change,
    ImportPlan,
    Planner,
    RowPlan,
    display,
    plan_import,
)
from webapp.import_export.importer.reading import (
    DEFAULT_MAX_BYTES,
    ImportFileError,
    Table,
    configured_max_bytes,
    format_size,
    read_csv,
    too_large_message,
)
from webapp.import_export.importer.writing import IMPORT_LOCK_KEY, PlanWriter, begin_import

__all__ = [
    "DEFAULT_MAX_BYTES",
    "IMPORT_LOCK_KEY",
    "Action",
    "Change",
    "ImportConflictError",
    "ImportFileError",
    "ImportPlan",
    "ImportResult",
    "ParsedCsv",
    "PlanWriter",
    "Planner",
    "RowPlan",
    "Table",
    "ValidRow",
    "ValidatedFile",
    "apply_plan",
    "begin_import",
    "configured_max_bytes",
    "describe_row",
    "display",
    "format_size",
    "iter_validated",
    "largest_id",
    "parse_csv",
    "parse_table",
    "plan_import",
    "read_and_validate",
    "read_csv",
    "run_import",
    "too_large_message",
    "validate_rows",
    "validation_processes",
]
