"""The fields of one kind of record together (:class:`RecordFields`), with the rules
(:class:`RecordRule`) and plausibility warnings (:class:`RecordWarning`) that read
several of its fields.

A record's declarations say what a blank means (:meth:`RecordFields.complete`), which
values are judged for warnings (only those being entered or changed:
:meth:`RecordFields.check_warnings`), and what the audit trail stores
(:meth:`RecordFields.snapshot`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from webapp.fields.base import Field, FieldError, WarningCheck

#: A plausibility check over several fields: ``check(values, today)`` with every field of
#: :attr:`RecordWarning.reads` valid; returns a message or ``None``.
RecordWarningCheck = Callable[[Mapping[str, Any], date], str | None]


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
