"""Declaring a record's fields once, for every part of the app that handles them.

A :class:`Field` says everything about one field of a record: its label, whether it is
required, how its text is parsed, the rules its value must follow (with their messages),
the plausibility warnings a person may confirm, what a blank means, how the value is
shown, its CSV column and its form in the audit trail. A :class:`RecordFields` groups the
fields of one kind of record with the rules and the warnings that read several fields.

Rules are invariants: a value that breaks one is refused. Warnings are plausibility: an
unusual value that is still possible (a birthday in 1879) is shown to the person, who
confirms it on the form; the import takes it and shows the warning. Only values being
entered or changed are judged: a record that is already stored is never warned about
again (:meth:`RecordFields.check_warnings`).

The form (:mod:`webapp.fields.formfield`), the importer, the exporter, the audit trail and
the templates all read these declarations, so a field is added or changed in one place,
and the form and the import give the same value the same verdict and the same message.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Longest piece of a bad value quoted back in a message, in characters.
QUOTE_MAX = 40

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: A whole number with a sign; ``\d`` matches the decimal digits of every script, as
#: ``str.isdecimal`` does (``٣`` is 3).
_SIGNED_NUMBER = re.compile(r"[+-]\d+\Z")


class FieldError(ValueError):
    """A value breaks a field's rule; ``str(error)`` is the message for the user."""


class Kind(enum.StrEnum):
    """What sort of value a field holds: picks the form's input and how values show."""

    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


#: Turns a field's stripped, non-blank text into its value: ``parse(text, noun)``, where
#: ``noun`` names the field in messages. Raises :class:`FieldError`.
Parser = Callable[[str, str], T]
#: A rule on a parsed value: ``rule(value, today)`` returns the value to keep (possibly
#: tidied) or raises :class:`FieldError`.
Rule = Callable[[T, date], T]
#: A plausibility check: ``warning(value, today)`` returns a message a person may confirm
#: (an unusual value that is still possible), or ``None``.
WarningCheck = Callable[[T, date], str | None]
#: A plausibility check over several fields: ``check(values, today)`` with every field of
#: :attr:`RecordWarning.reads` valid; returns a message or ``None``.
RecordWarningCheck = Callable[[Mapping[str, Any], date], str | None]


def quote(text: str) -> str:
    """``text`` shortened to :data:`QUOTE_MAX` characters for a message, in single quotes."""
    if len(text) > QUOTE_MAX:
        text = text[: QUOTE_MAX - 1] + "…"
    return f"'{text}'"


def parse_text(text: str, noun: str) -> str:
    """The text itself (a text field's rules tidy and check it)."""
    return text


def parse_whole_number(text: str, noun: str) -> int:
    """Parse a whole number written with decimal digits of any script, with an optional sign.

    Args:
        text: the stripped text.
        noun: the field's name in the message.

    Returns:
        The number.

    Raises:
        FieldError: ``"The grade 'abc' is not a whole number."``
    """
    if text.isdecimal() or _SIGNED_NUMBER.match(text):
        return int(text)
    raise FieldError(f"The {noun} {quote(text)} is not a whole number.")


def choice_parser(choices: tuple[tuple[str, str], ...]) -> Parser[str]:
    """A parser that accepts one of ``choices`` by its value or its label, in any case.

    Args:
        choices: ``(value, label)`` pairs (``("transferred", "Transferred out")``).

    Returns:
        ``parse(text, noun)`` returning the value; it raises :class:`FieldError`
        (``"The status 'gone' is not one of: Enrolled, Withdrawn, ..."``) otherwise.
    """
    known = {key.casefold(): value for value, label in choices for key in (value, label)}
    listed = ", ".join(label for _, label in choices)

    def parse(text: str, noun: str) -> str:
        try:
            return known[" ".join(text.split()).casefold()]
        except KeyError:
            raise FieldError(f"The {noun} {quote(text)} is not one of: {listed}.") from None

    return parse


def parse_iso_date(text: str, noun: str) -> date:
    """Parse an ISO 8601 calendar date, ``YYYY-MM-DD`` (what a browser's date input sends).

    Args:
        text: the stripped text.
        noun: the field's name in the message.

    Returns:
        The date.

    Raises:
        FieldError: the text is not of that form, or names no real day.
    """
    if not _ISO_DATE.match(text):
        raise FieldError(f"The {noun} {quote(text)} is not a date in the form YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise FieldError(f"The {noun} {quote(text)} is not a real date ({error}).") from error


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
            :meth:`RecordFields.complete`).

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


@dataclass(frozen=True)
class RecordRule:
    """A rule over several fields of a record (the enrollment date against the birthday).

    Attributes:
        field: the field the message belongs to (shown beside it on a form).
        reads: the fields the rule reads; it runs only when each of them is valid.
        check: ``check(values)`` with every field of ``reads`` present; raises
            :class:`FieldError`.
    """

    field: str
    reads: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class RecordWarning:
    """A plausibility warning over several fields (a birthday that makes the student 147
    years old on the enrollment date).

    Attributes:
        field: the field the warning is about: it is judged when that field is entered or
            changed, and shown and confirmed as that field's warning.
        reads: the fields the check reads; it runs only when each of them is valid.
        check: see :data:`RecordWarningCheck`.
    """

    field: str
    reads: tuple[str, ...]
    check: RecordWarningCheck


#: How :meth:`RecordFields.check_warnings` runs one check: ``(field, fields it reads,
#: check(values, today))``, in the order of the fields' declarations.
_WarningRun = tuple[str, frozenset[str], RecordWarningCheck]


def _field_warning(name: str, check: WarningCheck[Any]) -> RecordWarningCheck:
    """A field's own warning as a check of the record's values (none for a blank)."""

    def run(values: Mapping[str, Any], today: date) -> str | None:
        value = values.get(name)
        return None if value is None else check(value, today)

    return run


@dataclass(frozen=True)
class RecordFields:
    """The declared fields of one kind of record, in display order, and its record rules.

    Attributes:
        fields: the fields, in the order forms, tables and files show them.
        rules: rules over several fields.
        warnings: plausibility warnings over several fields.
    """

    fields: tuple[Field[Any], ...]
    rules: tuple[RecordRule, ...] = ()
    warnings: tuple[RecordWarning, ...] = ()
    by_name: Mapping[str, Field[Any]] = field(init=False, repr=False)
    _defaulted: tuple[tuple[str, Callable[[date], Any]], ...] = field(init=False, repr=False)
    _warning_runs: tuple[_WarningRun, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})
        defaulted = tuple((f.name, f.default) for f in self.fields if f.default is not None)
        object.__setattr__(self, "_defaulted", defaulted)
        runs: list[_WarningRun] = []
        for f in self.fields:
            runs.extend(
                (f.name, frozenset((f.name,)), _field_warning(f.name, check))
                for check in f.warnings
            )
            runs.extend(
                (w.field, frozenset(w.reads), w.check) for w in self.warnings if w.field == f.name
            )
        object.__setattr__(self, "_warning_runs", tuple(runs))

    def __getitem__(self, name: str) -> Field[Any]:
        return self.by_name[name]

    def __iter__(self) -> Iterator[Field[Any]]:
        return iter(self.fields)

    @property
    def form_fields(self) -> tuple[Field[Any], ...]:
        """The fields the record's form has."""
        return tuple(f for f in self.fields if f.in_form)

    @property
    def audited(self) -> tuple[Field[Any], ...]:
        """The fields the audit trail records."""
        return tuple(f for f in self.fields if f.audited)

    @property
    def writable(self) -> tuple[Field[Any], ...]:
        """The fields an import writes."""
        return tuple(f for f in self.fields if f.writable)

    @property
    def names(self) -> tuple[str, ...]:
        """Every field's name, in order (a file's columns)."""
        return tuple(f.name for f in self.fields)

    def snapshot(self, record: object) -> dict[str, Any]:
        """The audited fields of ``record`` in their audit form (dates as ISO strings).

        Args:
            record: a model instance with an attribute per field.

        Returns:
            ``{field: value}`` for every audited field, in order: what the audit trail
            stores of a record.
        """
        return {f.name: f.to_json(getattr(record, f.name)) for f in self.fields if f.audited}

    def from_json(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Values in their audit form back in the model's types; unknown fields dropped.

        Args:
            values: ``{field: value}`` as the audit trail recorded them.

        Returns:
            ``{field: value}`` with dates as ``date`` objects again.
        """
        return {
            name: self.by_name[name].from_json(value)
            for name, value in values.items()
            if name in self.by_name
        }

    def defaults(self, today: date) -> dict[str, Any]:
        """The values a new record gets for its defaulted fields: what a new form shows."""
        return {f.name: f.default(today) for f in self.fields if f.default is not None}

    def check_record(
        self, values: Mapping[str, Any], invalid: set[str] | frozenset[str] = frozenset()
    ) -> list[tuple[str, str]]:
        """Run the record rules over complete values.

        Args:
            values: every field the rules read, as stored or about to be stored.
            invalid: fields whose own check failed; rules reading them are skipped.

        Returns:
            ``(field, message)`` for each rule broken.
        """
        broken = []
        for rule in self.rules:
            if invalid.isdisjoint(rule.reads):
                try:
                    rule.check(values)
                except FieldError as error:
                    broken.append((rule.field, str(error)))
        return broken

    def check_warnings(
        self,
        values: Mapping[str, Any],
        today: date,
        judge: Collection[str] | None = None,
        invalid: Collection[str] = frozenset(),
    ) -> list[tuple[str, str]]:
        """The plausibility warnings of complete values: each field's, then the record's.

        A record already stored is not judged again: pass in ``judge`` only the fields
        being entered or changed (every field of a new record; the fields whose value
        differs from the stored one on an existing record). The form shows the warnings
        and saves once they are confirmed; the import takes the row and shows them.

        Args:
            values: every field the warnings read, as they are to be stored.
            today: the day of the check.
            judge: the fields to judge (a warning belongs to its :attr:`RecordWarning.field`);
                ``None`` judges every field.
            invalid: fields whose own check failed; warnings reading them are skipped.

        Returns:
            ``(field, message)`` for each warning, in the order of the fields' declarations.
        """
        found = []
        for name, reads, check in self._warning_runs:
            if (judge is None or name in judge) and reads.isdisjoint(invalid):
                message = check(values, today)
                if message:
                    found.append((name, message))
        return found

    def complete(
        self, values: Mapping[str, Any], stored: Mapping[str, Any] | None, today: date
    ) -> dict[str, Any]:
        """What to store for ``values``, blanks resolved as the declarations say.

        A field with a :attr:`Field.default` gets the default on a new record when it is
        blank (``None``) or not given, and keeps its stored value on an existing record
        when it is blank. Other blanks stay ``None`` (they clear the field).

        Args:
            values: cleaned values by field name (only the fields given).
            stored: the existing record's values by field name (at least those of the
                defaulted fields in ``values``), or ``None`` for a new record.
            today: the day defaults are computed for.

        Returns:
            ``values`` with the blanks of defaulted fields filled in.
        """
        completed = dict(values)
        self.fill_blanks(completed, stored, today)
        return completed

    def fill_blanks(
        self, values: dict[str, Any], stored: Mapping[str, Any] | None, today: date
    ) -> None:
        """:meth:`complete` in place, for callers that own ``values`` (the import)."""
        for name, default in self._defaulted:
            if values.get(name) is not None:
                continue
            if stored is None:
                values[name] = default(today)
            elif name in values:
                values[name] = stored[name]
