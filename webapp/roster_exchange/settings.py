"""The OneRoster settings: who the school is, and what the export may include.

The school (and its district) are not records of this app: their sourcedIds, names and
identifiers are configuration (``ONEROSTER_*`` settings, README's configuration table).
A sourcedId must stay the same for the life of the school (consumers match on it), so an
operator sets ``ONEROSTER_SCHOOL_SOURCED_ID`` once, for example to a UUID from
``python -c 'import uuid; print(uuid.uuid4())'``, and never changes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webapp.oneroster.formats import check_guid

#: The system name written to the manifest's ``source.systemName``.
SYSTEM_NAME = "student-records"


class SettingsError(ValueError):
    """A OneRoster setting is missing or not usable; the message names it."""


@dataclass(frozen=True)
class OneRosterSettings:
    """What the export writes about the school.

    Attributes:
        school_sourced_id: the school's sourcedId in orgs.csv (``ONEROSTER_SCHOOL_SOURCED_ID``).
        school_name: its name (``ONEROSTER_SCHOOL_NAME``).
        school_identifier: an optional human-readable code (``ONEROSTER_SCHOOL_IDENTIFIER``,
            e.g. the state's school number).
        district_sourced_id: the district's sourcedId, or None for a school without one
            (``ONEROSTER_DISTRICT_SOURCED_ID``).
        district_name: the district's name (``ONEROSTER_DISTRICT_NAME``).
        demographics: whether demographics.csv (birth dates) is exported
            (``ONEROSTER_EXPORT_DEMOGRAPHICS``, off by default: birth dates are personal data
            that most classroom tools do not need).
    """

    school_sourced_id: str
    school_name: str
    school_identifier: str = ""
    district_sourced_id: str | None = None
    district_name: str = ""
    demographics: bool = False


def from_config(config: Mapping[str, Any]) -> OneRosterSettings:
    """Read the settings from an app's config.

    Raises:
        SettingsError: the school's sourcedId or name is missing, a sourcedId is not a
            OneRoster GUID, or a district sourcedId comes without a name.
    """
    school = str(config.get("ONEROSTER_SCHOOL_SOURCED_ID") or "").strip()
    name = str(config.get("ONEROSTER_SCHOOL_NAME") or "").strip()
    if not school or not name:
        raise SettingsError(
            "OneRoster needs ONEROSTER_SCHOOL_SOURCED_ID and ONEROSTER_SCHOOL_NAME set "
            "(the school's permanent id and its name; see the README's configuration table)."
        )
    district = str(config.get("ONEROSTER_DISTRICT_SOURCED_ID") or "").strip() or None
    district_name = str(config.get("ONEROSTER_DISTRICT_NAME") or "").strip()
    for setting, value in (
        ("ONEROSTER_SCHOOL_SOURCED_ID", school),
        ("ONEROSTER_DISTRICT_SOURCED_ID", district),
    ):
        if value is not None and check_guid(value) is not None:
            raise SettingsError(f"{setting}: {check_guid(value)}")
    if district is not None and not district_name:
        raise SettingsError("ONEROSTER_DISTRICT_NAME is needed with ONEROSTER_DISTRICT_SOURCED_ID.")
    if district is not None and district == school:
        raise SettingsError("The district and the school need different sourcedIds.")
    return OneRosterSettings(
        school_sourced_id=school,
        school_name=name,
        school_identifier=str(config.get("ONEROSTER_SCHOOL_IDENTIFIER") or "").strip(),
        district_sourced_id=district,
        district_name=district_name,
        demographics=bool(config.get("ONEROSTER_EXPORT_DEMOGRAPHICS", False)),
    )
