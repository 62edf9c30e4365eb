"""Dates written day first or month first, and other systems' column names
(webapp.spreadsheets.dates and webapp.spreadsheets.mapping)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.spreadsheet_files import csv_bytes, read_all, text_rows
from webapp.import_export.csvformat import FIELDS as CSV_FIELDS
from webapp.spreadsheets import (
    FIELDS,
    IGNORE,
    DateParseError,
    MappingError,
    infer_date_order,
    parse_date,
    parse_mapping_spec,
    suggest_mapping,
)

pytestmark = pytest.mark.sqlite_only  # no database: once is enough

# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "order"),
    [
        pytest.param(["2015-03-14", "2014-01-02"], "ymd", id="iso"),
        pytest.param(["01/02/2015", "14/03/2015"], "dmy", id="day-over-12"),
        pytest.param(["01.02.2015", "", "14.3.2015"], "dmy", id="german-dots"),
        pytest.param(["1/2/2015", "3/14/2015"], "mdy", id="month-first"),
        pytest.param(["01/02/2015", "03/04/2015"], None, id="all-ambiguous"),
        pytest.param(["14/03/2015", "03/14/2015"], None, id="both-orders"),
        pytest.param(["2015-03-14", "01/02/2015"], None, id="iso-and-ambiguous"),
        pytest.param(["2015-03-14", "14/03/2015"], "dmy", id="iso-and-day-first"),
        pytest.param(["", "n/a", "soon"], None, id="no-dates"),
    ],
)
def test_a_columns_date_order_is_inferred_only_when_a_value_shows_it(
    values: list[str], order: str | None
) -> None:
    assert infer_date_order(values) == order


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2015-03-14", None, date(2015, 3, 14)),
        ("2015/3/4", "dmy", date(2015, 3, 4)),
        ("14/03/2015", "dmy", date(2015, 3, 14)),
        ("14.03.2015", "dmy", date(2015, 3, 14)),
        ("03-14-2015", "mdy", date(2015, 3, 14)),
        ("3/4/2015", "mdy", date(2015, 3, 4)),
        ("3/4/2015", "dmy", date(2015, 4, 3)),
        (" 29/02/2016 ", "dmy", date(2016, 2, 29)),
        ("2015-03-14 00:00:00", "dmy", date(2015, 3, 14)),
    ],
)
def test_dates_are_read_in_the_columns_order(text: str, order: str | None, expected: date) -> None:
    assert parse_date(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "order", "message"),
    [
        ("31/02/2015", "dmy", "'31/02/2015' is not a real date: February 2015 has 28 days."),
        ("29/02/2015", "dmy", "February 2015 has 28 days"),
        ("02/31/2015", "mdy", "February 2015 has 28 days"),
        ("2015-13-01", None, "'2015-13-01' has no month 13."),
        ("14/03/2015", "mdy", "has no month 14 (read as month/day/year)"),
        ("03/04/2015", None, "could be day/month/year or month/day/year"),
        ("14/03/2015", "ymd", "is not written year-month-day"),
        ("14/03/15", "dmy", "has a two-digit year"),
        ("14/03-2015", "dmy", "is not a date"),
        ("14 March 2015", "dmy", "is not a date"),
        ("2015-03-14 09:30", None, "is not a date"),
    ],
)
def test_impossible_and_unreadable_dates_are_clear_errors(
    text: str, order: str | None, message: str
) -> None:
    with pytest.raises(DateParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_date(text, order)  # type: ignore[arg-type]


def test_day_first_csv_gives_the_clean_dates() -> None:
    clean = read_all(csv_bytes(text_rows()), "clean.csv")[1]
    french = read_all(csv_bytes(text_rows("%d/%m/%Y"), delimiter=";"), "fr.csv")[1]

    column = [row[2] for row in french]
    order = infer_date_order(column)

    assert order == "dmy"
    assert [parse_date(cell, order).isoformat() if cell else "" for cell in column] == [
        row[2] for row in clean
    ]


# --- column mapping ----------------------------------------------------------------------


def test_our_own_export_headers_map_to_themselves() -> None:
    assert FIELDS == CSV_FIELDS
    mapping = suggest_mapping(["id", "name", "email", "grade", "birthday", "enrolled_on"])

    assert mapping.targets == FIELDS
    assert mapping.unmapped == []


@pytest.mark.parametrize(
    ("headers", "targets"),
    [
        pytest.param(
            ["First name", "Last name", "DOB", "Year group", "E-mail", "Notes"],
            ("first_name", "last_name", "birthday", "grade", "email", None),
            id="english",
        ),
        pytest.param(
            ["Student ID", "Given name", "Surname", "Date of birth", "Grade level"],
            ("id", "first_name", "last_name", "birthday", "grade"),
            id="english-2",
        ),
        pytest.param(
            ["Nom", "Prénom", "Date de naissance", "Classe", "Courriel"],
            ("last_name", "first_name", "birthday", "grade", "email"),
            id="french",
        ),
        pytest.param(
            ["Name", "Vorname", "Geburtsdatum", "Klasse", "E-Mail-Adresse"],
            ("last_name", "first_name", "birthday", "grade", "email"),
            id="german",
        ),
        pytest.param(
            ["Nombre", "Apellidos", "Fecha de nacimiento", "Curso"],
            ("first_name", "last_name", "birthday", "grade"),
            id="spanish",
        ),
        pytest.param(
            ["Nome", "Cognome", "Data di nascita", "Classe"],
            ("first_name", "last_name", "birthday", "grade"),
            id="italian",
        ),
        pytest.param(["Name", "Year"], ("name", "grade"), id="name-alone-is-full-name"),
        pytest.param(["NOM", "Niveau"], ("name", "grade"), id="nom-alone-is-full-name"),
        pytest.param(
            ["Enrollment date", " enrolment_date ", "D.O.B."],
            ("enrolled_on", None, "birthday"),
            id="second-same-field-unused",
        ),
    ],
)
def test_headers_are_recognised_from_the_alias_table(
    headers: list[str], targets: tuple[str | None, ...]
) -> None:
    assert suggest_mapping(headers).targets == targets


def test_unrecognised_columns_are_listed_never_dropped() -> None:
    mapping = suggest_mapping(["First name", "Last name", "Bus route", "", "Year"])

    assert mapping.unmapped == ["Bus route", "column 4"]
    assert mapping.fields == ["name", "grade"]


def test_first_and_last_names_are_joined_as_first_last() -> None:
    mapping = suggest_mapping(["Last name", "First name", "Year", "Notes"])

    assert mapping.apply(["Durand ", " Élodie", "3", "x"]) == {
        "name": "Élodie Durand",
        "grade": "3",
    }
    assert mapping.apply(["Cher", "", "3"]) == {"name": "Cher", "grade": "3"}
    assert mapping.apply(["", ""]) == {"name": "", "grade": ""}


def test_ambiguous_name_words_are_explained_on_the_preview() -> None:
    mapping = suggest_mapping(["Name", "Vorname", "E-Mail", "Email"])

    assert mapping.notes == (
        "“Name” is read as the last name.",
        "“Email” is not used: “E-Mail” already gives the email.",
    )


def test_fingerprint_is_the_same_for_the_same_headers_only() -> None:
    first = suggest_mapping(["First name", "Last name", "DOB"]).fingerprint

    assert suggest_mapping([" first name", "LAST NAME ", "DOB"]).fingerprint == first
    assert suggest_mapping(["Last name", "First name", "DOB"]).fingerprint != first
    assert suggest_mapping(["First name", "Last name"]).fingerprint != first
    assert len(first) == 64


def test_a_remembered_mapping_applies_to_the_next_file() -> None:
    mapping = suggest_mapping(["Pupil", "Form", "Bus"]).with_targets(
        {"Pupil": "name", "Form": "grade", "Bus": "ignore"}
    )
    stored = mapping.to_dict()

    again = suggest_mapping(["Pupil", "Form", "Bus"]).with_targets(stored)

    assert again == mapping
    assert again.unmapped == []
    assert again.apply(["Ann Lee", "3", "12"]) == {"name": "Ann Lee", "grade": "3"}


def test_mapping_spec_from_the_command_line() -> None:
    spec = parse_mapping_spec(
        'First name=first_name, Last name=last_name,DOB=birthday,Notes=ignore,"Tutor, form"=grade'
    )

    assert spec == {
        "First name": "first_name",
        "Last name": "last_name",
        "DOB": "birthday",
        "Notes": IGNORE,
        "Tutor, form": "grade",
    }
    mapping = suggest_mapping(["First name", "Last name", "DOB", "Notes", "Tutor, form"])
    assert mapping.with_targets(spec).unmapped == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("DOB", "is not a column=target pair"),
        ("=birthday", "is not a column=target pair"),
        ("DOB=birth", "“birth” \\(for the column “DOB”\\) is not a target; use one of id, name"),
        ("DOB=birthday,DOB=ignore", "The column “DOB” is mapped twice"),
    ],
)
def test_bad_mapping_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping_spec(spec)


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({"Bus": "grade"}, "Both “Year” and “Bus” are mapped to grade"),
        ({"Pupil": "name"}, "“Pupil” is mapped to the full name and “First name” to a part"),
        ({"Tutor": "grade"}, "The file has no column “Tutor”; its columns are “First name”"),
    ],
)
def test_mappings_that_cannot_work_are_refused(chosen: dict[str, str], message: str) -> None:
    mapping = suggest_mapping(["First name", "Year", "Bus", "Pupil"])

    with pytest.raises(MappingError, match=message):
        mapping.with_targets(chosen)
