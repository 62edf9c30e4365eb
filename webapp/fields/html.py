"""Stored values as HTML, by their declaration's kind: the templates' ``show`` and
``date`` filters (registered by :func:`webapp.create_app`).

Filters rather than Jinja macros because the roster calls them for every cell: a macro
call costs several times a function call (issue 14's profile of page 1).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup, escape

from webapp.fields.base import Field, Kind

#: Shown for a blank value.
BLANK = Markup('<span class="muted">—</span>')


def date_html(value: date | None) -> Markup:
    """``<time datetime="2026-09-01">1 Sep 2026</time>``; :data:`BLANK` for ``None``."""
    if not value:
        return BLANK
    return Markup('<time datetime="%s">%s</time>') % (
        value.isoformat(),
        f"{value.day} {value:%b %Y}",
    )


def show_value(value: Any, field: Field[Any], link: bool = True) -> Markup:
    """A stored value on a page: a readable date, an address (a ``mailto:`` link when
    ``link``), or the text, escaped; :data:`BLANK` for ``None`` or ``""``.

    Args:
        value: the stored value.
        field: its declaration (its ``kind`` decides the form).
        link: whether an email address becomes a link.
    """
    if value is None or value == "":
        return BLANK
    if field.kind is Kind.DATE:
        return date_html(value)
    if field.kind is Kind.EMAIL and link:
        return Markup('<a href="mailto:%s">%s</a>') % (value, value)
    return escape(value)
