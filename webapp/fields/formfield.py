"""WTForms fields built from field declarations, so a form checks what the import checks.

A :class:`DeclaredField` keeps the text as typed and runs the declaration's
:meth:`~webapp.fields.base.Field.clean` on it: the same parser, rules and messages as
the CSV import. Its HTML input follows the declaration's kind (``type="date"`` for a
date, ``type="number"`` for a number...) and attributes. On the form of a stored record,
a field sent back exactly as the form showed it keeps the stored value and is not judged
again (a record taken over from elsewhere is saved after changing one of its fields).

The declarations' warnings are confirmed with one box (:class:`WarningsConfirmation`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from markupsafe import Markup, escape
from wtforms import Field as WtfField
from wtforms import Form
from wtforms.form import BaseForm
from wtforms.validators import StopValidation
from wtforms.widgets import (
    CheckboxInput,
    DateInput,
    EmailInput,
    NumberInput,
    TelInput,
    TextInput,
    html_params,
)

from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.records import RecordFields

#: :attr:`DeclaredField.stored` of a field on the form of a new record.
NOT_STORED: Final = object()


class ChoiceSelect:
    """A ``<select>`` of a choice field's declared ``(value, label)`` pairs.

    The option whose value (or label) the field's text names is selected; a field that is
    not required starts with an empty option.
    """

    def __call__(self, field: DeclaredField, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        if field.flags.required:
            kwargs.setdefault("required", True)
        declaration = field.declaration
        chosen = " ".join(field.text.split()).casefold()
        options = [] if declaration.required else [("", "")]
        options.extend(declaration.choices)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for value, label in options:
            selected = " selected" if chosen in {value.casefold(), label.casefold()} else ""
            html.append(f'<option value="{escape(value)}"{selected}>{escape(label)}</option>')
        html.append("</select>")
        return Markup("".join(html))


#: The HTML input of each kind of field.
WIDGETS: dict[Kind, type[Any]] = {
    Kind.TEXT: TextInput,
    Kind.EMAIL: EmailInput,
    Kind.NUMBER: NumberInput,
    Kind.DATE: DateInput,
    Kind.CHOICE: ChoiceSelect,
    Kind.PHONE: TelInput,
    Kind.BOOLEAN: CheckboxInput,
}


class DeclaredField(WtfField):
    """A form field whose parsing, rules and messages are those of a declaration.

    Args:
        declaration: the field's declaration.
        **kwargs: passed to :class:`wtforms.Field` (a ``label`` or ``description``
            there wins over the declaration's).

    Attributes:
        declaration: the declaration.
        text: the text as submitted (or as shown, before a submission).
        stored: the value of the record the form edits, or :data:`NOT_STORED` (set by
            the form).
    """

    def __init__(self, declaration: Field[Any], **kwargs: Any) -> None:
        kwargs.setdefault("label", declaration.label)
        kwargs.setdefault("description", declaration.description)
        kwargs.setdefault("render_kw", dict(declaration.html))
        super().__init__(**kwargs)
        self.declaration = declaration
        self.widget = WIDGETS[declaration.kind]()
        self.text = ""
        self.stored: Any = NOT_STORED
        if declaration.required:
            # The asterisk of render_field and the input's ``required`` attribute.
            self.flags.required = True

    def process_data(self, value: Any) -> None:
        """Take a stored value (``obj=``, ``data=``): shown as the declaration displays it."""
        self.data = value
        # A choice keeps its value (the select's option values), others show as displayed.
        declaration = self.declaration
        self.text = (
            ""
            if value is None
            else str(value)
            if declaration.choices
            else declaration.display(value)
        )

    def process_formdata(self, valuelist: Sequence[str]) -> None:
        """Keep the submitted text; it is checked in :meth:`pre_validate`.

        A yes/no field is a checkbox: ticked, the browser sends its value; unticked,
        nothing, which means no.
        """
        if self.declaration.kind is Kind.BOOLEAN:
            self.text = self.declaration.display(bool(valuelist and valuelist[0]))
        else:
            self.text = valuelist[0] if valuelist else ""
        self.data = None

    @property
    def checked(self) -> bool:
        """For a yes/no field's checkbox: whether it shows ticked."""
        return self.text == self.declaration.display(True)

    @property
    def as_stored(self) -> bool:
        """Whether the submitted text is the stored value exactly as the form showed it."""
        return self.stored is not NOT_STORED and self.text == self.declaration.display(self.stored)

    def pre_validate(self, form: BaseForm) -> None:
        """Clean the text with the declaration; on failure its message is the field's error.

        A field sent back exactly as stored keeps the stored value unjudged: the rules may
        have changed since it was stored, or it came from elsewhere (the database's
        constraints hold it anyway).

        Raises:
            StopValidation: the declaration refused the text (no further validator runs).
        """
        if self.as_stored:
            self.data = self.stored
            return
        try:
            self.data = self.declaration.clean(self.text, date.today())
        except FieldError as error:
            self.data = None
            raise StopValidation(str(error)) from error

    def _value(self) -> str:
        """The text the input shows: what the user typed, or the stored value (a
        checkbox's value is always yes: whether it is ticked says the rest)."""
        if self.declaration.kind is Kind.BOOLEAN:
            return self.declaration.display(True)
        return self.text


def add_declared_fields(form_class: type[Form], record: RecordFields) -> None:
    """Give ``form_class`` one :class:`DeclaredField` per form field of ``record``.

    Args:
        form_class: a form class (WTForms lets fields be added to the class after its
            creation, before the first instance).
        record: the declarations; fields with ``in_form`` false are left out.
    """
    for declaration in record.form_fields:
        setattr(form_class, declaration.name, DeclaredField(declaration))


class WarningsConfirmation:
    """The plausibility warnings of a form's values, and the box that confirms them.

    The form is shown again with the warnings and a box ("Yes, this birthday is right");
    it saves once the box is ticked. The box's value is a fingerprint of the warnings and
    the values they are about, so a box ticked while one of those values was changed
    again confirms nothing.

    Args:
        record: the declarations.
        warnings: ``(field, message)`` pairs (:meth:`RecordFields.check_warnings`).
        values: the values judged, by field name.

    Attributes:
        by_field: the messages by field name, in order.
        token: the value a ticked box sends to confirm exactly these warnings (``""``
            without warnings).
        label: the box's label, naming what the warnings are about.
        title: the heading over the warnings ("Please check this date").
    """

    def __init__(
        self, record: RecordFields, warnings: Sequence[tuple[str, str]], values: dict[str, Any]
    ) -> None:
        self.by_field: dict[str, list[str]] = {}
        for name, message in warnings:
            self.by_field.setdefault(name, []).append(message)
        fields = [record[name] for name in self.by_field]
        # The messages name the other values a warning reads (the enrollment date of an
        # unusual age); the field's own value is added for warnings that do not name it.
        fingerprint = repr(
            [(f.name, f.display(values.get(f.name)), self.by_field[f.name]) for f in fields]
        )
        self.token = hashlib.sha256(fingerprint.encode()).hexdigest()[:16] if fields else ""
        dates = all(f.kind is Kind.DATE for f in fields)
        if len(fields) == 1:
            self.label = f"Yes, this {fields[0].noun} is right"
            self.title = "Please check this date" if dates else "Please check this value"
        else:
            self.label = "Yes, these dates are right" if dates else "Yes, these values are right"
            self.title = "Please check these dates" if dates else "Please check these values"

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def messages(self) -> list[str]:
        """Every message, field by field."""
        return [message for messages in self.by_field.values() for message in messages]

    def confirmed_by(self, raw_data: Sequence[str] | None) -> bool:
        """Whether the box's submitted values (``raw_data``) confirm these warnings."""
        return bool(self.token) and self.token in (raw_data or [])
