"""Forms of the guardians blueprint (Flask-WTF: every POST carries a CSRF token).

Every field comes from its declaration (:mod:`webapp.fields.guardian`): the guardian's,
one kind and number per phone row, and the link's (relationship, contact order, flags).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, SubmitField

from webapp.fields.formfield import DeclaredField, add_declared_fields
from webapp.fields.guardian import GUARDIAN, GUARDIAN_LINK, PHONE_KIND, PHONE_NUMBER
from webapp.models import Guardian, PhoneKind, StudentGuardian
from webapp.models.guardian import PHONES_MAX
from webapp.students.forms import submitted_version

#: The phone rows of the guardian form, numbered from 1.
PHONE_ROWS = range(1, PHONES_MAX + 1)


def _kind(row: int) -> str:
    return f"phone{row}_kind"


def _number(row: int) -> str:
    return f"phone{row}_number"


class LinkFields(FlaskForm):
    """The link's fields: what the guardian is to the student, and the flags.

    Args:
        link: the link being changed (its values fill the form), or ``None``.
        **kwargs: passed to :class:`flask_wtf.FlaskForm`.
    """

    link_version = HiddenField()

    def __init__(self, *args: Any, link: StudentGuardian | None = None, **kwargs: Any) -> None:
        data = kwargs.setdefault("data", {})
        if link is None:
            for name, value in GUARDIAN_LINK.defaults(date.today()).items():
                data.setdefault(name, value)
        else:
            for declaration in GUARDIAN_LINK:
                data.setdefault(declaration.name, getattr(link, declaration.name))
            data.setdefault("link_version", str(link.version))
        super().__init__(*args, **kwargs)
        self.link = link
        if link is not None:
            for declaration in GUARDIAN_LINK:
                self[declaration.name].stored = getattr(link, declaration.name)

    def link_values(self) -> dict[str, Any]:
        """The link's cleaned values; a blank contact order is 1 on a new link and the
        stored one on an existing link."""
        typed = {d.name: self[d.name].data for d in GUARDIAN_LINK}
        stored = None
        if self.link is not None:
            stored = {name: getattr(self.link, name) for name in typed}
        return GUARDIAN_LINK.complete(typed, stored, date.today())

    def expected_link_version(self) -> int | None:
        """The link's version the form was rendered from, or ``None``."""
        return submitted_version(self.link_version)


add_declared_fields(LinkFields, GUARDIAN_LINK)


class GuardianFields(LinkFields):
    """The guardian's fields and phone rows, with the link's fields.

    Args:
        guardian: the guardian being edited (fills the form), or ``None`` for a new one.
        link: see :class:`LinkFields`.
    """

    version = HiddenField()
    submit = SubmitField("Save")

    def __init__(
        self,
        *args: Any,
        guardian: Guardian | None = None,
        link: StudentGuardian | None = None,
        **kwargs: Any,
    ) -> None:
        data = kwargs.setdefault("data", {})
        if guardian is not None:
            for name in ("name", "email", "preferred_language"):
                data.setdefault(name, getattr(guardian, name))
            for row, (kind, number) in zip(PHONE_ROWS, guardian.phones, strict=False):
                data[_kind(row)], data[_number(row)] = kind, number
            data.setdefault("version", str(guardian.version))
        super().__init__(*args, link=link, **kwargs)
        self.guardian = guardian
        for row in PHONE_ROWS:
            if not self[_kind(row)].text:
                self[_kind(row)].process_data(PhoneKind.MOBILE.value)
        if guardian is not None:
            for declaration in GUARDIAN.form_fields:
                self[declaration.name].stored = getattr(guardian, declaration.name)

    def phone_rows(self) -> list[tuple[DeclaredField, DeclaredField]]:
        """The ``(kind, number)`` field pairs, in order."""
        return [(self[_kind(row)], self[_number(row)]) for row in PHONE_ROWS]

    def values(self) -> dict[str, Any]:
        """The guardian's cleaned fields (blanks are ``None``)."""
        return {d.name: self[d.name].data for d in GUARDIAN.form_fields}

    def phones(self) -> list[tuple[str, str]]:
        """The numbers entered, in order: ``(kind, E.164)``; empty rows left out."""
        return [
            (kind.data or PhoneKind.MOBILE.value, number.data)
            for kind, number in self.phone_rows()
            if number.data
        ]

    def expected_version(self) -> int | None:
        """The guardian's version the form was rendered from, or ``None``."""
        return submitted_version(self.version)


add_declared_fields(GuardianFields, GUARDIAN)
for _row in PHONE_ROWS:
    setattr(GuardianFields, _kind(_row), DeclaredField(PHONE_KIND, label=f"Phone {_row}: kind"))
    setattr(
        GuardianFields,
        _number(_row),
        DeclaredField(PHONE_NUMBER, label=f"Phone {_row}: number", description=""),
    )


class LinkForm(LinkFields):
    """Link an existing guardian to a student: the link's fields."""

    submit = SubmitField("Link guardian")


class ConfirmForm(FlaskForm):
    """A confirmation button (unlink, delete): CSRF and the version the page showed."""

    version = HiddenField()
    submit = SubmitField("Confirm")

    def expected_version(self) -> int | None:
        """The version the confirmation page showed, or ``None``."""
        return submitted_version(self.version)
