"""The OneRoster 1.2 CSV spec data and the bundle validator (``webapp.oneroster``).

Bundles are the hand-made fixture ``tests/data/oneroster/minimal/`` (see its README),
zipped in memory, and variants of it broken in one way each; a broken bundle must give
exactly the one expected problem, naming the file, the line and the rule.
"""

from __future__ import annotations

import io
import secrets
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.oneroster import Limits, Problem, Rule, spec, validate_bundle, vocab
from webapp.oneroster import files as spec_files
from webapp.oneroster.validate import main

FIXTURE = Path(__file__).parent / "data" / "oneroster" / "minimal"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def minimal_files() -> dict[str, str]:
    """The fixture's files by name, as text."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(FIXTURE.glob("*.csv"))}


def make_zip(files: dict[str, str | bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Zip ``files`` (name to text or bytes) in memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, content in files.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            archive.writestr(name, data)
    return buffer.getvalue()


def variant(**changes: str | bytes | None) -> bytes:
    """The minimal bundle with files replaced (``users_csv="..."``) or removed (None)."""
    files: dict[str, str | bytes] = dict(minimal_files())
    for key, content in changes.items():
        name = key.replace("_csv", ".csv")
        if content is None:
            files.pop(name)
        else:
            files[name] = content
    return make_zip(files)


def replace(name: str, old: str, new: str) -> str:
    """The fixture file ``name`` with ``old`` replaced once by ``new``."""
    text = minimal_files()[name]
    assert text.count(old) == 1, f"{old!r} must occur once in {name}"
    return text.replace(old, new)


def only(problems: list[Problem]) -> tuple[str | None, int | None, str | None, Rule]:
    """The single problem as (file, line, field, rule); fails when there is not exactly one."""
    assert len(problems) == 1, "\n".join(str(problem) for problem in problems)
    problem = problems[0]
    return problem.file, problem.line, problem.field, problem.rule


# --- the spec as data -------------------------------------------------------------------


MINIMAL_ZIP = make_zip(dict(minimal_files()))


def test_spec_defines_every_file_of_the_binding_with_the_common_columns_first() -> None:
    assert len(spec_files.FILES) == 21  # sections 3.2 to 3.22
    assert {s.stem for s in spec_files.FILES} == {
        key.removeprefix("file.") for key in spec.MANIFEST_FILE_KEYS
    }
    for file_spec in spec_files.FILES:
        assert file_spec.headers[:3] == ("sourcedId", "status", "dateLastModified")
        assert len(set(file_spec.headers)) == len(file_spec.headers)


def test_users_headers_are_the_1_2_ones_without_role_or_orgs() -> None:
    headers = spec_files.FILES_BY_STEM["users"].headers
    assert "role" not in headers
    assert "orgSourcedIds" not in headers
    assert headers[-2:] == ("primaryOrgSourcedId", "pronouns")


def test_every_reference_points_at_a_file_of_the_binding() -> None:
    for file_spec in spec_files.FILES:
        for field in file_spec.fields:
            if field.ref is not None:
                assert field.ref in spec_files.FILES_BY_STEM, (file_spec.stem, field.name)


def test_only_the_vocabularies_of_section_4_1_2_are_extensible() -> None:
    extensible = {
        (file_spec.stem, field.name)
        for file_spec in spec_files.FILES
        for field in file_spec.fields
        if field.vocabulary is not None and field.vocabulary.extensible
    }
    assert extensible == {
        ("academicSessions", "type"),
        ("classes", "classType"),
        ("demographics", "sex"),
        ("enrollments", "role"),
        ("lineItemLearningObjectiveIds", "source"),
        ("orgs", "type"),
        ("resources", "roles"),
        ("resultLearningObjectiveIds", "source"),
        ("results", "scoreStatus"),
        ("roles", "role"),
    }


def test_docs_list_the_spec_headers_of_every_file() -> None:
    docs = (PROJECT_ROOT / "docs" / "oneroster.md").read_text(encoding="utf-8")
    for file_spec in spec_files.FILES:
        assert f"### {file_spec.filename} (section {file_spec.section})" in docs
        assert "\n" + ",".join(file_spec.headers) + "\n" in docs, file_spec.filename


def test_ceds_grades_are_the_twenty_one_codes() -> None:
    assert vocab.CEDS_GRADES.tokens[:6] == ("IT", "PR", "PK", "TK", "KG", "01")
    assert vocab.CEDS_GRADES.tokens[-4:] == ("13", "PS", "UG", "Other")
    assert len(vocab.CEDS_GRADES.tokens) == 21


# --- valid bundles ----------------------------------------------------------------------


def test_minimal_bundle_has_no_problem() -> None:
    assert validate_bundle(variant()) == []


def test_bundle_is_read_from_a_path_too(tmp_path: Path) -> None:
    path = tmp_path / "roster.zip"
    path.write_bytes(variant())
    assert validate_bundle(path) == []


def test_stored_entries_are_accepted() -> None:
    assert validate_bundle(make_zip(dict(minimal_files()), zipfile.ZIP_STORED)) == []


def test_metadata_columns_after_the_spec_columns_are_accepted() -> None:
    users = minimal_files()["users.csv"].splitlines()
    users = [users[0] + ",metadata.homeroom"] + [row + ",3A" for row in users[1:]]
    assert validate_bundle(variant(users_csv="\n".join(users) + "\n")) == []


def test_extension_tokens_are_accepted_where_the_vocabulary_may_be_extended() -> None:
    orgs = replace("orgs.csv", "Lakeside School District,district", "Lakeside Trust,ext:trust")
    assert validate_bundle(variant(orgs_csv=orgs)) == []


def test_crlf_line_ends_are_accepted() -> None:
    files: dict[str, str | bytes] = {
        name: text.replace("\n", "\r\n") for name, text in minimal_files().items()
    }
    assert validate_bundle(make_zip(files)) == []


# --- the cases issue 15 names: each gives exactly one problem ---------------------------


def test_missing_manifest() -> None:
    problems = validate_bundle(variant(manifest_csv=None))
    assert only(problems) == ("manifest.csv", None, None, Rule.MANIFEST_MISSING)


def test_missing_header() -> None:
    rows = [line.split(",") for line in minimal_files()["orgs.csv"].splitlines()]
    orgs = "\n".join(",".join(row[:5] + row[6:]) for row in rows) + "\n"  # no identifier
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert only(problems) == ("orgs.csv", 1, "identifier", Rule.HEADER_MISSING)


def test_extra_header() -> None:
    rows = minimal_files()["orgs.csv"].splitlines()
    orgs = "\n".join([rows[0] + ",website", *(row + ",https://example.org" for row in rows[1:])])
    problems = validate_bundle(variant(orgs_csv=orgs + "\n"))
    assert only(problems) == ("orgs.csv", 1, "website", Rule.HEADER_EXTRA)


def test_header_in_another_case_names_the_spec_spelling() -> None:
    orgs = replace("orgs.csv", "parentSourcedId\n", "ParentSourcedId\n")
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert [(p.field, p.rule) for p in problems] == [
        ("ParentSourcedId", Rule.HEADER_EXTRA),
        ("parentSourcedId", Rule.HEADER_MISSING),
    ]
    assert "'parentSourcedId'" in problems[0].message


def test_headers_out_of_order() -> None:
    orgs = "sourcedId,status,dateLastModified,type,name,identifier,parentSourcedId\n"
    orgs += "district-1,,,district,Lakeside School District,,\n"
    orgs += "school-1,,,school,Lakeside Elementary,NCES-0001,district-1\n"
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert only(problems) == ("orgs.csv", 1, None, Rule.HEADER_ORDER)


def test_dangling_reference() -> None:
    enrollments = replace("enrollments.csv", "enr-student-2,,,class-3a", "enr-student-2,,,class-9z")
    problems = validate_bundle(variant(enrollments_csv=enrollments))
    assert only(problems) == ("enrollments.csv", 4, "classSourcedId", Rule.DANGLING_REFERENCE)
    assert "class-9z" in problems[0].message


def test_dangling_agent_in_a_list() -> None:
    users = replace("users.csv", ",,,,guardian-1,03,", ",,,,guardian-1/x,03,")
    problems = validate_bundle(variant(users_csv=users))
    assert only(problems) == ("users.csv", 3, "agentSourcedIds", Rule.DANGLING_REFERENCE)


def test_bad_enumeration() -> None:
    orgs = replace("orgs.csv", "Lakeside Elementary,school", "Lakeside Elementary,School")
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert only(problems) == ("orgs.csv", 3, "type", Rule.ENUMERATION)


def test_duplicate_sourced_id() -> None:
    users = minimal_files()["users.csv"]
    student_2 = users.splitlines()[3]
    problems = validate_bundle(variant(users_csv=users + student_2 + "\n"))
    assert only(problems) == ("users.csv", 6, "sourcedId", Rule.DUPLICATE_ID)


def test_bom() -> None:
    problems = validate_bundle(
        variant(users_csv=b"\xef\xbb\xbf" + minimal_files()["users.csv"].encode())
    )
    assert only(problems) == ("users.csv", 1, None, Rule.BOM)


def test_bom_is_tolerated_when_asked_as_the_spec_says() -> None:
    bundle = variant(users_csv=b"\xef\xbb\xbf" + minimal_files()["users.csv"].encode())
    assert validate_bundle(bundle, allow_bom=True) == []


def test_not_a_zip() -> None:
    problems = validate_bundle(minimal_files()["users.csv"].encode())
    assert only(problems) == (None, None, None, Rule.NOT_A_ZIP)


def test_zip_bomb_by_ratio_is_refused_before_extraction() -> None:
    bomb = make_zip({"users.csv": b"\0" * (8 * 1024 * 1024)})
    problems = validate_bundle(bomb)
    assert only(problems) == ("users.csv", None, None, Rule.COMPRESSION_RATIO)


def test_zip_whose_directory_declares_a_huge_member_is_refused_unread() -> None:
    """The central directory claims 3 GiB for a 30-byte member: refused on the claim alone."""
    bundle = bytearray(make_zip({"manifest.csv": "propertyName,value\n"}))
    directory = bundle.rindex(b"PK\x01\x02")
    struct.pack_into("<I", bundle, directory + 24, 3 * 1024**3)  # uncompressed size
    problems = validate_bundle(bytes(bundle))
    assert only(problems) == ("manifest.csv", None, None, Rule.COMPRESSION_RATIO)


def test_member_whose_crc_does_not_match_is_corrupt() -> None:
    bundle = bytearray(make_zip(dict(minimal_files()), zipfile.ZIP_STORED))
    position = bundle.index(b"Lakeside Elementary")
    bundle[position] = ord("l")  # the data no longer matches the stored CRC-32
    problems = validate_bundle(bytes(bundle))
    assert only(problems) == ("orgs.csv", None, None, Rule.CORRUPT_ENTRY)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8))
def test_damaged_zips_give_problems_never_exceptions(edits: list[tuple[int, int]]) -> None:
    bundle = bytearray(MINIMAL_ZIP)
    for position, value in edits:
        bundle[position % len(bundle)] = value
    problems = validate_bundle(bytes(bundle))
    assert all(isinstance(problem, Problem) for problem in problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(path.name for path in FIXTURE.glob("*.csv"))),
    st.integers(min_value=0),
    st.binary(max_size=12) | st.sampled_from([b'"', b",", b"\r", b"\n", b"\x00", b"\xff"]),
)
def test_damaged_csv_gives_problems_never_exceptions(
    name: str, position: int, insert: bytes
) -> None:
    files: dict[str, str | bytes] = dict(minimal_files())
    data = str(files[name]).encode()
    cut = position % (len(data) + 1)
    files[name] = data[:cut] + insert + data[cut + 1 :]
    problems = validate_bundle(make_zip(files))
    assert all(isinstance(problem, Problem) for problem in problems)


def test_zip_over_the_total_size_limit() -> None:
    problems = validate_bundle(variant(), limits=Limits(max_total_size=1000))
    assert only(problems) == (None, None, None, Rule.TOO_LARGE)


def test_zip_with_too_many_entries() -> None:
    problems = validate_bundle(variant(), limits=Limits(max_entries=5))
    assert only(problems) == (None, None, None, Rule.TOO_MANY_ENTRIES)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("2024-09-02,2025-01-25", "2024-09-02,2025-02-30"),  # no such day
        ("2024-09-02,2025-01-25", "2024-09-02,25/01/2025"),  # not YYYY-MM-DD
        ("2024-09-02,2025-01-25", "2024-09-02,2025-1-25"),
    ],
)
def test_bad_date(old: str, new: str) -> None:
    sessions = replace("academicSessions.csv", old, new)
    problems = validate_bundle(variant(academicSessions_csv=sessions))
    assert only(problems) == ("academicSessions.csv", 2, "endDate", Rule.FORMAT)


# --- further rules -----------------------------------------------------------------------


def test_manifest_declaring_a_file_the_zip_lacks() -> None:
    manifest = replace("manifest.csv", "file.categories,absent", "file.categories,bulk")
    problems = validate_bundle(variant(manifest_csv=manifest))
    assert only(problems) == ("manifest.csv", 5, "file.categories", Rule.MANIFEST_FILE_MISMATCH)


def test_manifest_calling_a_present_file_absent() -> None:
    manifest = replace("manifest.csv", "file.demographics,bulk", "file.demographics,absent")
    problems = validate_bundle(variant(manifest_csv=manifest))
    assert only(problems) == ("manifest.csv", 10, "file.demographics", Rule.MANIFEST_FILE_MISMATCH)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "rule"),
    [
        (
            "oneroster.version,1.2",
            "oneroster.version,1.1",
            3,
            "oneroster.version",
            Rule.MANIFEST_VALUE,
        ),
        ("file.orgs,bulk", "file.orgs,Bulk", 15, "file.orgs", Rule.MANIFEST_VALUE),
        (
            "source.systemCode,tests",
            "source.vendor,tests",
            26,
            "source.vendor",
            Rule.MANIFEST_UNKNOWN_PROPERTY,
        ),
        ("file.roles,bulk\n", "", None, "file.roles", Rule.MANIFEST_MISSING_PROPERTY),
    ],
)
def test_manifest_properties(old: str, new: str, line: int | None, field: str, rule: Rule) -> None:
    problems = validate_bundle(variant(manifest_csv=replace("manifest.csv", old, new)))
    assert only(problems) == ("manifest.csv", line, field, rule)


def test_delta_files_are_refused_and_checked_as_delta() -> None:
    manifest = replace("manifest.csv", "file.orgs,bulk", "file.orgs,delta")
    orgs = replace("orgs.csv", "district-1,,,", "district-1,active,2012-04-23T18:25:43.511Z,")
    orgs = orgs.replace("school-1,,,", "school-1,tobedeleted,2012-04-23T18:25:43Z,")
    problems = validate_bundle(variant(manifest_csv=manifest, orgs_csv=orgs))
    assert [(p.file, p.line, p.field, p.rule) for p in problems] == [
        ("manifest.csv", 15, "file.orgs", Rule.MANIFEST_NOT_BULK),
        ("orgs.csv", 3, "dateLastModified", Rule.FORMAT),  # no milliseconds
    ]


def test_status_must_be_blank_in_bulk_mode() -> None:
    orgs = replace("orgs.csv", "district-1,,,", "district-1,active,2012-04-23T18:25:43.511Z,")
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert [(p.line, p.field, p.rule) for p in problems] == [
        (2, "status", Rule.BULK_BLANK),
        (2, "dateLastModified", Rule.BULK_BLANK),
    ]


def test_required_value_missing() -> None:
    users = replace("users.csv", "Alan,Turing", ",Turing")
    problems = validate_bundle(variant(users_csv=users))
    assert only(problems) == ("users.csv", 4, "givenName", Rule.REQUIRED)


def test_reference_to_an_org_of_the_wrong_type() -> None:
    classes = replace("classes.csv", "Room 12,school-1", "Room 12,district-1")
    problems = validate_bundle(variant(classes_csv=classes))
    assert only(problems) == ("classes.csv", 2, "schoolSourcedId", Rule.REFERENCE_TYPE)


def test_reference_to_a_file_the_bundle_lacks_is_reported_once_per_column() -> None:
    manifest = replace("manifest.csv", "file.users,bulk", "file.users,absent")
    problems = validate_bundle(variant(manifest_csv=manifest, users_csv=None))
    assert [(p.file, p.field, p.rule) for p in problems] == [
        ("demographics.csv", "sourcedId", Rule.REFERENCED_FILE_ABSENT),
        ("enrollments.csv", "userSourcedId", Rule.REFERENCED_FILE_ABSENT),
        ("roles.csv", "userSourcedId", Rule.REFERENCED_FILE_ABSENT),
    ]


def test_users_without_roles_file() -> None:
    manifest = replace("manifest.csv", "file.roles,bulk", "file.roles,absent")
    problems = validate_bundle(variant(manifest_csv=manifest, roles_csv=None))
    assert only(problems) == ("users.csv", None, None, Rule.FILE_DEPENDENCY)


def test_grade_outside_ceds() -> None:
    classes = replace("classes.csv", '"03,04"', '"3,4"')
    problems = validate_bundle(variant(classes_csv=classes))
    assert [(p.line, p.field, p.rule) for p in problems] == [
        (2, "grades", Rule.GRADE),
        (2, "grades", Rule.GRADE),
    ]
    assert validate_bundle(variant(classes_csv=classes), grades=None) == []


def test_sourced_id_with_a_character_a_guid_may_not_have() -> None:
    orgs = replace("orgs.csv", "district-1,,,", "district 1,,,")
    orgs = orgs.replace(",district-1\n", ",district 1\n")
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert [(p.line, p.field, p.rule) for p in problems] == [
        (2, "sourcedId", Rule.FORMAT),
        (3, "parentSourcedId", Rule.FORMAT),
    ]


def test_subjects_and_codes_of_different_lengths() -> None:
    courses = replace("courses.csv", '"HR,RD"', "HR")
    problems = validate_bundle(variant(courses_csv=courses))
    assert only(problems) == ("courses.csv", 2, "subjectCodes", Rule.LIST_LENGTH)


def test_two_primary_roles_of_a_user_in_one_org() -> None:
    roles = minimal_files()["roles.csv"] + "role-teacher-2,,,teacher-1,primary,aide,,,school-1,\n"
    problems = validate_bundle(variant(roles_csv=roles))
    assert only(problems) == ("roles.csv", 6, "roleType", Rule.PRIMARY_ROLE)


def test_user_ids_must_be_type_and_id_in_braces() -> None:
    users = replace("users.csv", "{LDAP:mrivera}", "LDAP:mrivera")
    problems = validate_bundle(variant(users_csv=users))
    assert only(problems) == ("users.csv", 2, "userIds", Rule.FORMAT)


def test_invalid_utf8_is_reported_on_its_line() -> None:
    users = minimal_files()["users.csv"].encode().replace(b"Lovelace", b"Lovel\xe7ce")
    problems = validate_bundle(variant(users_csv=users))
    assert only(problems) == ("users.csv", 3, None, Rule.NOT_UTF8)


def test_malformed_csv_stops_the_file_where_it_breaks() -> None:
    users = replace("users.csv", ",Augusta,", ',"Aug"x,')  # text after a closing quote
    problems = validate_bundle(variant(users_csv=users))
    assert only(problems) == ("users.csv", 3, None, Rule.MALFORMED_CSV)


def test_row_with_a_missing_field() -> None:
    orgs = replace(
        "orgs.csv", "Lakeside Elementary,school,NCES-0001,", "Lakeside Elementary,school,"
    )
    problems = validate_bundle(variant(orgs_csv=orgs))
    assert only(problems) == ("orgs.csv", 3, None, Rule.FIELD_COUNT)


def test_file_without_data_rows() -> None:
    demographics = minimal_files()["demographics.csv"].splitlines()[0] + "\n"
    problems = validate_bundle(variant(demographics_csv=demographics))
    assert only(problems) == ("demographics.csv", None, None, Rule.NO_DATA_ROWS)


def test_files_in_a_folder_are_not_at_the_root() -> None:
    files: dict[str, str | bytes] = {f"roster/{n}": t for n, t in minimal_files().items()}
    problems = validate_bundle(make_zip(files))
    assert {p.rule for p in problems} == {Rule.NOT_AT_ROOT, Rule.MANIFEST_MISSING}


def test_unknown_entry() -> None:
    files: dict[str, str | bytes] = {**minimal_files(), "notes.txt": "hello"}
    assert only(validate_bundle(make_zip(files))) == ("notes.txt", None, None, Rule.UNKNOWN_ENTRY)


def test_problems_are_capped() -> None:
    enrollments = minimal_files()["enrollments.csv"].replace("class-3a", "class-9z")
    problems = validate_bundle(variant(enrollments_csv=enrollments), max_problems=2)
    assert [p.rule for p in problems] == [
        Rule.DANGLING_REFERENCE,
        Rule.DANGLING_REFERENCE,
        Rule.TRUNCATED,
    ]


def test_rows_are_streamed_not_loaded() -> None:
    """A 6 MB enrollments.csv (1,500 rows of 4 KB) is checked in under 1.5 MB of memory."""
    lines = [minimal_files()["enrollments.csv"].splitlines()[0] + ",metadata.note"]
    lines += [
        f"e{n},,,class-3a,school-1,student-1,student,,,,{secrets.token_hex(2000)}"
        for n in range(1500)
    ]
    bundle = variant(enrollments_csv="\n".join(lines) + "\n")
    tracemalloc.start()
    try:
        problems = validate_bundle(bundle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problems == []
    assert peak < 1.5 * 1024 * 1024, peak


# --- the command line ---------------------------------------------------------------------


def test_command_line_exit_status_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.zip", tmp_path / "bad.zip"
    good.write_bytes(variant())
    bad.write_bytes(variant(manifest_csv=None))
    assert main([str(good)]) == 0
    assert main([str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}: manifest.csv: " in out
    assert "[manifest.missing]" in out
    assert main([str(tmp_path / "nowhere.zip")]) == 2


def test_module_runs_with_python_dash_m(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    result = subprocess.run(
        [sys.executable, "-m", "webapp.oneroster.validate", str(bad)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "[zip.not-a-zip]" in result.stdout
