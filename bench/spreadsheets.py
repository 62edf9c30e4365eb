"""Reading and writing rosters as spreadsheets (``webapp.spreadsheets``): time and memory.

Reads a roster of ``--rows`` students (100,000 by default) as

* a clean CSV (UTF-8, commas): the peer every other figure is divided by,
* a French-Excel CSV (Windows-1252, semicolons, day-first dates),
* an ``.xlsx`` with a shared-strings table, as Excel writes it (made by openpyxl),
* an ``.xlsx`` with inline strings, as our export writes it,
* an ``.ods``, its ``content.xml`` written as LibreOffice writes it (odfpy would need
  gigabytes to build 100,000 rows),

each through ``read_table`` to the last row, and writes ``--export-rows`` rows (1,000,000
by default) with ``write_xlsx``. Each measurement runs in a fresh Python process; memory
is the rise of that process's peak resident set size over its size once the modules are
imported (Linux's ``VmHWM``, reset through ``/proc/self/clear_refs``), so it counts what
reading or writing added, including the C parts (expat, zlib, the file's bytes when
they are read into memory). Timings are wall-clock, the median of ``--repeat`` runs.

Full run (a few minutes on 2 cores)::

    .venv/bin/python -m bench.spreadsheets

Quick check::

    .venv/bin/python -m bench.spreadsheets --rows 5000 --export-rows 20000 --repeat 1
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from webapp.spreadsheets.export import Value

HEADER = ["id", "name", "email", "grade", "birthday", "enrolled_on"]


def students(count: int) -> Iterator[list[Value]]:
    """``count`` rows of student values, with dates."""
    for number in range(1, count + 1):
        yield [
            number,
            f"Student Number{number}",
            f"student{number}@example.org",
            number % 12 + 1,
            date(2008, 1, 1) + timedelta(days=number % 5000),
            date(2020, 9, 1),
        ]


def text(value: object, date_format: str = "%Y-%m-%d") -> str:
    return value.strftime(date_format) if isinstance(value, date) else str(value)


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    """Write the files to read; return them by label."""
    from openpyxl import Workbook

    from webapp.spreadsheets import write_xlsx

    files = {
        "clean CSV (UTF-8, comma)": folder / "clean.csv",
        "French Excel CSV (cp1252, semicolon, dd/mm/yyyy)": folder / "french.csv",
        ".xlsx, shared strings (as Excel writes)": folder / "shared.xlsx",
        ".xlsx, inline strings (as our export writes)": folder / "inline.xlsx",
        ".ods (as LibreOffice writes)": folder / "roster.ods",
    }
    paths = list(files.values())
    with paths[0].open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows([text(v) for v in row] for row in students(rows))
    with paths[1].open("w", newline="", encoding="cp1252") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows([text(v, "%d/%m/%Y") for v in row] for row in students(rows))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in students(rows):
        sheet.append(row)
    workbook.save(paths[2])
    with paths[3].open("wb") as out:
        write_xlsx(out, HEADER, students(rows))
    write_ods(paths[4], rows)
    return files


def write_ods(path: Path, rows: int) -> None:
    """An .ods whose content.xml has typed cells, as LibreOffice saves them."""
    table = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    textns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

    def cell(value: object) -> str:
        if isinstance(value, date):
            iso = value.isoformat()
            return (
                f'<table:table-cell office:value-type="date" office:date-value="{iso}">'
                f"<text:p>{iso}</text:p></table:table-cell>"
            )
        if isinstance(value, int):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return (
            f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
            "</text:p></table:table-cell>"
        )

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        with archive.open("content.xml", "w") as out:
            out.write(
                f'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                f'xmlns:office="{office}" xmlns:table="{table}" xmlns:text="{textns}">'
                f"<office:body><office:spreadsheet><table:table table:name={quoteattr('Roster')}>"
                "".encode()
            )
            out.write(("<table:table-row>" + "".join(cell(h) for h in HEADER)).encode())
            out.write(b"</table:table-row>")
            for row in students(rows):
                line = "<table:table-row>" + "".join(cell(v) for v in row)
                out.write((line + "</table:table-row>").encode())
            # LibreOffice pads the sheet to its last row with one repeated blank row.
            out.write(
                b'<table:table-row table:number-rows-repeated="948575"><table:table-cell '
                b'table:number-columns-repeated="1024"/></table:table-row>'
                b"</table:table></office:spreadsheet></office:body></office:document-content>"
            )


# --- one measurement per process -----------------------------------------------------------


def task(argv: list[str]) -> dict[str, float]:
    """Run one measurement in this process: ``read PATH`` or ``write PATH ROWS``."""
    import webapp.spreadsheets as spreadsheets

    base = reset_peak()
    started = time.perf_counter()
    count = 0
    if argv[0] == "read":
        path = Path(argv[1])
        with path.open("rb") as source, spreadsheets.read_table(source, path.name) as table:
            for _ in table:
                count += 1
    elif argv[0] == "write":
        with open(argv[1], "wb") as out:
            count = spreadsheets.write_xlsx(out, HEADER, students(int(argv[2])))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": count, "peak": status("VmHWM") - base}


def status(field: str) -> int:
    """A memory figure of this process from ``/proc/self/status``, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def reset_peak() -> int:
    """Reset this process's peak resident set size (Linux 4.0+); return the current size."""
    Path("/proc/self/clear_refs").write_text("5")
    return status("VmRSS")


def measure(args: list[str], repeat: int) -> dict[str, float]:
    """The median time and the largest peak of ``repeat`` fresh processes running ``args``."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-m", "bench.spreadsheets", "--task", *args],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(done.stdout))
    return {
        "seconds": statistics.median(run["seconds"] for run in runs),
        "rows": runs[0]["rows"],
        "peak": max(run["peak"] for run in runs),
    }


def main() -> None:
    """Parse the arguments, make the files, measure, print a Markdown report."""
    if sys.argv[1:2] == ["--task"]:
        print(json.dumps(task(sys.argv[2:])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the files read")
    parser.add_argument("--export-rows", type=int, default=1_000_000, help="rows written")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        files = make_files(Path(folder), options.rows)
        print(f"files made in {time.perf_counter() - started:.0f} s\n")
        print(f"| read {options.rows:,} rows of | size | seconds | x clean CSV | peak MB |")
        print("|---|---:|---:|---:|---:|")
        peer = None
        for label, path in files.items():
            result = measure(["read", str(path)], options.repeat)
            assert result["rows"] == options.rows, (label, result)
            peer = peer or result["seconds"]
            print(
                f"| {label} | {path.stat().st_size / 1e6:.1f} MB | {result['seconds']:.2f} | "
                f"{result['seconds'] / peer:.1f} | {result['peak'] / 1e6:.1f} |"
            )
        print()
        print("| write .xlsx | size | seconds | rows/s | peak MB |")
        print("|---|---:|---:|---:|---:|")
        for rows in sorted({options.rows, options.export_rows}):
            out = Path(folder) / f"export-{rows}.xlsx"
            result = measure(
                ["write", str(out), str(rows)], 1 if rows > 200_000 else options.repeat
            )
            print(
                f"| {rows:,} rows | {out.stat().st_size / 1e6:.1f} MB | {result['seconds']:.1f} | "
                f"{rows / result['seconds']:,.0f} | {result['peak'] / 1e6:.1f} |"
            )


if __name__ == "__main__":
    main()
