"""WTForms fields built from field declarations, so a form checks what the import checks.

A :class:`DeclaredField` keeps the text as typed and runs the declaration's
:meth:`~webapp.fields.base.Field.clean` on it: the same parser, rules and messages as
the CSV import. Its HTML input follows the declaration's kind (``type="date"`` for a
date, ``type="number"`` for a number...) and attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from markupsafe import Markup, escape
from wtforms import Field as WtfField
from wtforms import Form
from wtforms.form import BaseForm
from wtforms.validators import StopValidation
from wtforms.widgets import DateInput, EmailInput, NumberInput, TextInput, html_params

from webapp.fields.base import Field, FieldError, Kind, RecordFields


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
    """

    def __init__(self, declaration: Field[Any], **kwargs: Any) -> None:
        kwargs.setdefault("label", declaration.label)
        kwargs.setdefault("description", declaration.description)
        kwargs.setdefault("render_kw", dict(declaration.html))
        super().__init__(**kwargs)
        self.declaration = declaration
        self.widget = WIDGETS[declaration.kind]()
        self.text = ""
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
        """Keep the submitted text; it is checked in :meth:`pre_validate`."""
        self.text = valuelist[0] if valuelist else ""
        self.data = None

    def pre_validate(self, form: BaseForm) -> None:
        """Clean the text with the declaration; on failure its message is the field's error.

        Raises:
            StopValidation: the declaration refused the text (no further validator runs).
        """
        try:
            self.data = self.declaration.clean(self.text, date.today())
        except FieldError as error:
            self.data = None
            raise StopValidation(str(error)) from error

    def _value(self) -> str:
        """The text the input shows: what the user typed, or the stored value."""
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
