"""The data files of OneRoster 1.2's CSV binding (sections 3.2 to 3.22), as data.

Each file's columns in the order its table lists them, with their requirement, format,
vocabulary and references (the shapes are :mod:`.spec`'s, which names the source).

Notes on the text:


* "Yes for Delta" columns (status, dateLastModified) "must be populated for Delta
  processing, and ... must be blank for Bulk processing" (:attr:`.spec.Required.DELTA`).
* userProfiles.userSourcedId has Format "GUID" in the table, but its description ("Unique
  ID for the corresponding user") and its dependencies ("a dependency on the users.csv")
  make it a reference to users.csv, and it is treated as one.
* The reference targets come from each table's "dependencies of this file" paragraph; the
  required org/session types come from the column descriptions (e.g. classes.schoolSourcedId
  "SourcedId of the Org ... of OrgType 'school'").
"""

from __future__ import annotations

from webapp.oneroster import vocab
from webapp.oneroster.spec import MANIFEST_FILENAME, Field, FileSpec, Format, Required

Y, D, N = Required.YES, Required.DELTA, Required.NO
F = Format


def _file(stem: str, section: str, *fields: Field) -> FileSpec:
    """Build a data file: sourcedId, status and dateLastModified, then ``fields``."""
    common = (
        Field("sourcedId", Y, F.GUID),
        Field("status", D, F.ENUM, vocab.STATUS),
        Field("dateLastModified", D, F.DATETIME),
    )
    return FileSpec(stem, section, common + fields)


def _ref(name: str, required: Required, target: str, ref_type: str | None = None) -> Field:
    """A GUID Reference column pointing at ``target``.csv."""
    return Field(name, required, F.GUID_REF, ref=target, ref_type=ref_type)


def _bool(name: str, required: Required = N) -> Field:
    """A ``{ true | false }`` column."""
    return Field(name, required, F.BOOLEAN, vocab.BOOLEAN)


def _str(name: str, required: Required = N) -> Field:
    """A String column."""
    return Field(name, required, F.STRING)


#: Every data file of the binding, in the order of section 3.
FILES: tuple[FileSpec, ...] = (
    _file(
        "academicSessions",
        "3.2",
        _str("title", Y),
        Field("type", Y, F.ENUM, vocab.SESSION_TYPE),
        Field("startDate", Y, F.DATE),
        Field("endDate", Y, F.DATE),
        _ref("parentSourcedId", N, "academicSessions"),
        Field("schoolYear", Y, F.YEAR),
    ),
    _file("categories", "3.3", _str("title", Y), Field("weight", N, F.INTEGER)),
    _file(
        "classes",
        "3.4",
        _str("title", Y),
        Field("grades", N, F.STRING_LIST, grades=True),
        _ref("courseSourcedId", Y, "courses"),
        _str("classCode"),
        Field("classType", Y, F.ENUM, vocab.CLASS_TYPE),
        _str("location"),
        _ref("schoolSourcedId", Y, "orgs", "school"),
        Field("termSourcedIds", Y, F.GUID_REF_LIST, ref="academicSessions"),
        Field("subjects", N, F.STRING_LIST),
        Field("subjectCodes", N, F.STRING_LIST),
        Field("periods", N, F.STRING_LIST),
    ),
    _file(
        "classResources",
        "3.5",
        _str("title"),
        _ref("classSourcedId", Y, "classes"),
        _ref("resourceSourcedId", Y, "resources"),
    ),
    _file(
        "courseResources",
        "3.6",
        _str("title"),
        _ref("courseSourcedId", Y, "courses"),
        _ref("resourceSourcedId", Y, "resources"),
    ),
    _file(
        "courses",
        "3.7",
        _ref("schoolYearSourcedId", N, "academicSessions", "schoolYear"),
        _str("title", Y),
        _str("courseCode"),
        Field("grades", N, F.STRING_LIST, grades=True),
        _ref("orgSourcedId", Y, "orgs"),
        Field("subjects", N, F.STRING_LIST),
        Field("subjectCodes", N, F.STRING_LIST),
    ),
    _file(
        "demographics",
        "3.8",
        Field("birthDate", N, F.DATE),
        Field("sex", N, F.ENUM, vocab.SEX),
        _bool("americanIndianOrAlaskaNative"),
        _bool("asian"),
        _bool("blackOrAfricanAmerican"),
        _bool("nativeHawaiianOrOtherPacificIslander"),
        _bool("white"),
        _bool("demographicRaceTwoOrMoreRaces"),
        _bool("hispanicOrLatinoEthnicity"),
        _str("countryOfBirthCode"),
        _str("stateOfBirthAbbreviation"),
        _str("cityOfBirth"),
        _str("publicSchoolResidenceStatus"),
    ),
    _file(
        "enrollments",
        "3.9",
        _ref("classSourcedId", Y, "classes"),
        _ref("schoolSourcedId", Y, "orgs", "school"),
        _ref("userSourcedId", Y, "users"),
        Field("role", Y, F.ENUM, vocab.ENROLLMENT_ROLE),
        _bool("primary"),
        Field("beginDate", N, F.DATE),
        Field("endDate", N, F.DATE),
    ),
    _file(
        "lineItemLearningObjectiveIds",
        "3.10",
        _ref("lineItemSourcedId", Y, "lineItems"),
        Field("source", Y, F.ENUM, vocab.LEARNING_OBJECTIVE_SOURCE),
        _str("learningObjectiveId", Y),
    ),
    _file(
        "lineItems",
        "3.11",
        _str("title", Y),
        _str("description"),
        Field("assignDate", Y, F.DATE),
        Field("dueDate", Y, F.DATE),
        _ref("classSourcedId", Y, "classes"),
        _ref("categorySourcedId", Y, "categories"),
        _ref("academicSessionSourcedId", Y, "academicSessions"),
        Field("resultValueMin", N, F.FLOAT),
        Field("resultValueMax", N, F.FLOAT),
        _ref("schoolSourcedId", Y, "orgs", "school"),
    ),
    _file(
        "lineItemScoreScales",
        "3.12",
        _str("title"),
        _ref("lineItemSourcedId", Y, "lineItems"),
        _ref("scoreScaleSourcedId", Y, "scoreScales"),
    ),
    _file(
        "orgs",
        "3.13",
        _str("name", Y),
        Field("type", Y, F.ENUM, vocab.ORG_TYPE),
        _str("identifier"),
        _ref("parentSourcedId", N, "orgs"),
    ),
    _file(
        "resources",
        "3.14",
        Field("vendorResourceId", Y, F.ID),
        _str("title"),
        Field("roles", N, F.ENUM_LIST, vocab.RESOURCE_ROLE),
        Field("importance", N, F.ENUM, vocab.IMPORTANCE),
        Field("vendorId", N, F.ID),
        Field("applicationId", N, F.ID),
    ),
    _file(
        "resultLearningObjectiveIds",
        "3.15",
        _ref("resultSourcedId", Y, "results"),
        Field("source", Y, F.ENUM, vocab.LEARNING_OBJECTIVE_SOURCE),
        _str("learningObjectiveId", Y),
        Field("score", N, F.FLOAT),
        _str("textScore"),
    ),
    _file(
        "results",
        "3.16",
        _ref("lineItemSourcedId", Y, "lineItems"),
        _ref("studentSourcedId", Y, "users"),
        Field("scoreStatus", Y, F.ENUM, vocab.SCORE_STATUS),
        Field("score", N, F.FLOAT),
        Field("scoreDate", Y, F.DATE),
        _str("comment"),
        _str("textScore"),
        _ref("classSourcedId", N, "classes"),
        _bool("inProgress"),
        _bool("incomplete"),
        _bool("late"),
        _bool("missing"),
    ),
    _file(
        "resultScoreScales",
        "3.17",
        _str("title"),
        _ref("resultSourcedId", Y, "results"),
        _ref("scoreScaleSourcedId", Y, "scoreScales"),
    ),
    _file(
        "roles",
        "3.18",
        _ref("userSourcedId", Y, "users"),
        Field("roleType", Y, F.ENUM, vocab.ROLE_TYPE),
        Field("role", Y, F.ENUM, vocab.ROLE),
        Field("beginDate", N, F.DATE),
        Field("endDate", N, F.DATE),
        _ref("orgSourcedId", Y, "orgs"),
        _ref("userProfileSourcedId", N, "userProfiles"),
    ),
    _file(
        "scoreScales",
        "3.19",
        _str("title", Y),
        _str("type", Y),
        _ref("orgSourcedId", Y, "orgs"),
        _ref("courseSourcedId", Y, "courses"),
        _ref("classSourcedId", Y, "classes"),
        Field("scoreScaleValue", Y, F.STRING_LIST, item_shape=True),
    ),
    _file(
        "userProfiles",
        "3.20",
        _ref("userSourcedId", Y, "users"),
        _str("profileType", Y),
        _str("vendorId", Y),
        _str("applicationId"),
        _str("description"),
        _str("credentialType", Y),
        _str("username", Y),
        _str("password"),
    ),
    _file(
        "userResources",
        "3.21",
        _ref("userSourcedId", Y, "users"),
        _ref("orgSourcedId", N, "orgs"),
        _ref("classSourcedId", N, "classes"),
        _ref("resourceSourcedId", Y, "resources"),
    ),
    _file(
        "users",
        "3.22",
        _bool("enabledUser", Y),
        _str("username", Y),
        Field("userIds", N, F.STRING_LIST, item_shape=True),
        _str("givenName", Y),
        _str("familyName", Y),
        _str("middleName"),
        _str("identifier"),
        _str("email"),
        _str("sms"),
        _str("phone"),
        Field("agentSourcedIds", N, F.GUID_REF_LIST, ref="users"),
        Field("grades", N, F.STRING, grades=True),
        _str("password"),
        _str("userMasterIdentifier"),
        _str("preferredGivenName"),
        _str("preferredMiddleName"),
        _str("preferredFamilyName"),
        _ref("primaryOrgSourcedId", N, "orgs"),
        _str("pronouns"),
    ),
)

#: The files by stem, e.g. ``FILES_BY_STEM["users"]``.
FILES_BY_STEM: dict[str, FileSpec] = {spec.stem: spec for spec in FILES}

#: demographics.sourcedId "MUST be the 'sourcedId' of the User" (section 3.8).
DEMOGRAPHICS_USER_REF = "users"

#: Files whose presence needs another file although no column names it: users.csv "produces
#: an implicit dependency on the roles.csv file" (section 3.22; users.csv lost its role and
#: orgSourcedIds columns in 1.2, roles.csv carries them).
IMPLICIT_DEPENDENCIES: dict[str, tuple[str, ...]] = {"users": ("roles",)}

#: Every name the zip may hold at its root (section 2.1: the manifest and the data files).
KNOWN_FILENAMES: frozenset[str] = frozenset({MANIFEST_FILENAME, *(spec.filename for spec in FILES)})
