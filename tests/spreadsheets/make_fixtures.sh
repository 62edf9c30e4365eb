#!/usr/bin/env bash
# Remake the files LibreOffice wrote for tests/test_spreadsheets.py (not run by the suite).
# Needs LibreOffice: apt-get install -y --no-install-recommends libreoffice-calc-nogui
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export HOME="$work/home"
../../.venv/bin/python - "$work" <<'PY'
import sys
sys.path.insert(0, "../..")
from tests.spreadsheet_files import csv_bytes, text_rows
open(f"{sys.argv[1]}/roster.csv", "wb").write(csv_bytes(text_rows(), newline="\n"))
PY
# Import: comma, double quote, UTF-8, from line 1, formulas not evaluated (token 13).
import='CSV:44,34,76,1,,1033,false,true,false,false,false,0,false'
soffice --headless --infilter="$import" --convert-to xlsx --outdir . "$work/roster.csv"
soffice --headless --infilter="$import" --convert-to ods --outdir . "$work/roster.csv"
# Excel's French "CSV (séparateur : point-virgule)": semicolons, Windows-1252 (charset 1).
cp "$work/roster.csv" "$work/roster-fr.csv"
soffice --headless --infilter="$import" \
    --convert-to 'csv:Text - txt - csv (StarCalc):59,34,1,1' --outdir "$work/out" "$work/roster-fr.csv"
cp "$work/out/roster-fr.csv" roster-semicolon-cp1252.csv
# Formulas with the values LibreOffice calculated and saved, from a flat ODS without values.
soffice --headless --convert-to xlsx --outdir . formulas.fods
soffice --headless --convert-to ods --outdir . formulas.fods
