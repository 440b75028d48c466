"""The patient registry over HTTP: registering, duplicates, reading, optimistic updates,
search, merging, insurance policies, and the audit trail every PHI access leaves."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from shared.enums import Role
from shared.validators import is_valid_mrn
from tests.fixtures.builders import create_patient, create_policy

PATIENTS = "/api/v1/patients"
AUDIT = "/api/v1/audit-events"
PROBLEM_JSON = "application/problem+json"


def registration(**overrides: Any) -> dict[str, Any]:
    """A complete registration as the front desk types it; a None override drops the field."""
    body: dict[str, Any] = {
        "first_name": "Katherine",
        "middle_name": "Anne",
        "last_name": "Johnson",
        "date_of_birth": "1984-03-09",
        "sex": "female",
        "ssn": "457-55-5462",
        "phone": "(617) 555-0142",
        "phone_type": "mobile",
        "email": "K.Johnson@Example.com",
        "preferred_contact_method": "sms",
        "address": {
            "line1": "44 Beacon St",
            "line2": "Apt 3",
            "city": "Boston",
            "state": "ma",
            "postal_code": "02108",
        },
        "emergency_contacts": [
            {"name": "Robert Johnson", "relationship": "spouse", "phone": "617-555-0199"}
        ],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def policy_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "rank": "primary",
        "payer_name": "Aetna",
        "payer_id": "60054",
        "member_id": "W123456789",
        "group_number": "0123456-010-00001",
        "plan_name": "Aetna Choice POS II",
        "effective_date": "2026-01-01",
        "copay_primary_care_cents": 2500,
        "copay_specialist_cents": 5000,
    }
    body.update(overrides)
    return body


@pytest.fixture
def desk(principals):
    return principals.staff(Role.FRONT_DESK)


@pytest.fixture
def admin(principals):
    return principals.staff(Role.ADMIN)


@pytest.fixture
def katherine(client, desk) -> dict[str, Any]:
    """Katherine Johnson, registered through the API."""
    r = client.post(PATIENTS, json=registration(), headers=desk)
    assert r.status_code == 201, r.text
    return r.json()


def audit_events(client, admin, resource_id: str, action: str | None = None) -> list[dict]:
    params = {"resource_id": resource_id, "limit": 200}
    if action:
        params["action"] = action
    r = client.get(AUDIT, params=params, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def patch(client, headers, patient_id, body, version: int | str | None):
    extra = {} if version is None else {"If-Match": f'"{version}"'}
    return client.patch(f"{PATIENTS}/{patient_id}", json=body, headers={**headers, **extra})


def names(response) -> list[str]:
    return sorted(f"{p['first_name']} {p['last_name']}" for p in response.json()["items"])


# --- registering ------------------------------------------------------------------------------


def test_register_answers_201_with_location_and_etag(client, desk):
    r = client.post(PATIENTS, json=registration(), headers=desk)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{PATIENTS}/{r.json()['id']}"
    assert r.headers["etag"] == '"1"'


def test_registered_patient_can_be_read_at_its_location(client, desk):
    r = client.post(PATIENTS, json=registration(), headers=desk)
    read = client.get(r.headers["location"], headers=desk)
    assert read.status_code == 200
    assert read.json()["id"] == r.json()["id"]


def test_register_assigns_a_nine_digit_mrn_with_a_valid_check_digit(katherine):
    mrn = katherine["mrn"]
    assert len(mrn) == 9 and mrn.isascii() and mrn.isdigit()
    assert is_valid_mrn(mrn)


def test_every_registration_gets_its_own_mrn(client, desk, session, cipher):
    existing = {create_patient(session, cipher).mrn for _ in range(20)}
    r = client.post(PATIENTS, json=registration(), headers=desk)
    assert len(existing) == 20
    assert r.json()["mrn"] not in existing


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("(617) 555-0142", "+16175550142"),
        ("617.555.0142", "+16175550142"),
        ("1-617-555-0142", "+16175550142"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_register_normalises_phone_to_e164(client, desk, typed, stored):
    r = client.post(PATIENTS, json=registration(phone=typed), headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["phone"] == stored


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("K.Johnson@Example.com", "k.johnson@example.com"),
        ("KATHERINE.JOHNSON@GMAIL.COM", "katherine.johnson@gmail.com"),
        ("kj@mgh.harvard.edu", "kj@mgh.harvard.edu"),
    ],
)
def test_register_lower_cases_email(client, desk, typed, stored):
    r = client.post(PATIENTS, json=registration(email=typed), headers=desk)
    assert r.json()["email"] == stored


@pytest.mark.parametrize("typed", ["457-55-5462", "457555462"])
def test_register_answers_the_ssn_masked(client, desk, typed):
    r = client.post(PATIENTS, json=registration(ssn=typed), headers=desk)
    assert r.status_code == 201, r.text
    assert r.json()["ssn"] == "***-**-5462"
    assert "457-55" not in r.text and "45755" not in r.text


def test_ssn_pasted_with_surrounding_spaces_is_accepted(client, desk):
    """The SSN normaliser strips spaces, so a pasted ' 457-55-5462 ' is a valid SSN."""
    r = client.post(PATIENTS, json=registration(ssn=" 457-55-5462 "), headers=desk)
    assert r.status_code == 201, r.text


def test_register_normalises_the_address(katherine):
    assert katherine["address"] == {
        "line1": "44 Beacon St",
        "line2": "Apt 3",
        "city": "Boston",
        "state": "MA",
        "postal_code": "02108",
    }


def test_register_keeps_emergency_contacts_with_normalised_phones(katherine):
    assert katherine["emergency_contacts"] == [
        {"name": "Robert Johnson", "relationship": "spouse", "phone": "+16175550199"}
    ]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        pytest.param({"ssn": "666-12-3456"}, "ssn", id="SSN area 666"),
        pytest.param({"ssn": "123-45-678"}, "ssn", id="SSN too short"),
        pytest.param({"phone": "555-0142"}, "phone", id="phone without area code"),
        pytest.param({"date_of_birth": "2999-01-01"}, "date_of_birth", id="DOB in future"),
        pytest.param({"date_of_birth": "1899-12-31"}, "date_of_birth", id="DOB before 1900"),
        pytest.param({"first_name": "   "}, "first_name", id="blank first name"),
        pytest.param({"sex": "f"}, "sex", id="unknown sex code"),
        pytest.param({"email": "katherine@"}, "email", id="bad email"),
        pytest.param(
            {
                "address": {
                    "line1": "1 Main St",
                    "city": "Boston",
                    "state": "XX",
                    "postal_code": "02108",
                }
            },
            "address.state",
            id="unknown state",
        ),
        pytest.param(
            {
                "address": {
                    "line1": "1 Main St",
                    "city": "Boston",
                    "state": "MA",
                    "postal_code": "2108",
                }
            },
            "address.postal_code",
            id="four-digit ZIP",
        ),
        pytest.param({"mrn": "123456782"}, "mrn", id="client-chosen MRN"),
        pytest.param(
            {"phone": None, "preferred_contact_method": "sms"},
            "preferred_contact_method",
            id="SMS preferred without a phone",
        ),
    ],
)
def test_invalid_registration_is_422_naming_the_field(client, desk, override, field):
    r = client.post(PATIENTS, json=registration(**override), headers=desk)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    assert field in [e["field"] for e in r.json()["errors"]]


def test_validation_problem_does_not_echo_the_ssn(client, desk):
    r = client.post(PATIENTS, json=registration(ssn="666-12-3456"), headers=desk)
    assert r.status_code == 422
    assert "666-12-3456" not in r.text


# --- duplicates -------------------------------------------------------------------------------


@pytest.fixture
def on_file(session, cipher):
    return create_patient(
        session,
        cipher,
        first_name="Katherine",
        last_name="Johnson",
        date_of_birth=date(1984, 3, 9),
        phone="+16175550142",
    )


NEAR_MATCHES = [
    pytest.param(
        {"last_name": "Jonhson", "phone": "(781) 555-0123"}, "similar name", id="typo in last name"
    ),
    pytest.param(
        {"first_name": "Johnson", "last_name": "Katherine", "phone": "(781) 555-0123"},
        "same date of birth",
        id="first and last swapped",
    ),
    pytest.param(
        {"date_of_birth": "1984-09-03", "phone": "(781) 555-0123"},
        "date of birth differs by one digit or a day/month swap",
        id="day and month swapped",
    ),
    pytest.param(
        {"date_of_birth": "1984-03-08", "phone": "(781) 555-0123"},
        "date of birth differs by one digit or a day/month swap",
        id="one DOB digit mistyped",
    ),
    pytest.param(
        {"first_name": "Catherine", "date_of_birth": "1948-03-09", "phone": "617 555 0142"},
        "same phone",
        id="same phone, similar name",
    ),
]


@pytest.mark.parametrize(("override", "reason"), NEAR_MATCHES)
def test_near_match_is_refused_as_a_possible_duplicate(client, desk, on_file, override, reason):
    r = client.post(PATIENTS, json=registration(**override), headers=desk)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    problem = r.json()
    assert problem["code"] == "possible-duplicate"
    [candidate] = problem["candidates"]
    assert candidate["id"] == str(on_file.id)
    assert candidate["mrn"] == on_file.mrn
    assert 0 < candidate["score"] <= 100
    assert reason in candidate["reasons"]


@pytest.mark.parametrize(("override", "reason"), NEAR_MATCHES)
def test_refused_duplicate_is_not_registered(client, desk, on_file, override, reason):
    client.post(PATIENTS, json=registration(**override), headers=desk)
    r = client.get(PATIENTS, params={"date_of_birth": "1984-03-09"}, headers=desk)
    assert [p["id"] for p in r.json()["items"]] == [str(on_file.id)]


def test_confirm_new_registers_a_near_match(client, desk, on_file):
    r = client.post(
        PATIENTS,
        params={"confirm_new": "true"},
        json=registration(last_name="Jonhson"),
        headers=desk,
    )
    assert r.status_code == 201, r.text
    assert r.json()["id"] != str(on_file.id)


def test_confirmed_duplicate_is_audited_as_an_override(client, desk, admin, on_file):
    r = client.post(
        PATIENTS,
        params={"confirm_new": "true"},
        json=registration(last_name="Jonhson"),
        headers=desk,
    )
    [event] = audit_events(client, admin, r.json()["id"], action="patients.create")
    assert event["detail"]["duplicate_override"] is True
    assert event["detail"]["duplicate_candidate_ids"] == [str(on_file.id)]


def test_registration_without_near_match_is_not_an_override(client, desk, admin, katherine):
    [event] = audit_events(client, admin, katherine["id"], action="patients.create")
    assert event["detail"]["duplicate_override"] is False


def test_twin_with_another_first_name_registers_without_confirmation(client, desk, session, cipher):
    create_patient(
        session, cipher, first_name="Mary", last_name="Johnson", date_of_birth=date(1984, 3, 9)
    )
    r = client.post(PATIENTS, json=registration(first_name="Robert", sex="male"), headers=desk)
    assert r.status_code == 201, r.text


# --- reading ----------------------------------------------------------------------------------


def test_read_answers_etag_of_the_first_version(client, desk, katherine):
    r = client.get(f"{PATIENTS}/{katherine['id']}", headers=desk)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'
    assert r.json()["version"] == 1


def test_read_of_unknown_patient_is_404(client, desk):
    r = client.get(f"{PATIENTS}/6f1c3c1e-6a44-4a43-9a43-3f0d3c1b2a10", headers=desk)
    assert r.status_code == 404
    assert r.json()["code"] == "not-found"


@pytest.mark.parametrize(
    ("role", "ssn"), [(Role.BILLING, "457-55-5462"), (Role.ADMIN, "457-55-5462")]
)
def test_roles_allowed_to_may_reveal_the_full_ssn(client, principals, katherine, role, ssn):
    r = client.get(
        f"{PATIENTS}/{katherine['id']}",
        params={"reveal_ssn": "true"},
        headers=principals.staff(role),
    )
    assert r.status_code == 200
    assert r.json()["ssn"] == ssn


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.NURSE, Role.PROVIDER])
def test_other_roles_may_not_reveal_the_ssn(client, principals, katherine, role):
    r = client.get(
        f"{PATIENTS}/{katherine['id']}",
        params={"reveal_ssn": "true"},
        headers=principals.staff(role),
    )
    assert r.status_code == 403
    assert "5462" not in r.text


# --- updating ---------------------------------------------------------------------------------


def test_update_with_if_match_answers_the_new_version(client, desk, katherine):
    r = patch(client, desk, katherine["id"], {"phone": "617-555-0177"}, version=1)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.headers["etag"] == '"2"'


def test_update_is_visible_on_the_next_read(client, desk, katherine):
    patch(client, desk, katherine["id"], {"phone": "617-555-0177"}, version=1)
    r = client.get(f"{PATIENTS}/{katherine['id']}", headers=desk)
    assert r.json()["phone"] == "+16175550177"
    assert r.headers["etag"] == '"2"'


@pytest.mark.parametrize("if_match", ['W/"1"', '"1"', "1"])
def test_if_match_is_accepted_weak_quoted_or_bare(client, desk, katherine, if_match):
    r = client.patch(
        f"{PATIENTS}/{katherine['id']}",
        json={"middle_name": "Marie"},
        headers={**desk, "If-Match": if_match},
    )
    assert r.status_code == 200, r.text


def test_update_with_stale_if_match_is_412_with_current_version(client, desk, katherine):
    patch(client, desk, katherine["id"], {"phone": "617-555-0177"}, version=1)
    r = patch(client, desk, katherine["id"], {"middle_name": "Marie"}, version=1)
    assert r.status_code == 412
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["code"] == "stale-version"
    assert r.json()["current_version"] == 2


def test_stale_update_changes_nothing(client, desk, katherine):
    patch(client, desk, katherine["id"], {"phone": "617-555-0177"}, version=1)
    patch(client, desk, katherine["id"], {"middle_name": "Marie"}, version=1)
    r = client.get(f"{PATIENTS}/{katherine['id']}", headers=desk)
    assert r.json()["middle_name"] == "Anne"


def test_update_without_if_match_is_428(client, desk, katherine):
    r = patch(client, desk, katherine["id"], {"middle_name": "Marie"}, version=None)
    assert r.status_code == 428
    assert r.json()["code"] == "precondition-required"


def test_update_with_a_non_version_if_match_is_422(client, desk, katherine):
    r = client.patch(
        f"{PATIENTS}/{katherine['id']}",
        json={"middle_name": "Marie"},
        headers={**desk, "If-Match": "*"},
    )
    assert r.status_code == 422


def test_partial_update_leaves_other_fields_alone(client, desk, katherine):
    r = patch(client, desk, katherine["id"], {"middle_name": "Marie"}, version=1)
    after = r.json()
    unchanged = {
        k: v for k, v in katherine.items() if k not in ("middle_name", "version", "updated_at")
    }
    assert {k: after[k] for k in unchanged} == unchanged
    assert after["middle_name"] == "Marie"


@pytest.mark.parametrize("field", ["middle_name", "email", "address", "ssn", "phone_type"])
def test_null_clears_an_optional_field(client, desk, katherine, field):
    r = patch(client, desk, katherine["id"], {field: None}, version=1)
    assert r.status_code == 200, r.text
    assert r.json()[field] is None


def test_null_clears_the_phone_of_a_patient_who_prefers_email(client, desk):
    created = client.post(
        PATIENTS, json=registration(preferred_contact_method="email"), headers=desk
    ).json()
    r = patch(client, desk, created["id"], {"phone": None}, version=1)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] is None


def test_clearing_the_phone_of_a_patient_who_prefers_sms_is_422(client, desk, katherine):
    """Registration refuses SMS without a phone; an update must not reach the same state."""
    assert katherine["preferred_contact_method"] == "sms"
    r = patch(client, desk, katherine["id"], {"phone": None}, version=1)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    "field", ["first_name", "last_name", "date_of_birth", "sex", "emergency_contacts"]
)
def test_clearing_a_required_field_is_422(client, desk, katherine, field):
    r = patch(client, desk, katherine["id"], {field: None}, version=1)
    assert r.status_code == 422
    assert r.json()["code"] == "validation-error"


def test_blank_first_name_is_422(client, desk, katherine):
    r = patch(client, desk, katherine["id"], {"first_name": ""}, version=1)
    assert r.status_code == 422


def test_update_replaces_the_emergency_contacts(client, desk, katherine):
    contacts = [
        {"name": "Linda Johnson", "relationship": "mother", "phone": "508-555-0123"},
        {"name": "Robert Johnson", "relationship": "spouse", "phone": "617-555-0199"},
    ]
    r = patch(client, desk, katherine["id"], {"emergency_contacts": contacts}, version=1)
    assert r.status_code == 200, r.text
    assert [(c["name"], c["phone"]) for c in r.json()["emergency_contacts"]] == [
        ("Linda Johnson", "+15085550123"),
        ("Robert Johnson", "+16175550199"),
    ]


def test_renamed_patient_is_found_under_the_new_name(client, desk, katherine):
    patch(client, desk, katherine["id"], {"last_name": "Okafor"}, version=1)
    r = client.get(PATIENTS, params={"name": "okafor, kath"}, headers=desk)
    assert [p["id"] for p in r.json()["items"]] == [katherine["id"]]


def test_update_that_changes_nothing_keeps_the_version(client, desk, katherine):
    r = patch(client, desk, katherine["id"], {"middle_name": "Anne"}, version=1)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'


# --- search -----------------------------------------------------------------------------------


@pytest.fixture
def registry(session, cipher):
    """A few patients whose names overlap the way real ones do."""
    people = [
        ("John", "Smith", date(1970, 3, 2)),
        ("Joanna", "Smithson", date(1988, 7, 19)),
        ("Mary", "Smith", date(1975, 11, 30)),
        ("Smith", "Jordan", date(1991, 1, 15)),
        ("José", "Núñez", date(1962, 11, 30)),
        ("Siobhán", "O'Brien", date(1979, 5, 5)),
        ("Priya", "Patel", date(1993, 8, 21)),
    ]
    return {
        f"{first} {last}": create_patient(
            session, cipher, first_name=first, last_name=last, date_of_birth=born
        )
        for first, last, born in people
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("smi", ["John Smith", "Joanna Smithson", "Mary Smith", "Smith Jordan"]),
        ("SMI", ["John Smith", "Joanna Smithson", "Mary Smith", "Smith Jordan"]),
        ("smithson", ["Joanna Smithson"]),
        ("smith, jo", ["Joanna Smithson", "John Smith"]),
        ("Smith,Jo", ["Joanna Smithson", "John Smith"]),
        ("jo smith", ["Joanna Smithson", "John Smith", "Smith Jordan"]),
        ("mary smith", ["Mary Smith"]),
        ("nunez", ["José Núñez"]),
        ("NÚÑEZ", ["José Núñez"]),
        ("núñez, jose", ["José Núñez"]),
        ("jos", ["José Núñez"]),
        ("o'bri", ["Siobhán O'Brien"]),
        ("obrien siobhan", ["Siobhán O'Brien"]),
        ("zzz", []),
    ],
)
def test_search_by_name_prefix(client, desk, registry, query, expected):
    r = client.get(PATIENTS, params={"name": query}, headers=desk)
    assert r.status_code == 200, r.text
    assert names(r) == sorted(expected)


def test_search_results_are_ordered_by_last_then_first_name(client, desk, registry):
    r = client.get(PATIENTS, params={"name": "smi"}, headers=desk)
    assert [f"{p['first_name']} {p['last_name']}" for p in r.json()["items"]] == [
        "Smith Jordan",
        "John Smith",
        "Mary Smith",
        "Joanna Smithson",
    ]


def test_search_hit_is_a_summary_without_ssn_or_address(client, desk, katherine):
    r = client.get(PATIENTS, params={"name": "johnson"}, headers=desk)
    [hit] = r.json()["items"]
    assert "ssn" not in hit and "address" not in hit
    assert hit["mrn"] == katherine["mrn"]


def test_search_by_date_of_birth(client, desk, registry):
    r = client.get(PATIENTS, params={"date_of_birth": "1962-11-30"}, headers=desk)
    assert names(r) == ["José Núñez"]


def test_search_by_name_and_date_of_birth_needs_both(client, desk, registry):
    r = client.get(PATIENTS, params={"name": "smith", "date_of_birth": "1975-11-30"}, headers=desk)
    assert names(r) == ["Mary Smith"]


def test_search_by_mrn(client, desk, registry):
    mrn = registry["Priya Patel"].mrn
    r = client.get(PATIENTS, params={"mrn": mrn}, headers=desk)
    assert names(r) == ["Priya Patel"]


def test_search_by_mrn_with_a_bad_check_digit_is_422(client, desk, registry):
    mrn = registry["Priya Patel"].mrn
    mistyped = mrn[:-1] + str((int(mrn[-1]) + 1) % 10)
    r = client.get(PATIENTS, params={"mrn": mistyped}, headers=desk)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["mrn"]


@pytest.mark.parametrize("mrn", ["12345678", "1234567890", "12345678a"])
def test_search_by_malformed_mrn_is_422(client, desk, mrn):
    r = client.get(PATIENTS, params={"mrn": mrn}, headers=desk)
    assert r.status_code == 422


@pytest.mark.parametrize(
    "typed", ["(617) 555-0142", "617-555-0142", "617.555.0142", "+1 617 555 0142", "6175550142"]
)
def test_search_by_phone_in_any_format(client, desk, katherine, typed):
    r = client.get(PATIENTS, params={"phone": typed}, headers=desk)
    assert [p["id"] for p in r.json()["items"]] == [katherine["id"]]


def test_search_by_impossible_phone_is_422(client, desk):
    r = client.get(PATIENTS, params={"phone": "555-0142"}, headers=desk)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["phone"]


def test_search_pages_with_next_offset(client, desk, session, cipher):
    for first in ["Aaron", "Beth", "Carlos", "Dana", "Elena"]:
        create_patient(session, cipher, first_name=first, last_name="Rivera")
    seen, offset, pages = [], 0, []
    while offset is not None:
        page = client.get(
            PATIENTS, params={"name": "rivera", "limit": 2, "offset": offset}, headers=desk
        ).json()
        seen += [p["first_name"] for p in page["items"]]
        pages.append(page["next_offset"])
        offset = page["next_offset"]
    assert pages == [2, 4, None]
    assert seen == ["Aaron", "Beth", "Carlos", "Dana", "Elena"]


def test_last_full_page_has_no_next_offset(client, desk, session, cipher):
    for first in ["Aaron", "Beth"]:
        create_patient(session, cipher, first_name=first, last_name="Rivera")
    page = client.get(PATIENTS, params={"name": "rivera", "limit": 2}, headers=desk).json()
    assert len(page["items"]) == 2
    assert page["next_offset"] is None


# --- merging ----------------------------------------------------------------------------------


@pytest.fixture
def pair(client, desk, session, cipher):
    """Katherine Johnson twice: the target (older, fewer details) and a source registered
    later with a misspelt name, more details, and overlapping insurance."""
    target = create_patient(
        session,
        cipher,
        first_name="Katherine",
        last_name="Johnson",
        date_of_birth=date(1984, 3, 9),
        phone="+16175550142",
        emergency_contacts=[
            {"name": "Robert Johnson", "relationship": "spouse", "phone": "+16175550199"}
        ],
    )
    source = create_patient(
        session,
        cipher,
        first_name="Katherine",
        last_name="Jonhson",
        date_of_birth=date(1984, 3, 9),
        phone="+16175550100",
        ssn="457-55-5462",
        email="kjohnson@example.com",
        address={"line1": "44 Beacon St", "city": "Boston", "state": "MA", "postal_code": "02108"},
        emergency_contacts=[
            {"name": "Linda Johnson", "relationship": "mother", "phone": "+15085550123"}
        ],
    )
    policies = {
        "target aetna": create_policy(
            session,
            target,
            rank="primary",
            payer_name="Aetna",
            payer_id="60054",
            member_id="W123456789",
        ),
        "source aetna": create_policy(
            session,
            source,
            rank="primary",
            payer_name="Aetna",
            payer_id="60054",
            member_id="W123456789",
        ),
        "source cigna": create_policy(
            session,
            source,
            rank="secondary",
            payer_name="Cigna",
            payer_id="62308",
            member_id="U4455667701",
        ),
    }
    return target, source, policies


def merge(client, headers, target_id, source_id, version):
    return client.post(
        f"{PATIENTS}/{target_id}/merge",
        json={"source_id": str(source_id)},
        headers={**headers, "If-Match": f'"{version}"'},
    )


def test_merge_answers_the_target_with_a_new_version(client, admin, pair):
    target, source, _ = pair
    r = merge(client, admin, target.id, source.id, target.version)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == str(target.id)
    assert r.json()["version"] == target.version + 1
    assert r.headers["etag"] == f'"{target.version + 1}"'


def test_merge_moves_every_policy_to_the_target(client, admin, desk, pair):
    target, source, policies = pair
    merge(client, admin, target.id, source.id, target.version)
    listed = client.get(f"{PATIENTS}/{target.id}/policies", headers=desk).json()
    assert sorted(p["id"] for p in listed) == sorted(str(p.id) for p in policies.values())
    assert client.get(f"{PATIENTS}/{source.id}/policies", headers=desk).json() == []


def test_merge_keeps_a_duplicate_policy_inactive_and_reranks_the_rest(client, admin, desk, pair):
    target, source, policies = pair
    merge(client, admin, target.id, source.id, target.version)
    listed = client.get(f"{PATIENTS}/{target.id}/policies", headers=desk).json()
    by_id = {p["id"]: (p["rank"], p["active"]) for p in listed}
    assert by_id == {
        str(policies["target aetna"].id): ("primary", True),
        str(policies["source cigna"].id): ("secondary", True),
        str(policies["source aetna"].id): ("primary", False),
    }


def test_merge_moves_emergency_contacts_to_the_target(client, admin, pair):
    target, source, _ = pair
    r = merge(client, admin, target.id, source.id, target.version)
    assert sorted(c["name"] for c in r.json()["emergency_contacts"]) == [
        "Linda Johnson",
        "Robert Johnson",
    ]


def test_merge_fills_only_the_empty_fields_of_the_target(client, admin, pair):
    target, source, _ = pair
    merged = merge(client, admin, target.id, source.id, target.version).json()
    assert merged["email"] == "kjohnson@example.com"
    assert merged["ssn"] == "***-**-5462"
    assert merged["address"]["line1"] == "44 Beacon St"
    assert merged["phone"] == "+16175550142"  # the target's own, not the source's
    assert merged["last_name"] == "Johnson"


def test_merged_away_record_points_at_the_target(client, admin, desk, pair):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    r = client.get(f"{PATIENTS}/{source.id}", headers=desk)
    assert r.json()["status"] == "merged"
    assert r.json()["merged_into_id"] == str(target.id)


def test_merged_away_record_is_left_out_of_search(client, admin, desk, pair):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    r = client.get(PATIENTS, params={"name": "katherine"}, headers=desk)
    assert [p["id"] for p in r.json()["items"]] == [str(target.id)]


def test_merged_away_record_is_found_when_asking_for_merged(client, admin, desk, pair):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    r = client.get(PATIENTS, params={"name": "katherine", "status": "merged"}, headers=desk)
    assert [p["id"] for p in r.json()["items"]] == [str(source.id)]


def test_merging_the_same_source_twice_is_409(client, admin, pair):
    target, source, _ = pair
    first = merge(client, admin, target.id, source.id, target.version)
    r = merge(client, admin, target.id, source.id, first.json()["version"])
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"


def test_merging_into_a_merged_away_record_is_409(client, admin, pair):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    r = client.get(f"{PATIENTS}/{source.id}", headers=admin)
    r = merge(client, admin, source.id, target.id, r.json()["version"])
    assert r.status_code == 409


def test_merging_a_record_into_itself_is_409(client, admin, pair):
    target, _, _ = pair
    r = merge(client, admin, target.id, target.id, target.version)
    assert r.status_code == 409


def test_merge_with_stale_if_match_is_412(client, admin, desk, pair):
    target, source, _ = pair
    patch(client, desk, target.id, {"middle_name": "Anne"}, version=target.version)
    r = merge(client, admin, target.id, source.id, target.version)
    assert r.status_code == 412
    assert r.json()["current_version"] == target.version + 1


def test_stale_merge_leaves_the_source_active(client, admin, desk, pair):
    target, source, _ = pair
    patch(client, desk, target.id, {"middle_name": "Anne"}, version=target.version)
    merge(client, admin, target.id, source.id, target.version)
    assert client.get(f"{PATIENTS}/{source.id}", headers=desk).json()["status"] == "active"


def test_merge_without_if_match_is_428(client, admin, pair):
    target, source, _ = pair
    r = client.post(
        f"{PATIENTS}/{target.id}/merge", json={"source_id": str(source.id)}, headers=admin
    )
    assert r.status_code == 428


def test_front_desk_may_not_merge(client, desk, pair):
    target, source, _ = pair
    r = merge(client, desk, target.id, source.id, target.version)
    assert r.status_code == 403


def test_update_of_a_merged_away_record_is_409(client, admin, desk, pair):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    version = client.get(f"{PATIENTS}/{source.id}", headers=desk).json()["version"]
    r = patch(client, desk, source.id, {"middle_name": "Anne"}, version=version)
    assert r.status_code == 409
    assert r.json()["merged_into_id"] == str(target.id)


@pytest.mark.parametrize(
    ("side", "action"), [("target", "patients.merge"), ("source", "patients.merged_away")]
)
def test_merge_is_audited_on_both_records(client, admin, pair, side, action):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    record = target if side == "target" else source
    [event] = audit_events(client, admin, str(record.id), action=action)
    assert event["detail"]["source_id"] == str(source.id)
    assert event["detail"]["target_id"] == str(target.id)
    assert event["detail"]["moved"] == {"emergency_contacts": 1, "insurance_policies": 2}


# --- insurance policies -----------------------------------------------------------------------


def policies_url(patient_id) -> str:
    return f"{PATIENTS}/{patient_id}/policies"


def test_add_policy_is_201_with_etag(client, desk, katherine):
    r = client.post(policies_url(katherine["id"]), json=policy_body(), headers=desk)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    assert r.json()["patient_id"] == katherine["id"]
    assert r.json()["active"] is True


def test_policy_identifiers_are_upper_cased(client, desk, katherine):
    r = client.post(
        policies_url(katherine["id"]),
        json=policy_body(member_id="w123456789", payer_id="sx065"),
        headers=desk,
    )
    assert (r.json()["member_id"], r.json()["payer_id"]) == ("W123456789", "SX065")


def test_second_active_primary_policy_is_409(client, desk, katherine):
    client.post(policies_url(katherine["id"]), json=policy_body(), headers=desk)
    r = client.post(
        policies_url(katherine["id"]),
        json=policy_body(payer_name="Cigna", payer_id="62308", member_id="U4455667701"),
        headers=desk,
    )
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"


def test_policy_for_a_spouse_subscriber_with_subscriber_details_is_201(client, desk, katherine):
    r = client.post(
        policies_url(katherine["id"]),
        json=policy_body(
            subscriber_relationship="spouse",
            subscriber_first_name="Robert",
            subscriber_last_name="Johnson",
            subscriber_date_of_birth="1982-10-01",
            subscriber_sex="male",
        ),
        headers=desk,
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "override",
    [
        pytest.param({"subscriber_relationship": "spouse"}, id="spouse without subscriber"),
        pytest.param(
            {
                "subscriber_relationship": "child",
                "subscriber_first_name": "Robert",
                "subscriber_last_name": "Johnson",
            },
            id="subscriber without DOB",
        ),
        pytest.param(
            {"effective_date": "2026-01-01", "end_date": "2025-12-31"}, id="ends before it starts"
        ),
        pytest.param({"copay_primary_care_cents": 25.5}, id="copay as a float"),
        pytest.param({"copay_specialist_cents": "5000"}, id="copay as a string"),
        pytest.param({"copay_primary_care_cents": -2500}, id="negative copay"),
        pytest.param({"rank": "quaternary"}, id="unknown rank"),
        pytest.param({"payer_id": "60-054"}, id="payer id with punctuation"),
        pytest.param({"member_id": ""}, id="empty member id"),
    ],
)
def test_invalid_policy_is_422(client, desk, katherine, override):
    r = client.post(policies_url(katherine["id"]), json=policy_body(**override), headers=desk)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation-error"


def test_policies_are_listed_by_rank_with_inactive_last(client, desk, katherine):
    url = policies_url(katherine["id"])
    old = client.post(url, json=policy_body(member_id="W000000001"), headers=desk).json()
    r = client.patch(
        f"{url}/{old['id']}", json={"active": False}, headers={**desk, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    for rank, payer, payer_id in [
        ("tertiary", "Tricare", "99726"),
        ("primary", "Aetna", "60054"),
        ("secondary", "UnitedHealthcare", "87726"),
    ]:
        r = client.post(
            url,
            json=policy_body(
                rank=rank,
                payer_name=payer,
                payer_id=payer_id,
                member_id=f"{rank[0].upper()}1122334455",
            ),
            headers=desk,
        )
        assert r.status_code == 201, r.text
    listed = client.get(url, headers=desk).json()
    assert [(p["rank"], p["active"]) for p in listed] == [
        ("primary", True),
        ("secondary", True),
        ("tertiary", True),
        ("primary", False),
    ]
    assert listed[-1]["id"] == old["id"]


def test_update_policy_with_if_match_bumps_the_version(client, desk, katherine):
    url = policies_url(katherine["id"])
    created = client.post(url, json=policy_body(), headers=desk).json()
    r = client.patch(
        f"{url}/{created['id']}",
        json={"copay_specialist_cents": 6000},
        headers={**desk, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["copay_specialist_cents"] == 6000
    assert r.json()["copay_primary_care_cents"] == 2500
    assert r.headers["etag"] == '"2"'


def test_update_policy_with_stale_if_match_is_412(client, desk, katherine):
    url = policies_url(katherine["id"])
    created = client.post(url, json=policy_body(), headers=desk).json()
    client.patch(
        f"{url}/{created['id']}",
        json={"copay_specialist_cents": 6000},
        headers={**desk, "If-Match": '"1"'},
    )
    r = client.patch(
        f"{url}/{created['id']}",
        json={"plan_name": "Aetna Open Access"},
        headers={**desk, "If-Match": '"1"'},
    )
    assert r.status_code == 412
    assert r.json()["current_version"] == 2


def test_update_policy_without_if_match_is_428(client, desk, katherine):
    url = policies_url(katherine["id"])
    created = client.post(url, json=policy_body(), headers=desk).json()
    r = client.patch(
        f"{url}/{created['id']}", json={"plan_name": "Aetna Open Access"}, headers=desk
    )
    assert r.status_code == 428


def test_update_policy_to_end_before_it_starts_is_422(client, desk, katherine):
    url = policies_url(katherine["id"])
    created = client.post(url, json=policy_body(), headers=desk).json()
    r = client.patch(
        f"{url}/{created['id']}",
        json={"end_date": "2025-06-30"},
        headers={**desk, "If-Match": '"1"'},
    )
    assert r.status_code == 422


def test_update_policy_into_a_taken_rank_is_409(client, desk, katherine):
    url = policies_url(katherine["id"])
    client.post(url, json=policy_body(), headers=desk)
    second = client.post(
        url,
        json=policy_body(
            rank="secondary", payer_name="Cigna", payer_id="62308", member_id="U4455667701"
        ),
        headers=desk,
    ).json()
    r = client.patch(
        f"{url}/{second['id']}", json={"rank": "primary"}, headers={**desk, "If-Match": '"1"'}
    )
    assert r.status_code == 409


def test_policy_of_another_patient_is_404(client, desk, katherine, session, cipher):
    other = create_patient(session, cipher)
    policy = create_policy(session, other)
    r = client.patch(
        f"{policies_url(katherine['id'])}/{policy.id}",
        json={"active": False},
        headers={**desk, "If-Match": '"1"'},
    )
    assert r.status_code == 404


# --- the audit trail --------------------------------------------------------------------------


def _read(client, desk, p):
    client.get(f"{PATIENTS}/{p['id']}", headers=desk)


def _update(client, desk, p):
    patch(client, desk, p["id"], {"middle_name": "Marie", "ssn": "457-55-5463"}, version=1)


def _add_policy(client, desk, p):
    client.post(policies_url(p["id"]), json=policy_body(), headers=desk)


def _list_policies(client, desk, p):
    client.get(policies_url(p["id"]), headers=desk)


def _update_policy(client, desk, p):
    created = client.post(policies_url(p["id"]), json=policy_body(), headers=desk).json()
    client.patch(
        f"{policies_url(p['id'])}/{created['id']}",
        json={"plan_name": "Aetna HMO"},
        headers={**desk, "If-Match": '"1"'},
    )


PHI_ACCESS = [
    pytest.param(None, "patients.create", id="register"),
    pytest.param(_read, "patients.read", id="read"),
    pytest.param(_update, "patients.update", id="update"),
    pytest.param(_add_policy, "policies.create", id="add policy"),
    pytest.param(_list_policies, "policies.list", id="list policies"),
    pytest.param(_update_policy, "policies.update", id="update policy"),
]


@pytest.mark.parametrize(("operation", "action"), PHI_ACCESS)
def test_phi_access_writes_an_audit_event_for_the_patient(
    client, desk, admin, katherine, operation, action
):
    if operation:
        operation(client, desk, katherine)
    events = audit_events(client, admin, katherine["id"], action=action)
    assert len(events) == 1
    assert events[0]["resource_type"] == "patient"
    assert events[0]["outcome"] == "success"


def _phi_of(patient: dict[str, Any]) -> list[str]:
    born = date.fromisoformat(patient["date_of_birth"])
    return [
        patient["first_name"].lower(),
        patient["last_name"].lower(),
        born.isoformat(),
        born.strftime("%m/%d/%Y"),
        "457-55-546",  # either SSN the tests use, with or without dashes
        "45755546",
    ]


@pytest.mark.parametrize(("operation", "action"), PHI_ACCESS)
def test_audit_detail_never_holds_name_birth_date_or_ssn(
    client, desk, admin, katherine, operation, action
):
    if operation:
        operation(client, desk, katherine)
    [event] = audit_events(client, admin, katherine["id"], action=action)
    detail = json.dumps(event["detail"]).lower()
    assert [phi for phi in _phi_of(katherine) if phi in detail] == []


def test_search_is_audited_with_criteria_and_results_but_not_the_values(
    client, desk, admin, katherine
):
    client.get(
        PATIENTS, params={"name": "johnson, kath", "date_of_birth": "1984-03-09"}, headers=desk
    )
    r = client.get(AUDIT, params={"action": "patients.search"}, headers=admin)
    [event] = r.json()["items"]
    assert event["detail"]["criteria"] == ["name", "date_of_birth"]
    assert event["detail"]["result_ids"] == [katherine["id"]]
    detail = json.dumps(event["detail"]).lower()
    assert [phi for phi in [*_phi_of(katherine), "kath"] if phi in detail] == []


def test_failed_update_is_audited_without_the_values_sent(client, desk, admin, katherine):
    patch(client, desk, katherine["id"], {"ssn": "666-55-5462"}, version=1)
    events = audit_events(client, admin, katherine["id"], action="patients.update")
    assert [e["outcome"] for e in events] == ["failure"]
    # Only the value as sent can be looked for: ids and hashes are random hex.
    assert "666-55-5462" not in json.dumps(events[0])
    assert "666" not in json.dumps(events[0]["detail"])


def test_merge_audit_detail_never_holds_name_birth_date_or_ssn(client, admin, pair):
    target, source, _ = pair
    merge(client, admin, target.id, source.id, target.version)
    phi = ["katherine", "johnson", "jonhson", "1984-03-09", "457-55-5462", "457555462"]
    for record in (target, source):
        for event in audit_events(client, admin, str(record.id)):
            detail = json.dumps(event["detail"]).lower()
            assert [p for p in phi if p in detail] == [], event["action"]
