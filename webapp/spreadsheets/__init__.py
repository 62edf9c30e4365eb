"""Rosters as offices keep them: CSV in any common dialect, Excel and LibreOffice files.

A pure library (no Flask, no database) for the importer's reading stage and the export:

- :func:`read_table` reads ``.csv``, ``.xlsx`` and ``.ods`` into a :class:`Table`: a header
  and streamed rows of text, with the detected encoding and delimiter of a CSV file.
  Refusals raise :class:`SpreadsheetError` with a message for office staff.
- :func:`infer_date_order` and :func:`parse_date` read dates written day first, month
  first or ISO.
- :func:`suggest_mapping` maps another system's headers ("First name", "DOB", "Klasse")
  to the student fields; :func:`parse_mapping_spec` reads a mapping from the command line.
- :func:`write_xlsx` streams rows into an ``.xlsx`` file.
"""

from webapp.spreadsheets.base import FileKind, Limits, Row, SpreadsheetError, Table
from webapp.spreadsheets.dates import DateOrder, DateParseError, infer_date_order, parse_date
from webapp.spreadsheets.export import write_xlsx
from webapp.spreadsheets.mapping import (
    FIELDS,
    IGNORE,
    TARGETS,
    ColumnMapping,
    MappingError,
    normalise_header,
    parse_mapping_spec,
    suggest_mapping,
)
from webapp.spreadsheets.reader import read_table

__all__ = [
    "FIELDS",
    "IGNORE",
    "TARGETS",
    "ColumnMapping",
    "DateOrder",
    "DateParseError",
    "FileKind",
    "Limits",
    "MappingError",
    "Row",
    "SpreadsheetError",
    "Table",
    "infer_date_order",
    "normalise_header",
    "parse_date",
    "parse_mapping_spec",
    "read_table",
    "suggest_mapping",
    "write_xlsx",
]
