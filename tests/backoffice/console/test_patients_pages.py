"""The console's patient pages: search, register with the duplicate check, the record,
edits that refuse a stale version, insurance with copays typed in dollars, and who may
change what; in-process on both databases."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import func, select

from backoffice.audit.models import AuditEvent
from backoffice.console.patients import dollars_to_cents, search_terms
from backoffice.patients import service as patients_service
from backoffice.patients.models import InsurancePolicy, Patient
from backoffice.patients.schemas import PatientUpdate
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import TEST_ACTOR, create_patient, create_policy
from tests.fixtures.checkin import book_today
from tests.fixtures.console import console_as, text_of

BORN = date(1961, 4, 2)


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def harriet(session, cipher):
    return create_patient(
        session,
        cipher,
        first_name="Harriet",
        last_name="Quimby",
        date_of_birth=BORN,
        phone="+16175550123",
        ssn="123-45-6789",
    )


@pytest.fixture
def desk(app, session):
    return console_as(app, session, Role.FRONT_DESK)


def registration(**overrides):
    form = {
        "first_name": "Amelia",
        "last_name": "Earhart",
        "date_of_birth": "1997-07-24",
        "sex": "female",
        "preferred_language": "en",
        "phone": "(617) 555-0199",
        "address_line1": "1 Main St",
        "address_city": "Boston",
        "address_state": "ma",
        "address_postal_code": "02110",
        "contact_0_name": "Amy Otis",
        "contact_0_relationship": "mother",
        "contact_0_phone": "617-555-0142",
    }
    form.update(overrides)
    return form


def patients_named(session, last_name):
    return session.exec(select(Patient).where(Patient.last_name == last_name)).all()


def demographics_form(patient, **overrides):
    form = {
        "version": str(patient.version),
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "preferred_language": patient.preferred_language,
        "phone": patient.phone or "",
        "status": patient.status,
    }
    form.update(overrides)
    return form


# --- pure parts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("25", 2500), ("25.00", 2500), ("25.5", 2550), ("$0.07", 7), ("1,250.50", 125050)],
)
def test_dollars_become_exact_cents(typed, cents):
    assert dollars_to_cents(typed) == cents


@pytest.mark.parametrize("typed", ["25.5.0", "25.005", "-5", "twenty", "1,25.00", "10000.01"])
def test_amounts_that_are_not_dollars_are_refused(typed):
    with pytest.raises(ValueError):
        dollars_to_cents(typed)


@pytest.mark.parametrize(
    ("q", "terms"),
    [
        ("quimby", {"name": "quimby"}),
        ("quimby, har", {"name": "quimby, har"}),
        ("04/02/1961 quimby", {"date_of_birth": BORN, "name": "quimby"}),
        ("1961-04-02", {"date_of_birth": BORN}),
        ("123456782", {"mrn": "123456782"}),
        ("(617) 555-0123", {"phone": "+16175550123"}),
    ],
)
def test_one_search_box_understands_names_dates_mrns_and_phones(q, terms):
    assert search_terms(q) == terms


# --- search ---------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["quimby", "harriet quimby", "04/02/1961", "617-555-0123", "mrn"])
def test_search_finds_the_patient(desk, harriet, q):
    r = desk.get("/staff/patients", q=harriet.mrn if q == "mrn" else q)
    assert r.status_code == 200
    assert f'href="/staff/patients/{harriet.id}"' in r.text
    assert "Quimby, Harriet" in text_of(r.text)


def test_a_number_that_is_no_mrn_says_so(desk, harriet):
    r = desk.get("/staff/patients", q="123456789")  # nine digits, wrong check digit
    assert r.status_code == 422
    assert "An MRN is nine digits" in text_of(r.text)


# --- registering ----------------------------------------------------------------------------


def test_registering_stores_the_patient_and_opens_the_record(desk, session):
    r = desk.post("/staff/patients/new", registration())
    assert r.status_code == 303, text_of(r.text)
    [amelia] = patients_named(session, "Earhart")
    assert r.headers["location"] == f"/staff/patients/{amelia.id}"
    assert (amelia.phone, amelia.address_state) == ("+16175550199", "MA")
    assert [c.name for c in amelia.emergency_contacts] == ["Amy Otis"]
    page = desk.get(r.headers["location"])
    assert "Patient registered." in page.text and "Amelia Earhart" in text_of(page.text)


def test_a_field_error_is_shown_by_its_field_and_nothing_is_stored(desk, session):
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    r = desk.post("/staff/patients/new", registration(date_of_birth=tomorrow, last_name=""))
    assert r.status_code == 422
    assert 'id="date_of_birth-error">must not be in the future<' in r.text
    assert 'id="last_name-error">is required<' in r.text
    assert 'aria-describedby="date_of_birth-error"' in r.text
    assert 'value="Amelia"' in r.text  # what was typed stays
    assert patients_named(session, "Earhart") == []


def test_a_likely_duplicate_is_shown_and_register_anyway_registers(desk, session, harriet):
    form = registration(first_name="Harriet", last_name="Quimby", date_of_birth="1961-04-02")
    r = desk.post("/staff/patients/new", form)
    assert r.status_code == 409
    page = text_of(r.text)
    assert harriet.mrn in page and "same date of birth" in page
    assert "None of these is this patient: register anyway" in page
    assert f'href="/staff/patients/{harriet.id}"' in r.text
    assert len(patients_named(session, "Quimby")) == 1

    r = desk.post("/staff/patients/new", form | {"confirm_new": "yes", "seen": str(harriet.id)})
    assert r.status_code == 303
    assert len(patients_named(session, "Quimby")) == 2


def test_register_anyway_covers_only_the_matches_shown(desk, session, harriet):
    form = registration(first_name="Harriet", last_name="Quimby", date_of_birth="1961-04-02")
    r = desk.post("/staff/patients/new", form | {"confirm_new": "yes", "seen": str(uuid.uuid4())})
    assert r.status_code == 409 and harriet.mrn in r.text
    assert len(patients_named(session, "Quimby")) == 1


# --- the record -----------------------------------------------------------------------------


def test_reading_the_record_is_audited_with_the_patient(desk, session, harriet):
    r = desk.get(f"/staff/patients/{harriet.id}")
    assert r.status_code == 200 and "Harriet Quimby" in text_of(r.text)
    reads = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "patients.read", AuditEvent.resource_id == str(harriet.id)
        )
    ).all()
    assert [e.actor_role for e in reads] == [Role.FRONT_DESK.value]


def test_the_ssn_shows_its_last_four_unless_the_role_may_see_it(app, session, desk, harriet):
    page = desk.get(f"/staff/patients/{harriet.id}").text
    assert "***-**-6789" in page and "123-45-6789" not in page and "?show=ssn" not in page
    assert desk.get(f"/staff/patients/{harriet.id}", show="ssn").status_code == 403
    billing = console_as(app, session, Role.BILLING)
    assert "123-45-6789" in billing.get(f"/staff/patients/{harriet.id}", show="ssn").text


def test_policies_show_with_copays_in_dollars(desk, session, harriet):
    create_policy(session, harriet, payer_name="Aetna", copay_specialist_cents=4000)
    page = text_of(desk.get(f"/staff/patients/{harriet.id}").text)
    assert "Aetna" in page and "Primary $25.00" in page and "Specialist $40.00" in page


def test_the_record_lists_upcoming_appointments(desk, session, cipher):
    visit = book_today(session, cipher, first_name="Bessie", last_name="Coleman")
    page = text_of(desk.get(f"/staff/patients/{visit['patient'].id}").text)
    assert visit["location"].name in page and visit["provider"].last_name in page


# --- editing --------------------------------------------------------------------------------


def test_an_edit_is_saved(desk, session, harriet):
    form = demographics_form(harriet, phone="617-555-0177", middle_name="Q")
    r = desk.post(f"/staff/patients/{harriet.id}/edit", form)
    assert r.status_code == 303, text_of(r.text)
    session.expire_all()
    saved = session.get(Patient, harriet.id)
    assert (saved.phone, saved.middle_name, saved.version) == ("+16175550177", "Q", 2)
    assert saved.ssn_ciphertext == harriet.ssn_ciphertext  # a blank SSN input keeps it


def test_an_edit_from_a_stale_version_is_refused_and_changes_nothing(desk, session, harriet):
    form = demographics_form(harriet, first_name="Harriette")
    patients_service.update_patient(
        session,
        actor=TEST_ACTOR,
        patient=harriet,
        data=PatientUpdate(phone="617-555-0188"),
        expected_version=harriet.version,
        cipher=desk.app.state.cipher,
    )
    session.commit()
    r = desk.post(f"/staff/patients/{harriet.id}/edit", form)
    assert r.status_code == 412
    assert "Someone changed this record while you were editing" in text_of(r.text)
    assert 'name="version" value="2"' in r.text and "+16175550188" in r.text
    session.expire_all()
    assert session.get(Patient, harriet.id).first_name == "Harriet"


# --- insurance ------------------------------------------------------------------------------


def test_a_policy_added_with_copays_in_dollars_stores_cents(desk, session, harriet):
    r = desk.post(
        f"/staff/patients/{harriet.id}/policies/new",
        {
            "rank": "primary",
            "payer_name": "Blue Cross",
            "payer_id": "bcbsma",
            "member_id": "xyz123",
            "effective_date": "2026-01-01",
            "subscriber_relationship": "self",
            "copay_primary_care": "25.00",
            "copay_specialist": "$1,250.5",
        },
    )
    assert r.status_code == 303, text_of(r.text)
    [policy] = session.exec(select(InsurancePolicy).where(InsurancePolicy.patient_id == harriet.id))
    assert (policy.copay_primary_care_cents, policy.copay_specialist_cents) == (2500, 125050)
    assert (policy.payer_id, policy.member_id) == ("BCBSMA", "XYZ123")


def test_a_copay_that_is_not_dollars_is_refused_by_its_field(desk, session, harriet):
    r = desk.post(
        f"/staff/patients/{harriet.id}/policies/new",
        {
            "rank": "primary",
            "payer_name": "Blue Cross",
            "payer_id": "BCBSMA",
            "member_id": "XYZ123",
            "effective_date": "2026-01-01",
            "subscriber_relationship": "self",
            "copay_primary_care": "25.5.0",
        },
    )
    assert r.status_code == 422
    assert 'id="copay_primary_care-error">enter dollars and cents, like 25.00<' in r.text
    count = select(func.count()).select_from(InsurancePolicy)
    assert session.exec(count.where(InsurancePolicy.patient_id == harriet.id)).one() == 0


def test_a_policy_edit_from_a_stale_version_is_refused(desk, session, harriet):
    policy = create_policy(session, harriet)
    path = f"/staff/patients/{harriet.id}/policies/{policy.id}/edit"
    form = {
        "version": str(policy.version),
        "rank": "primary",
        "payer_name": "Aetna",
        "payer_id": "60054",
        "member_id": policy.member_id,
        "effective_date": "2026-01-01",
        "subscriber_relationship": "self",
        "copay_primary_care": "30.00",
        "active": "yes",
    }
    assert desk.post(path, form).status_code == 303
    r = desk.post(path, form | {"copay_primary_care": "35.00"})
    assert r.status_code == 412
    assert "Someone changed this policy while you were editing" in text_of(r.text)
    session.expire_all()
    assert session.get(InsurancePolicy, policy.id).copay_primary_care_cents == 3000


# --- who may change what ----------------------------------------------------------------------


def test_a_nurse_reads_but_sees_no_edit_links_and_cannot_post(app, session, harriet):
    policy = create_policy(session, harriet)
    nurse = console_as(app, session, Role.NURSE)
    page = nurse.get(f"/staff/patients/{harriet.id}")
    assert page.status_code == 200 and "Harriet Quimby" in text_of(page.text)
    assert "/edit" not in page.text and "/policies/new" not in page.text
    assert "/staff/patients/new" not in nurse.get("/staff/patients", q="quimby").text
    posts = {
        "/staff/patients/new": registration(),
        f"/staff/patients/{harriet.id}/edit": demographics_form(harriet, first_name="Hattie"),
        f"/staff/patients/{harriet.id}/policies/new": {"rank": "secondary"},
        f"/staff/patients/{harriet.id}/policies/{policy.id}/edit": {"version": "1"},
    }
    for path, form in posts.items():
        assert nurse.post(path, form).status_code == 403, path
    session.expire_all()
    assert session.get(Patient, harriet.id).first_name == "Harriet"
    assert patients_named(session, "Earhart") == []
    assert session.get(InsurancePolicy, policy.id).version == 1
