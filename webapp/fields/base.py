"""Declaring a record's fields once, for every part of the app that handles them.

A :class:`Field` says everything about one field of a record: its label, whether it is
required, how its text is parsed, the rules its value must follow (with their messages),
the plausibility warnings a person may confirm, what a blank means, how the value is
shown, its CSV column and its form in the audit trail. A :class:`~.records.RecordFields` groups the
fields of one kind of record with the rules and the warnings that read several fields.

Rules are invariants: a value that breaks one is refused. Warnings are plausibility: an
unusual value that is still possible (a birthday in 1879) is shown to the person, who
confirms it on the form; the import takes it and shows the warning. Only values being
entered or changed are judged: a record that is already stored is never warned about
again (:meth:`~.records.RecordFields.check_warnings`).

The form (:mod:`webapp.fields.formfield`), the importer, the exporter, the audit trail and
the templates all read these declarations, so a field is added or changed in one place,
and the form and the import give the same value the same verdict and the same message.

This module holds :class:`Field` and its error; :mod:`.parsers` the parsers fields use
(text, whole numbers, choices, yes/no, ISO dates); :mod:`.records` :class:`~.records.RecordFields`
and the rules and warnings over several fields.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class FieldError(ValueError):
    """A value breaks a field's rule; ``str(error)`` is the message for the user."""


class Kind(enum.StrEnum):
    """What sort of value a field holds: picks the form's input and how values show."""

    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    PHONE = "phone"
    BOOLEAN = "boolean"


#: Turns a field's stripped, non-blank text into its value: ``parse(text, noun)``, where
#: ``noun`` names the field in messages. Raises :class:`FieldError`.
Parser = Callable[[str, str], T]
#: A rule on a parsed value: ``rule(value, today)`` returns the value to keep (possibly
#: tidied) or raises :class:`FieldError`.
Rule = Callable[[T, date], T]
#: A plausibility check: ``warning(value, today)`` returns a message a person may confirm
#: (an unusual value that is still possible), or ``None``.
WarningCheck = Callable[[T, date], str | None]


@dataclass(frozen=True, eq=False)
class Field(Generic[T]):
    """One field of a record, declared once.

    Attributes:
        name: the model attribute, the CSV column and the audit trail's key.
        label: how pages call it (``"Enrollment date"``); messages use :attr:`noun`.
        kind: the sort of value, for the form's input and the display.
        parse: text to value (see :data:`Parser`).
        rules: checks of the parsed value, in order (see :data:`Rule`).
        warnings: plausibility checks a person may confirm (see :data:`WarningCheck`).
        required: a blank is an error, with ``required_message``.
        required_message: the message for a blank required field.
        default: for a field that may be left blank although the record needs a value:
            ``default(today)`` is the value of a *new* record left blank; an *existing*
            record left blank keeps its stored value.
        description: help shown under the form field of a new record.
        description_existing: help on the form of an existing record (``description``
            when ``None``).
        csv_help: what the import page says of the column.
        html: extra attributes of the form's input (``maxlength``, ``min``...).
        in_form: whether the record's form has this field.
        audited: whether the audit trail records its changes.
        writable: whether the import writes it (``id`` only identifies a row).
        choices: for a :attr:`Kind.CHOICE` field, its ``(value, label)`` pairs in the
            order a form lists them.
        shows: how a non-blank value is shown, when not as :meth:`display` does by
            default (a phone number in international format); what it returns must
            parse back to the same value, since a form shows it.
    """

    name: str
    label: str
    kind: Kind
    parse: Parser[T]
    rules: tuple[Rule[T], ...] = ()
    warnings: tuple[WarningCheck[T], ...] = ()
    required: bool = False
    required_message: str = ""
    default: Callable[[date], T] | None = None
    description: str = ""
    description_existing: str | None = None
    csv_help: str = ""
    html: Mapping[str, Any] = field(default_factory=dict)
    in_form: bool = True
    audited: bool = True
    writable: bool = True
    choices: tuple[tuple[str, str], ...] = ()
    shows: Callable[[Any], str] | None = None

    @functools.cached_property
    def noun(self) -> str:
        """The label as a word inside a sentence (``"enrollment date"``)."""
        return self.label.lower()

    def clean(self, text: str, today: date, parse: Parser[T] | None = None) -> T | None:
        """Turn text as typed (or as found in a file) into the value to store.

        Args:
            text: the raw text; surrounding whitespace does not count.
            today: the day rules about the future measure against.
            parse: another parser than the field's own, for text written otherwise
                than the form writes it (dates written day first in a file); the
                field's rules apply all the same.

        Returns:
            The value, or ``None`` for a blank (what a blank then means, see
            :meth:`~.records.RecordFields.complete`).

        Raises:
            FieldError: a blank required field, unparsable text, or a broken rule.
        """
        text = text.strip()
        if not text:
            if self.required:
                raise FieldError(self.required_message)
            return None
        value = (parse or self.parse)(text, self.noun)
        for rule in self.rules:
            value = rule(value, today)
        return value

    def check_warnings(self, value: T | None, today: date) -> list[str]:
        """The plausibility warnings ``value`` raises (none for a blank).

        Args:
            value: a cleaned value.
            today: the day of the check.

        Returns:
            One message per warning, in declaration order.
        """
        if value is None:
            return []
        return [message for check in self.warnings if (message := check(value, today))]

    def display(self, value: Any) -> str:
        """The value as text: ``""`` for blank, ISO dates, numbers in digits.

        What the import preview, the command line, the conflict notes and the audit
        trail's tables show. A choice shows its label.
        """
        if value is None:
            return ""
        if self.shows is not None:
            return self.shows(value)
        if self.choices:
            return dict(self.choices).get(value, str(value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, date):
            return value.isoformat()
        return str(value)

    def to_json(self, value: Any) -> Any:
        """The value as the audit trail stores it: dates as ISO strings, else as is."""
        return value.isoformat() if isinstance(value, date) else value

    def from_json(self, value: Any) -> Any:
        """Undo :meth:`to_json`: an ISO string of a date field back to a ``date``."""
        if value is not None and self.kind is Kind.DATE:
            return date.fromisoformat(value)
        return value
