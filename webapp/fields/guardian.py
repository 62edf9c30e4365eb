"""A guardian's fields, a phone number's, and a guardian link's: each declared once.

The guardian forms on a student's page, the audit trail, the guardian pages and the
contacts export read :data:`GUARDIAN`, :data:`PHONE` and :data:`GUARDIAN_LINK`. Limits and
vocabularies come from the model (:mod:`webapp.models.guardian`), whose constraints the
database enforces.

* **Phone numbers** are parsed and validated with Google's libphonenumber rules (the
  ``phonenumbers`` library) and stored in E.164 (``+12015550123``); a number typed
  without ``+`` and a country code is read as one of the region ``PHONE_DEFAULT_REGION``
  (see :func:`phone_region`). Pages show them in international format.
* **Preferred language**: a BCP 47 tag (``es``, ``pt-BR``) or a language's name in
  English or in the language itself (``Spanish``, ``español``), read with the
  ``langcodes`` library and stored as the standard tag.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import phonenumbers
from flask import current_app, has_app_context

from webapp.fields import rules
from webapp.fields.base import Field, FieldError, Kind
from webapp.fields.parsers import choice_parser, parse_text, parse_whole_number, parse_yes_no, quote
from webapp.fields.records import RecordFields
from webapp.models.guardian import (
    GUARDIAN_NAME_MAX_LENGTH,
    LANGUAGE_MAX_LENGTH,
    PhoneKind,
    Relationship,
)

NAME_BLANK_MESSAGE = "Enter the guardian's name."
#: The region of numbers typed without a country code, outside an application context.
FALLBACK_REGION = "US"
#: The highest contact order a form accepts (who is called 1st, 2nd... 99th).
CONTACT_ORDER_MAX = 99
#: The longest text read as a language (a name with its shown tag); longer is no language.
LANGUAGE_TEXT_MAX = 80
#: ``Spanish [es]``: the form the language is shown in, which parses back to the tag.
_SHOWN_LANGUAGE = re.compile(r"\[([A-Za-z0-9-]+)\]\s*\Z")

RELATIONSHIP_CHOICES = tuple((value.value, value.value.capitalize()) for value in Relationship)
PHONE_KIND_CHOICES = tuple((value.value, value.value.capitalize()) for value in PhoneKind)


def phone_region() -> str:
    """The region of numbers typed without ``+`` and a country code: the application's
    ``PHONE_DEFAULT_REGION`` (validated at startup, :func:`webapp.config.check_phone_region`),
    or :data:`FALLBACK_REGION` outside an application."""
    if has_app_context():
        return str(current_app.config.get("PHONE_DEFAULT_REGION") or FALLBACK_REGION)
    return FALLBACK_REGION


def parse_phone(text: str, noun: str) -> str:
    """Parse a phone number into E.164 with the ``phonenumbers`` library.

    Args:
        text: the number as typed (``(201) 555-0123``, ``+44 20 7946 0000``).
        noun: the field's name in messages.

    Returns:
        The number in E.164 (``+12015550123``).

    Raises:
        FieldError: the text is not a phone number, or not a valid one (libphonenumber's
            metadata for the number's region: its length and prefixes).
    """
    region = phone_region()
    hint = (
        f"Write it with its country code (+44 20 7946 0000), or as a number of the "
        f"default region {region}."
    )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise FieldError(f"The {noun} {quote(text)} is not a phone number. {hint}") from None
    if not phonenumbers.is_valid_number(number):
        raise FieldError(f"The {noun} {quote(text)} is not a valid phone number. {hint}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def show_phone(number: str) -> str:
    """An E.164 number in international format (``+1 201-555-0123``); as stored if it
    does not parse (a row written by other means)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def show_phones(phones: list[list[str]]) -> str:
    """A guardian's numbers as one line: ``Mobile +1 201-555-0123; Work +44 20 7946 0000``."""
    return "; ".join(f"{kind.capitalize()} {show_phone(number)}" for kind, number in phones)


def parse_language(text: str, noun: str) -> str:
    """Read a language: a BCP 47 tag, a name, or the shown form ``Spanish [es]``.

    Returns:
        The standard tag (``pt_br`` gives ``pt-BR``; ``Spanish`` gives ``es``).

    Raises:
        FieldError: neither a valid tag nor a language's name, or too long.
    """
    if rules.has_control_characters(text) or len(text) > LANGUAGE_TEXT_MAX:
        # (langcodes' name index crashes the interpreter's bytes API on a NUL.)
        raise FieldError(
            f"The {noun} {quote(text)} is not a language: enter its name (Spanish) or its "
            "code (es, pt-BR)."
        )
    # Imported on first use: its data tables take 75 ms to import, in every process
    # (gunicorn worker, command) that loads the app, most of which never read a language.
    import langcodes

    shown = _SHOWN_LANGUAGE.search(text)
    candidate = shown.group(1) if shown else text
    try:
        if langcodes.tag_is_valid(candidate):
            tag = langcodes.standardize_tag(candidate)
        else:
            tag = langcodes.find(candidate).to_tag()
    except (LookupError, ValueError):
        raise FieldError(
            f"The {noun} {quote(text)} is not a language: enter its name (Spanish) or its "
            "code (es, pt-BR)."
        ) from None
    if len(tag) > LANGUAGE_MAX_LENGTH:
        raise FieldError(f"The {noun} code can have at most {LANGUAGE_MAX_LENGTH} characters.")
    return tag


def show_language(tag: str) -> str:
    """A language tag with its English name: ``Spanish [es]``, ``Portuguese (Brazil) [pt-BR]``."""
    import langcodes  # on first use (see parse_language)

    try:
        return f"{langcodes.Language.get(tag).display_name()} [{tag}]"
    except ValueError:
        return tag


def clean_name(value: str, today: date) -> str:
    """Tidy a guardian's name (see :func:`webapp.fields.rules.clean_person_name`)."""
    return rules.clean_person_name(value, GUARDIAN_NAME_MAX_LENGTH, NAME_BLANK_MESSAGE)


def clean_email(value: str, today: date) -> str:
    """Normalise an address (see :func:`webapp.fields.rules.normalise_email`)."""
    return rules.normalise_email(value)


def check_contact_order(value: int, today: date) -> int:
    """Accept a contact order from 1 to :data:`CONTACT_ORDER_MAX`.

    Raises:
        FieldError: outside that range.
    """
    if not 1 <= value <= CONTACT_ORDER_MAX:
        raise FieldError(f"The contact order must be from 1 to {CONTACT_ORDER_MAX}.")
    return value


def _first(today: date) -> int:
    return 1


def _no(today: date) -> bool:
    return False


NAME: Field[str] = Field(
    "name",
    "Name",
    Kind.TEXT,
    parse_text,
    rules=(clean_name,),
    required=True,
    required_message=NAME_BLANK_MESSAGE,
    html={"maxlength": GUARDIAN_NAME_MAX_LENGTH, "autocomplete": "off"},
)

EMAIL: Field[str] = Field(
    "email",
    "Email",
    Kind.EMAIL,
    parse_text,
    rules=(clean_email,),
    description="Optional.",
    html={"maxlength": 254, "autocomplete": "off"},
)

PREFERRED_LANGUAGE: Field[str] = Field(
    "preferred_language",
    "Preferred language",
    Kind.TEXT,
    parse_language,
    description="Optional. A name (Spanish) or a code (es, pt-BR).",
    shows=show_language,
    html={"maxlength": LANGUAGE_TEXT_MAX, "autocomplete": "off"},
)

PHONES: Field[Any] = Field(
    "phones",
    "Phone numbers",
    Kind.TEXT,
    parse_text,  # (not in a form: the numbers are PHONE's, one row each)
    shows=show_phones,
    in_form=False,
    writable=False,
)

#: The guardian record: its fields in display order (the phones as one audited list).
GUARDIAN = RecordFields((NAME, EMAIL, PREFERRED_LANGUAGE, PHONES))

PHONE_KIND: Field[str] = Field(
    "kind",
    "Kind",
    Kind.CHOICE,
    choice_parser(PHONE_KIND_CHOICES),
    default=lambda today: PhoneKind.MOBILE.value,
    choices=PHONE_KIND_CHOICES,
)

PHONE_NUMBER: Field[str] = Field(
    "number",
    "Phone number",
    Kind.PHONE,
    parse_phone,
    shows=show_phone,
    description="With its country code (+44 …), or a number of the default region.",
    html={"maxlength": 40, "autocomplete": "off"},
)

#: One phone number: its kind and the number.
PHONE = RecordFields((PHONE_KIND, PHONE_NUMBER))

RELATIONSHIP: Field[str] = Field(
    "relationship",
    "Relationship",
    Kind.CHOICE,
    choice_parser(RELATIONSHIP_CHOICES),
    required=True,
    required_message="Choose what the guardian is to the student.",
    choices=RELATIONSHIP_CHOICES,
)

CONTACT_ORDER: Field[int] = Field(
    "contact_order",
    "Contact order",
    Kind.NUMBER,
    parse_whole_number,
    rules=(check_contact_order,),
    default=_first,
    description="Who is called first (1), second (2)…",
    html={"min": 1, "max": CONTACT_ORDER_MAX, "inputmode": "numeric"},
)


def _flag(name: str, label: str, description: str) -> Field[bool]:
    return Field(name, label, Kind.BOOLEAN, parse_yes_no, default=_no, description=description)


EMERGENCY_CONTACT = _flag("emergency_contact", "Emergency contact", "Called in an emergency.")
LIVES_WITH = _flag("lives_with", "Lives with the student", "The student lives with them.")
PICKUP_ALLOWED = _flag("pickup_allowed", "Pickup allowed", "May collect the student from school.")

#: What is true of one guardian for one student.
GUARDIAN_LINK = RecordFields(
    (RELATIONSHIP, CONTACT_ORDER, EMERGENCY_CONTACT, LIVES_WITH, PICKUP_ALLOWED)
)


def link_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the link's blanks filled (contact order 1, flags no)."""
    return GUARDIAN_LINK.complete(values, None, date.today())
