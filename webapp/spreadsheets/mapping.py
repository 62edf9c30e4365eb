"""Which column holds which student field: the alias table and column mappings.

A header is recognised by its normalised form (:func:`normalise_header`: accents, case,
spaces and punctuation ignored, so "E-mail", "email" and " E-Mail " are one). The table
below is the documented list; each column maps to a *target*: a student field, a part
of the name, or :data:`IGNORE`. Unrecognised columns stay unmapped and are listed, never
dropped silently: the preview (or ``--map`` on the command line) maps or ignores them.

Names: a full-name column maps to ``name``; first-name and last-name columns are joined
as "First Last". Some words mean a part of the name only beside the other part: French
"Nom" and German "Name" are the family name beside "Prénom"/"Vorname"; Spanish "Nombre"
and Italian "Nome" are the given name beside "Apellidos"/"Cognome". Alone, each is the
full name.

``id`` is this application's student id: mapping another system's "Student ID" to it
updates the students with those ids, so the preview must show it.
"""

from __future__ import annotations

import csv
import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: The student fields, in export order (as ``webapp.import_export.csvformat.FIELDS``).
FIELDS: tuple[str, ...] = ("id", "name", "email", "grade", "birthday", "enrolled_on")
#: The target of a column whose values are not imported.
IGNORE = "ignore"
FIRST_NAME, LAST_NAME = "first_name", "last_name"
#: Every target a column can map to.
TARGETS: tuple[str, ...] = (*FIELDS, FIRST_NAME, LAST_NAME, IGNORE)

#: The alias table: normalised header -> target. English, French, German, Spanish, Italian.
ALIASES: dict[str, str] = {
    # id
    **dict.fromkeys(["id", "studentid", "ideleve", "schulerid", "idalumno", "idstudente"], "id"),
    # full name
    **dict.fromkeys(
        ["fullname", "studentname", "pupilname", "nomcomplet", "nomprenom",
         "vollstandigername", "nombrecompleto", "nomecompleto", "nomeecognome"],
        "name",
    ),
    # given name
    **dict.fromkeys(
        ["firstname", "firstnames", "givenname", "givennames", "forename", "forenames",
         "prenom", "prenoms", "vorname", "vornamen", "rufname", "nombres", "nombrepila"],
        FIRST_NAME,
    ),
    # family name
    **dict.fromkeys(
        ["lastname", "surname", "familyname", "nomdefamille", "nachname", "familienname",
         "zuname", "apellido", "apellidos", "cognome"],
        LAST_NAME,
    ),
    # email
    **dict.fromkeys(
        ["email", "emailaddress", "mail", "courriel", "adressemail", "adresseemail",
         "emailadresse", "correo", "correoelectronico", "indirizzoemail"],
        "email",
    ),
    # grade
    **dict.fromkeys(
        ["grade", "gradelevel", "year", "yeargroup", "yearlevel", "classe", "niveau",
         "klasse", "jahrgangsstufe", "stufe", "curso", "grado", "nivel"],
        "grade",
    ),
    # birthday
    **dict.fromkeys(
        ["birthday", "dob", "dateofbirth", "birthdate", "datenaissance", "datedenaissance",
         "naissance", "neele", "geburtsdatum", "geburtstag", "fechadenacimiento",
         "fechanacimiento", "datadinascita", "datanascita"],
        "birthday",
    ),
    # enrollment date
    **dict.fromkeys(
        ["enrolledon", "enrollmentdate", "enrolmentdate", "dateofenrollment",
         "dateofenrolment", "enrolled", "admissiondate", "dateinscription",
         "datedinscription", "eintrittsdatum", "aufnahmedatum", "fechadeinscripcion",
         "fechadematricula", "dataiscrizione", "datadiiscrizione"],
        "enrolled_on",
    ),
}  # fmt: skip

#: Headers that mean a part of the name beside the other part, else the full name.
NAME_PARTS: dict[str, str] = {
    "name": LAST_NAME,  # German "Name" beside "Vorname"
    "nom": LAST_NAME,  # French "Nom" beside "Prénom"
    "nombre": FIRST_NAME,  # Spanish "Nombre" beside "Apellidos"
    "nome": FIRST_NAME,  # Italian "Nome" beside "Cognome"
}


class MappingError(ValueError):
    """A mapping cannot be used as given; the message says which column and why."""


def normalise_header(text: str) -> str:
    """Return a header's key in :data:`ALIASES`: letters and digits only, no accents.

    Args:
        text: a header cell, e.g. ``" Date de naissance"`` or ``"E-Mail"``.

    Returns:
        The key, e.g. ``"datedenaissance"``, ``"email"``; ``"ß"`` becomes ``"ss"``.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if char.isalnum())


@dataclass(frozen=True)
class ColumnMapping:
    """Which target each column of a file maps to.

    Attributes:
        headers: the file's header cells, in column order.
        targets: per column, a target from :data:`TARGETS`, or ``None`` when unmapped.
        notes: how ambiguous headers were read, for the preview.
    """

    headers: tuple[str, ...]
    targets: tuple[str | None, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def unmapped(self) -> list[str]:
        """The headers of the columns not mapped yet, as written."""
        return [_label(h, i) for i, (h, t) in enumerate(self.columns()) if t is None]

    @property
    def fields(self) -> list[str]:
        """The student fields the mapping gives, in :data:`FIELDS` order."""
        present = {t for t in self.targets if t in FIELDS}
        if FIRST_NAME in self.targets or LAST_NAME in self.targets:
            present.add("name")
        return [name for name in FIELDS if name in present]

    @property
    def fingerprint(self) -> str:
        """A stable key of the header set, to remember the mapping for the next file.

        The SHA-256 of the headers in column order, each trimmed, case-folded and in
        Unicode NFC, so re-exports of the same system's file share it.
        """
        key = "\x1f".join(unicodedata.normalize("NFC", h.strip().casefold()) for h in self.headers)
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def columns(self) -> list[tuple[str, str | None]]:
        """``(header, target)`` of each column, in order."""
        return list(zip(self.headers, self.targets, strict=True))

    def to_dict(self) -> dict[str, str]:
        """The mapped columns as ``{header: target}``, to store (e.g. as JSON)."""
        return {h: t for h, t in self.columns() if t is not None}

    def with_targets(self, chosen: Mapping[str, str]) -> ColumnMapping:
        """Return the mapping with some columns' targets set, by header.

        Args:
            chosen: ``{header: target}``; a header is matched exactly, then trimmed and
                case-folded.

        Raises:
            MappingError: a header the file does not have, or an unknown target; see
                also :meth:`check`.
        """
        targets = list(self.targets)
        for header, target in chosen.items():
            index = self._index(header)
            targets[index] = _target(target, header)
        return ColumnMapping(self.headers, tuple(targets), self.notes).check()

    def _index(self, header: str) -> int:
        if header in self.headers:
            return self.headers.index(header)
        key = header.strip().casefold()
        for index, name in enumerate(self.headers):
            if name.strip().casefold() == key:
                return index
        raise MappingError(
            f"The file has no column “{header}”; its columns are "
            + ", ".join(f"“{_label(h, i)}”" for i, h in enumerate(self.headers))
            + "."
        )

    def check(self) -> ColumnMapping:
        """Return ``self`` when usable: each field in one column, a name one way.

        Raises:
            MappingError: two columns mapped to one field, or a full-name column beside
                first-name or last-name columns.
        """
        seen: dict[str, str] = {}
        for index, (header, target) in enumerate(self.columns()):
            if target is None or target == IGNORE:
                continue
            if target in seen:
                raise MappingError(
                    f"Both “{seen[target]}” and “{_label(header, index)}” are mapped to "
                    f"{target}; map one of them to something else or ignore it."
                )
            seen[target] = _label(header, index)
        if "name" in seen and (FIRST_NAME in seen or LAST_NAME in seen):
            part = seen.get(FIRST_NAME) or seen[LAST_NAME]
            raise MappingError(
                f"“{seen['name']}” is mapped to the full name and “{part}” to a part of it; "
                "map either a full-name column or first-name and last-name columns."
            )
        return self

    def apply(self, cells: Sequence[str]) -> dict[str, str]:
        """Return a row's values by field (text, as in the file).

        Args:
            cells: the row's cells, in column order; missing cells count as blank.

        Returns:
            ``{field: text}`` for each field of :attr:`fields`; ``name`` joins the first
            and last names, trimmed, with one space ("First Last").
        """
        values: dict[str, str] = {}
        first = last = ""
        for index, target in enumerate(self.targets):
            if target is None or target == IGNORE:
                continue
            cell = cells[index] if index < len(cells) else ""
            if target == FIRST_NAME:
                first = cell.strip()
            elif target == LAST_NAME:
                last = cell.strip()
            else:
                values[target] = cell
        if FIRST_NAME in self.targets or LAST_NAME in self.targets:
            values["name"] = " ".join(part for part in (first, last) if part)
        return values


def suggest_mapping(headers: Iterable[str]) -> ColumnMapping:
    """Map the columns whose headers the alias table knows; leave the others unmapped.

    Args:
        headers: the file's header cells, in order.

    Returns:
        The mapping; a second column with the same target as an earlier one is left
        unmapped, with a note saying so.
    """
    headers = tuple(headers)
    keys = [normalise_header(h) for h in headers]
    direct = [ALIASES.get(key) for key in keys]
    notes: list[str] = []
    targets: list[str | None] = []
    for index, (header, key) in enumerate(zip(headers, keys, strict=True)):
        target = direct[index]
        if target is None and key in NAME_PARTS:
            part = NAME_PARTS[key]
            other = LAST_NAME if part == FIRST_NAME else FIRST_NAME
            if other in direct:
                target = part
                notes.append(f"“{header}” is read as the {part.replace('_', ' ')}.")
            else:
                target = "name"
        if target is not None and target in targets:
            earlier = headers[targets.index(target)]
            notes.append(f"“{header}” is not used: “{earlier}” already gives the {target}.")
            target = None
        targets.append(target)
    if "name" in targets and (FIRST_NAME in targets or LAST_NAME in targets):
        index = targets.index("name")
        notes.append(f"“{headers[index]}” is not used: the file has first and last names.")
        targets[index] = None
    return ColumnMapping(headers, tuple(targets), tuple(notes)).check()


def parse_mapping_spec(spec: str) -> dict[str, str]:
    """Read a mapping written on the command line.

    Args:
        spec: ``header=target`` pairs separated by commas, e.g.
            ``"First name=first_name,Last name=last_name,DOB=birthday,Notes=ignore"``.
            A header holding a comma is written in double quotes, as in CSV.

    Returns:
        ``{header: target}``, for :meth:`ColumnMapping.with_targets`.

    Raises:
        MappingError: a pair without ``=``, an empty header, an unknown target, or a
            header given twice.
    """
    pairs: dict[str, str] = {}
    for item in next(csv.reader([spec], skipinitialspace=True), []):
        if not item.strip():
            continue
        header, sep, target = item.rpartition("=")
        if not sep or not header.strip():
            raise MappingError(f"“{item}” is not a column=target pair, e.g. “DOB=birthday”.")
        header = header.strip()
        if header in pairs:
            raise MappingError(f"The column “{header}” is mapped twice.")
        pairs[header] = _target(target, header)
    return pairs


def _target(target: str, header: str) -> str:
    key = target.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in TARGETS:
        raise MappingError(
            f"“{target.strip()}” (for the column “{header}”) is not a target; use one of "
            + ", ".join(TARGETS)
            + "."
        )
    return key


def _label(header: str, index: int) -> str:
    return header.strip() or f"column {index + 1}"
