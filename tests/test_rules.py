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


def test_check_birthday_range() -> None:
    today = date(2026, 1, 1)
    assert rules.check_birthday(None, today) is None
    assert rules.check_birthday(date(1900, 1, 1), today) == date(1900, 1, 1)
    assert rules.check_birthday(today, today) == today
    with pytest.raises(ValueError, match="before"):
        rules.check_birthday(date(1899, 12, 31), today)
    with pytest.raises(ValueError, match="future"):
        rules.check_birthday(date(2026, 1, 2), today)


def test_check_enrolled_on_not_before_birthday() -> None:
    assert rules.check_enrolled_on(date(2020, 1, 1), date(2020, 1, 1)) == date(2020, 1, 1)
    assert rules.check_enrolled_on(date(2020, 1, 1), None) == date(2020, 1, 1)
    with pytest.raises(ValueError, match="before the birthday"):
        rules.check_enrolled_on(date(2019, 12, 31), date(2020, 1, 1))
    with pytest.raises(ValueError, match="1900"):
        rules.check_enrolled_on(date(1899, 1, 1), None)
