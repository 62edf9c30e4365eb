"""Import of students from files, shared by the upload pages and ``flask students import``.

One module per stage, each usable on its own:

1. :mod:`.reading`: the file's bytes (CSV in any common dialect, ``.xlsx``, ``.ods``) to
   a header and rows of text (:func:`read_file`; kept as lists, or read again from the
   file whenever they are iterated: ``stream=True``, the command line's); :mod:`.columns`
   maps the columns to student fields and decides how dates are read (:func:`map_table`,
   :func:`parse_file`).
   :mod:`.table` holds the :class:`Table` read; :mod:`.limits` what a file may cost.
   A file that cannot be used as a whole raises :class:`ImportFileError`.
2. :mod:`.checking`: each row on its own, with the field declarations' rules, in worker
   processes for large files (:func:`validate_rows`, :func:`iter_validated`); one
   record's checks are :mod:`.row_checks`.
3. :mod:`.planning`: each row against the roster: create, update, unchanged or error
   (:class:`Planner`, :func:`plan_import`); :mod:`.lookup` reads the students the rows
   name, and :mod:`.plans` holds the plan (:class:`RowPlan`, :class:`ImportPlan`).
4. :mod:`.writing`: the planned rows and their audit events, in bulk
   (:class:`PlanWriter`, :func:`begin_import`), through :mod:`.bulk_sql`'s statements;
   the events are :mod:`.audit_events`'.
5. :mod:`.pipeline`: the stages together: :func:`apply_plan` after a preview, or
   :func:`run_import` streaming a file through all of them (the command line).

This package re-exports what its callers use.
"""

from webapp.import_export.importer.checking import (
    ValidatedFile,
    iter_validated,
    largest_id,
    read_and_validate,
    validate_rows,
    validation_processes,
)
from webapp.import_export.importer.columns import (
    DATE_FIELDS,
    DateColumn,
    ParsedFile,
    check_targets,
    date_order,
    map_table,
    parse_csv,
    parse_file,
)
from webapp.import_export.importer.limits import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_COLUMNS,
    DEFAULT_MAX_ROWS,
    ImportFileError,
    ImportLimits,
    configured_limits,
    configured_max_bytes,
    format_size,
    too_large_message,
)
from webapp.import_export.importer.pipeline import (
    ImportConflictError,
    ImportResult,
    apply_plan,
    describe_row,
    run_import,
)
from webapp.import_export.importer.planning import Planner, plan_import
from webapp.import_export.importer.plans import (
    Action,
    Change,
    ImportPlan,
    PlanDigest,
    RowPlan,
    display,
)
from webapp.import_export.importer.reading import read_csv, read_file, unpack_table
from webapp.import_export.importer.row_checks import ValidRow
from webapp.import_export.importer.table import Source, Table
from webapp.import_export.importer.writing import IMPORT_LOCK_KEY, PlanWriter, begin_import

__all__ = [
    "DATE_FIELDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_ROWS",
    "IMPORT_LOCK_KEY",
    "Action",
    "Change",
    "DateColumn",
    "ImportConflictError",
    "ImportFileError",
    "ImportLimits",
    "ImportPlan",
    "ImportResult",
    "ParsedFile",
    "PlanDigest",
    "PlanWriter",
    "Planner",
    "RowPlan",
    "Source",
    "Table",
    "ValidRow",
    "ValidatedFile",
    "apply_plan",
    "begin_import",
    "check_targets",
    "configured_limits",
    "configured_max_bytes",
    "date_order",
    "describe_row",
    "display",
    "format_size",
    "iter_validated",
    "largest_id",
    "map_table",
    "parse_csv",
    "parse_file",
    "plan_import",
    "read_and_validate",
    "read_csv",
    "read_file",
    "run_import",
    "too_large_message",
    "unpack_table",
    "validate_rows",
    "validation_processes",
]
