"""Unit tests of the field rules shared by the form and the command line."""

from __future__ import annotations

from datetime import date

import pytest

from webapp.students import rules


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada", "Ada"),
        ("  Ada   King ", "Ada King"),
        ("Zoë\tÅberg", "Zoë Åberg"),
        ("x" * 100, "x" * 100),
    ],
)
def test_clean_name_normalises_whitespace(raw: str, expected: str) -> None:
    assert rules.clean_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", None, "x" * 101])
def test_clean_name_rejects_blank_or_long(raw: str | None) -> None:
    with pytest.raises(ValueError, match=r"Enter the student's name|at most 100"):
        rules.clean_name(raw)


@pytest.mark.parametrize("raw", ["\u200b", " \u200b\u200d ", "\ufeff"])
def test_clean_name_refuses_an_invisible_name(raw: str) -> None:
    """A zero-width space alone would make a blank, unclickable name in the roster."""
    with pytest.raises(ValueError, match="Enter the student's name"):
        rules.clean_name(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", None),
        ("  ", None),
        (None, None),
        ("ada@EXAMPLE.org", "ada@example.org"),
        (" ada@example.org ", "ada@example.org"),
        ("josé@exämple.org", "josé@exämple.org"),
    ],
)
def test_clean_email_normalises(raw: str | None, expected: str | None) -> None:
    assert rules.clean_email(raw) == expected


@pytest.mark.parametrize("raw", ["plain", "a@b", "a@@b.org", "a b@c.org", "x" * 250 + "@a.org"])
def test_clean_email_rejects_invalid(raw: str) -> None:
    with pytest.raises(ValueError, match="email address"):
        rules.clean_email(raw)


def test_check_birthday_refuses_only_the_future() -> None:
    today = date(2026, 1, 1)
    assert rules.check_birthday(None, today) is None
    assert rules.check_birthday(date(1879, 3, 14), today) == date(1879, 3, 14)
    assert rules.check_birthday(today, today) == today
    with pytest.raises(ValueError, match="future"):
        rules.check_birthday(date(2026, 1, 2), today)


def test_check_enrolled_on_not_before_birthday() -> None:
    assert rules.check_enrolled_on(date(2020, 1, 1), date(2020, 1, 1)) == date(2020, 1, 1)
    assert rules.check_enrolled_on(date(2020, 1, 1), None) == date(2020, 1, 1)
    assert rules.check_enrolled_on(date(1899, 1, 1), None) == date(1899, 1, 1)
    with pytest.raises(ValueError, match="before the birthday"):
        rules.check_enrolled_on(date(2019, 12, 31), date(2020, 1, 1))


ENROLLED = date(2026, 9, 1)


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
def test_unusual_dates_warns_about_plausibility(
    birthday: date | None, enrolled_on: date, expected: dict[str, str]
) -> None:
    warnings = rules.unusual_dates(birthday, enrolled_on)

    assert set(warnings) == set(expected)
    for field, text in expected.items():
        assert text in warnings[field]


def test_unusual_dates_judges_only_the_fields_asked_for() -> None:
    birthday, enrolled_on = date(1879, 3, 14), date(1885, 9, 1)

    assert set(rules.unusual_dates(birthday, enrolled_on)) == {"enrolled_on"}
    assert rules.unusual_dates(date(1850, 1, 1), enrolled_on, judge=()) == {}
    assert set(rules.unusual_dates(date(1850, 1, 1), enrolled_on, ["birthday"])) == {"birthday"}


def test_unusual_dates_leaves_a_future_birthday_to_check_birthday() -> None:
    assert rules.unusual_dates(date(2030, 1, 1), date(2026, 1, 1)) == {}
