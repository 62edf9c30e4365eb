"""Unit tests of the field declarations (webapp.fields) that the form and the import share."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.fields import rules
from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.enrollment import ENROLLMENT
from webapp.fields.parsers import parse_text
from webapp.fields.records import RecordFields
from webapp.fields.school_year import SCHOOL_YEAR
from webapp.fields.student import ROSTER_ROW, STUDENT
from webapp.spreadsheets import suggest_mapping

TODAY = date(2026, 1, 1)


def clean(name: str, text: str) -> object:
    return ROSTER_ROW[name].clean(text, TODAY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada", "Ada"),
        ("  Ada   King ", "Ada King"),
        ("Zoë\tÅberg", "Zoë Åberg"),
        ("x" * 100, "x" * 100),
    ],
)
def test_name_is_tidied(raw: str, expected: str) -> None:
    assert clean("name", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the student's name."),
        ("   ", "Enter the student's name."),
        ("\u200b", "Enter the student's name."),
        (" \u200b\u200d ", "Enter the student's name."),
        ("\ufeff", "Enter the student's name."),
        ("x" * 101, "The name is 101 characters long; it can have at most 100."),
        ("Ada\x00", "The name cannot contain control characters."),
    ],
)
def test_name_refused(raw: str, message: str) -> None:
    with pytest.raises(FieldError) as error:
        clean("name", raw)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("  ", None),
        ("ada@EXAMPLE.org", "ada@example.org"),
        (" ada@example.org ", "ada@example.org"),
        ("josé@exämple.org", "josé@exämple.org"),
    ],
)
def test_email_is_normalised(raw: str, expected: str | None) -> None:
    assert clean("email", raw) == expected
    assert rules.clean_email(raw) == expected


@pytest.mark.parametrize("raw", ["plain", "a@b", "a@@b.org", "a b@c.org", "x" * 250 + "@a.org"])
def test_email_refused(raw: str) -> None:
    with pytest.raises(FieldError, match="email address"):
        clean("email", raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("7", 7), (" 12 ", 12), ("٣", 3), ("+5", 5), ("01", 1)],
)
def test_grade_parsed_as_a_whole_number_of_any_script(raw: str, expected: int) -> None:
    assert clean("grade", raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a grade from 1 to 12."),
        ("abc", "The grade 'abc' is not a whole number."),
        ("7.5", "The grade '7.5' is not a whole number."),
        ("1e3", "The grade '1e3' is not a whole number."),
        ("1²", "The grade '1²' is not a whole number."),
        ("0", "The grade must be from 1 to 12."),
        ("-3", "The grade must be from 1 to 12."),
        ("13", "The grade must be from 1 to 12."),
    ],
)
def test_grade_refused(raw: str, message: str) -> None:
    with pytest.raises(FieldError) as error:
        clean("grade", raw)
    assert str(error.value) == message


def test_birthday_refuses_only_the_future() -> None:
    """How long ago a birthday may be is plausibility (a warning), not a rule."""
    assert clean("birthday", "") is None
    assert clean("birthday", "1879-03-14") == date(1879, 3, 14)
    assert clean("birthday", TODAY.isoformat()) == TODAY
    with pytest.raises(FieldError, match="future"):
        clean("birthday", "2026-01-02")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12/03/2012", "The birthday '12/03/2012' is not a date in the form YYYY-MM-DD."),
        ("2013-2-3", "The birthday '2013-2-3' is not a date in the form YYYY-MM-DD."),
        ("٢٠١٣-٠٢-٠٣", "The birthday '٢٠١٣-٠٢-٠٣' is not a date in the form YYYY-MM-DD."),
    ],
)
def test_dates_are_iso_dates_only(raw: str, message: str) -> None:
    with pytest.raises(FieldError) as error:
        clean("birthday", raw)
    assert str(error.value) == message


def test_a_day_that_does_not_exist_is_refused() -> None:
    with pytest.raises(FieldError, match="The birthday '2013-02-30' is not a real date"):
        clean("birthday", "2013-02-30")


def test_an_enrollment_date_before_1900_is_no_error() -> None:
    assert clean("enrolled_on", "1899-01-01") == date(1899, 1, 1)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "The id 0 is not a student id (ids go from 1 to 2147483647)."),
        ("2147483648", "The id 2147483648 is not a student id (ids go from 1 to 2147483647)."),
        ("x", "The id 'x' is not a whole number."),
    ],
)
def test_id_range(raw: str, message: str) -> None:
    with pytest.raises(FieldError) as error:
        clean("id", raw)
    assert str(error.value) == message


ENROLLED = date(2026, 9, 1)


def warnings(birthday: date | None, enrolled_on: date, judge: set[str] | None = None) -> dict:
    """The student's warnings by field, for these dates."""
    values = {"birthday": birthday, "enrolled_on": enrolled_on}
    return dict(STUDENT.check_warnings(values, TODAY, judge))


@pytest.mark.parametrize(
    ("birthday", "enrolled_on", "expected"),
    [
        pytest.param(date(2018, 9, 1), ENROLLED, {}, id="8-years-old"),
        pytest.param(date(2023, 9, 1), ENROLLED, {}, id="3-years-old"),
        pytest.param(date(2001, 9, 1), ENROLLED, {}, id="25-years-old"),
        pytest.param(None, ENROLLED, {}, id="no-birthday"),
        pytest.param(date(2023, 9, 2), ENROLLED, {"birthday": "was 2 years old"}, id="2-years-old"),
        pytest.param(date(2025, 9, 1), ENROLLED, {"birthday": "was 1 year old"}, id="1-year-old"),
        pytest.param(
            date(2000, 9, 1), ENROLLED, {"birthday": "was 26 years old"}, id="26-years-old"
        ),
        # The tutorial's sample students, enrolled when its script ran.
        pytest.param(
            date(1879, 3, 14),
            ENROLLED,
            {"birthday": "Born on 14 March 1879, the student was 147 years old"},
            id="albert-einstein",
        ),
        pytest.param(
            date(1912, 6, 23), ENROLLED, {"birthday": "was 114 years old"}, id="alan-turing"
        ),
        # Old, but enrolled as a child: a historical record, nothing unusual.
        pytest.param(date(1912, 6, 23), date(1926, 9, 1), {}, id="historical-record"),
        pytest.param(
            None,
            date(1899, 9, 1),
            {"enrolled_on": "The enrollment date 1 September 1899 is before 1900."},
            id="enrolled-1899",
        ),
        pytest.param(
            date(1850, 1, 1),
            date(1856, 9, 1),
            {"enrolled_on": "before 1900"},
            id="both-19th-century",
        ),
    ],
)
def test_unusual_dates_are_warnings(
    birthday: date | None, enrolled_on: date, expected: dict[str, str]
) -> None:
    found = warnings(birthday, enrolled_on)

    assert set(found) == set(expected)
    for field, text in expected.items():
        assert text in found[field]


def test_warnings_judge_only_the_fields_asked_for() -> None:
    """A warning belongs to one field (the age at enrollment to the birthday), and is
    judged only when that field is entered or changed."""
    birthday, enrolled_on = date(1879, 3, 14), date(1885, 9, 1)

    assert set(warnings(birthday, enrolled_on)) == {"enrolled_on"}
    assert warnings(date(1850, 1, 1), enrolled_on, judge=set()) == {}
    assert set(warnings(date(1850, 1, 1), enrolled_on, {"birthday"})) == {"birthday"}
    assert set(warnings(date(1850, 1, 1), date(2026, 9, 1), {"enrolled_on"})) == set()


def test_warnings_skip_fields_that_failed_their_own_check() -> None:
    values = {"birthday": date(1850, 1, 1), "enrolled_on": date(1899, 9, 1)}
    assert STUDENT.check_warnings(values, TODAY, invalid={"enrolled_on"}) == []
    assert [name for name, _ in STUDENT.check_warnings(values, TODAY, invalid={"birthday"})] == [
        "enrolled_on"
    ]


def test_a_future_birthday_is_left_to_its_rule() -> None:
    assert warnings(date(2030, 1, 1), date(2026, 1, 1)) == {}


def test_enrolled_before_birthday_is_a_record_rule() -> None:
    values = {"birthday": date(2020, 1, 1), "enrolled_on": date(2019, 12, 31)}
    assert STUDENT.check_record(values) == [
        ("enrolled_on", "The enrollment date cannot be before the birthday.")
    ]
    assert STUDENT.check_record({**values, "enrolled_on": date(2020, 1, 1)}) == []
    assert STUDENT.check_record({**values, "birthday": None}) == []
    # A rule reading a field that failed its own check does not run.
    assert STUDENT.check_record(values, invalid={"birthday"}) == []


def test_blank_enrollment_date_is_today_when_new_and_kept_when_existing() -> None:
    assert STUDENT.complete({"enrolled_on": None}, None, TODAY) == {"enrolled_on": TODAY}
    assert STUDENT.complete({}, None, TODAY) == {"enrolled_on": TODAY}
    stored = {"enrolled_on": date(2015, 9, 1)}
    assert STUDENT.complete({"enrolled_on": None}, stored, TODAY) == stored
    # Not given on an existing record: left alone. Other blanks clear their field.
    assert STUDENT.complete({"email": None}, stored, TODAY) == {"email": None}


def test_display_and_audit_forms() -> None:
    birthday = STUDENT["birthday"]
    assert birthday.display(date(2013, 2, 3)) == "2013-02-03"
    assert birthday.display(None) == ""
    assert birthday.to_json(date(2013, 2, 3)) == "2013-02-03"
    assert birthday.from_json("2013-02-03") == date(2013, 2, 3)
    assert ENROLLMENT["grade"].to_json(7) == 7
    assert ENROLLMENT["grade"].from_json(7) == 7
    assert ENROLLMENT["status"].display("transferred") == "Transferred out"
    assert SCHOOL_YEAR["is_current"].display(True) == "yes"


def test_declarations_list_the_fields_once_each() -> None:
    assert STUDENT.names == ("id", "name", "email", "birthday", "enrolled_on")
    assert [f.name for f in STUDENT.form_fields] == list(STUDENT.names[1:])
    assert [f.name for f in STUDENT.audited] == list(STUDENT.names[1:])
    assert suggest_mapping(["Enrollment date"]).targets == ("enrolled_on",)
    assert suggest_mapping(list(ROSTER_ROW.names)).targets == ROSTER_ROW.names
    # A CSV row: the student's fields, and the current year's grade and status.
    assert ROSTER_ROW.names == (
        "id",
        "name",
        "email",
        "grade",
        "birthday",
        "enrolled_on",
        "status",
        "status_on",
        "reason",
        "destination",
    )
    assert ROSTER_ROW["grade"] is ENROLLMENT["grade"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("enrolled", "enrolled"),
        (" Withdrawn ", "withdrawn"),
        ("TRANSFERRED  OUT", "transferred"),
        ("transferred", "transferred"),
        ("graduated", "graduated"),
        ("", None),
    ],
)
def test_status_accepts_the_value_or_the_label_in_any_case(raw: str, expected: object) -> None:
    assert clean("status", raw) == expected


def test_year_rules() -> None:
    values = {"name": "2026–27", "starts_on": date(2026, 9, 1), "ends_on": date(2026, 9, 1)}
    assert SCHOOL_YEAR.check_record(values) == [
        ("ends_on", "The last day must be after the first day.")
    ]
    assert SCHOOL_YEAR["name"].clean("  2026–27 ", TODAY) == "2026–27"


def test_warnings_are_messages_a_person_may_confirm() -> None:
    """The declaration's hook for plausibility checks: they warn, they never refuse."""
    nickname = Field(
        "nickname",
        "Nickname",
        Kind.TEXT,
        parse_text,
        warnings=(lambda value, today: "That is a long nickname." if len(value) > 5 else None,),
    )
    record = RecordFields((nickname,))
    value = record["nickname"].clean("Bartholomew", TODAY)
    assert value == "Bartholomew"
    assert nickname.check_warnings(value, TODAY) == ["That is a long nickname."]
    assert nickname.check_warnings("Bart", TODAY) == []
    assert nickname.check_warnings(None, TODAY) == []
