"""Property-based test of the new-guardian form (Hypothesis), with the hostile pieces of
the student forms' fuzzing plus phone-number-shaped ones. Properties: no response is a
server error; rows are written only when the response says saved (302); every stored
number is E.164 and parses back to itself; every payload is rendered escaped."""

from __future__ import annotations

import phonenumbers
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.guardian_helpers import all_rows
from tests.helpers import add_student
from tests.test_fuzz_forms import assert_escaped, email_values, name_values, text_values
from webapp.extensions import db
from webapp.models import GuardianPhone

phone_values = st.one_of(
    text_values,
    st.sampled_from(
        [
            "(201) 555-0123",
            "+44 20 7946 0000",
            "555",
            "+999 1",
            "+1 201 555 0123 ext. 4",
            "２０１５５５０１２３",
            "0" * 40,
            "+",
            "tel:+12015550123",
            "+1-800-FLOWERS",
        ]
    ),
    st.from_regex(r"\+?[0-9 ()-]{0,25}", fullmatch=True),
)
submissions = st.fixed_dictionaries(
    {
        "name": name_values,
        "email": email_values,
        "preferred_language": st.one_of(
            text_values, st.sampled_from(["es", "pt-BR", "Spanish", "zz-ZZ", "x" * 90])
        ),
        "phone1_kind": st.one_of(text_values, st.sampled_from(["mobile", "home", "work"])),
        "phone1_number": phone_values,
        "phone2_number": phone_values,
        "relationship": st.one_of(text_values, st.sampled_from(["mother", "Father", "other"])),
        "contact_order": st.one_of(text_values, st.integers(-5, 200).map(str)),
        "emergency_contact": st.sampled_from(["yes", "", "anything"]),
    }
)


@pytest.fixture
def student_id(app: Flask) -> int:
    return add_student(app, name="Fuzz Target")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=submissions)
def test_guardian_form_never_errors_and_stores_only_valid_numbers(
    app: Flask, student_id: int, data: dict[str, str]
) -> None:
    client: FlaskClient = app.test_client()
    before = all_rows(app)

    response = client.post(f"/students/{student_id}/guardians/new", data=data)

    assert response.status_code in {302, 422}, response.status_code
    after = all_rows(app)
    if response.status_code == 302:
        assert after[0] == before[0] + 1
    else:
        assert after == before
        assert_escaped(response.get_data(as_text=True))
    with app.app_context():
        for row in db.session.scalars(db.select(GuardianPhone)):
            parsed = phonenumbers.parse(row.number, None)
            assert phonenumbers.is_valid_number(parsed)
            assert (
                phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                == row.number
            )
    assert_escaped(client.get(f"/students/{student_id}").get_data(as_text=True))
