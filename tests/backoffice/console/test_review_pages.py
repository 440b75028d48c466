"""Review of what the kiosk captured: insurance cards into policies, proposed corrections,
signed consents; in-process on both databases."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from sqlmodel import select

from backoffice.audit.models import AuditEvent
from backoffice.checkin.models import Arrival, CardCapture, ConsentSignature, DemographicChange
from backoffice.checkin.review import card_amount_cents
from backoffice.patients.models import InsurancePolicy, Patient
from shared.enums import Role
from tests.conftest import bound_to
from tests.fixtures.builders import create_policy
from tests.fixtures.checkin import (
    JPEG,
    PNG,
    book_today,
    check_in_through_api,
    consent_form,
    signature,
)
from tests.fixtures.console import console_as, text_of

CARD = {
    "front_image": JPEG,
    "back_image": JPEG,
    "fields": {
        "member_id": {"value": "W123", "confidence": 0.93},
        "payer_name": {"value": "Aetna", "confidence": 0.5},
        "payer_id": {"value": "60054", "confidence": 0.97},
        "copay_primary_care": {"value": "$25", "confidence": 0.95},
        "copay_specialist": {"value": "see back", "confidence": 0.9},
        "rx_bin": {"value": "610502", "confidence": 0.88},
    },
}
CARD_FLAGS = {"insurance_to_review", "card_read_unsure"}


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def visit(session, cipher):
    return book_today(session, cipher, first_name="Harriet", last_name="Quimby")


@pytest.fixture
def arrival(client, principals, visit):
    return check_in_through_api(client, principals.kiosk(), visit, insurance_card=CARD)


@pytest.fixture
def capture(session, arrival):
    arrival_id = uuid.UUID(arrival["arrival_id"])
    return session.exec(select(CardCapture).where(CardCapture.arrival_id == arrival_id)).one()


@pytest.fixture
def desk(app, session):
    return console_as(app, session, Role.FRONT_DESK)


def page_of(arrival) -> str:
    return f"/staff/arrivals/{arrival['arrival_id']}"


def flags_of(session, arrival) -> set[str]:
    session.expire_all()
    return set(session.get(Arrival, uuid.UUID(arrival["arrival_id"])).flags)


def audited(session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def card_form(**changes: str) -> dict[str, str]:
    return {
        "payer_name": "Aetna",
        "payer_id": "60054",
        "member_id": "W123",
        "copay_primary_care": "25.00",
        **changes,
    }


# --- reading amounts off a card ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("$25", 2500),
        ("25.00", 2500),
        ("25", 2500),
        ("$ 25.5", 2550),
        ("$1,250.00", 125000),
        ("0", 0),
        ("$0.99", 99),
        ("see back", None),
        ("25.005", None),
        ("-5", None),
        ("12,34", None),
        ("$", None),
        ("", None),
        (None, None),
    ],
)
def test_card_amounts_become_cents_or_nothing(text, cents):
    assert card_amount_cents(text) == cents


# --- the pages ----------------------------------------------------------------------------------


def test_the_card_is_shown_with_the_doubtful_field_marked_in_words(desk, arrival, capture):
    r = desk.get(page_of(arrival))
    assert r.status_code == 200
    page = text_of(r.text)
    assert "Check this: read with 50% confidence" in page
    assert "93% confidence" not in page  # sure enough: not marked
    payer = re.search(rf'<input id="card-{capture.id}-payer_name"[^>]*>', r.text).group(0)
    assert 'class="unsure"' in payer and 'value="Aetna"' in payer
    member = re.search(rf'<input id="card-{capture.id}-member_id"[^>]*>', r.text).group(0)
    assert "unsure" not in member and 'value="W123"' in member
    assert f'id="card-{capture.id}-copay_primary_care" name="copay_primary_care" value="25.00"' in (
        r.text
    )
    assert "Read as “see back”, which is not an amount" in page
    assert f"/staff/card-captures/{capture.id}/front" in r.text
    assert "Accept into policy" in page and "Reject capture" in page


def test_the_to_do_list_leads_to_the_arrival_until_it_is_decided(desk, arrival, capture):
    r = desk.get("/staff/review")
    assert r.status_code == 200 and page_of(arrival) in r.text
    assert "1 insurance card" in text_of(r.text)
    desk.post(f"/staff/card-captures/{capture.id}/reject")
    assert page_of(arrival) not in desk.get("/staff/review").text


def test_accepting_a_corrected_member_id_updates_the_policy_and_clears_the_flags(
    session, visit, desk, arrival, capture
):
    policy = create_policy(session, visit["patient"], member_id="W999")
    version = policy.version
    assert flags_of(session, arrival) >= CARD_FLAGS
    form = card_form(member_id="W1234", into=str(policy.id))
    form[f"version_{policy.id}"] = str(version)
    r = desk.post(f"/staff/card-captures/{capture.id}/accept", form)
    assert (r.status_code, r.headers["location"]) == (303, page_of(arrival))
    session.expire_all()
    updated = session.get(InsurancePolicy, policy.id)
    assert (updated.member_id, updated.version) == ("W1234", version + 1)
    done = session.get(CardCapture, capture.id)
    assert (done.status, done.policy_id, done.decided_by) == (
        "accepted",
        policy.id,
        done.decided_by,
    )
    assert done.decided_by and done.decided_at
    assert not CARD_FLAGS & flags_of(session, arrival)
    assert audited(session, "policies.update") and audited(session, "card_captures.accepted")
    board = desk.get("/staff/queue/board", location_id=str(visit["location"].id)).text
    assert "Insurance to review" not in board and "Card read unsure" not in board


def test_accepting_adds_a_policy_when_none_is_on_file(session, visit, desk, arrival, capture):
    page = desk.get(page_of(arrival)).text
    assert 'name="into" value="new"' in page and 'name="rank" value="primary"' in page
    form = card_form(into="new", rank="primary", effective_date="2026-01-01")
    assert desk.post(f"/staff/card-captures/{capture.id}/accept", form).status_code == 303
    session.expire_all()
    [policy] = session.get(Patient, visit["patient"].id).policies
    assert (policy.member_id, policy.copay_primary_care_cents) == ("W123", 2500)
    assert session.get(CardCapture, capture.id).policy_id == policy.id


def test_accepting_twice_says_the_card_was_decided_already(session, visit, desk, arrival, capture):
    form = card_form(into="new", rank="primary", effective_date="2026-01-01")
    path = f"/staff/card-captures/{capture.id}/accept"
    assert desk.post(path, form).status_code == 303
    again = desk.post(path, form)
    assert again.status_code == 409
    assert "This card was accepted already." in text_of(again.text)
    session.expire_all()
    assert len(session.get(Patient, visit["patient"].id).policies) == 1


def test_a_field_error_is_shown_beside_its_field_and_nothing_changes(
    session, visit, desk, arrival, capture
):
    policy = create_policy(session, visit["patient"], member_id="W999")
    version = policy.version
    form = card_form(payer_id="60-054!", copay_primary_care="twenty", into=str(policy.id))
    r = desk.post(f"/staff/card-captures/{capture.id}/accept", form)
    assert r.status_code == 422
    payer_id = re.search(rf'<input id="card-{capture.id}-payer_id"[^>]*>', r.text).group(0)
    assert 'aria-invalid="true"' in payer_id and 'value="60-054!"' in payer_id
    assert f'id="card-{capture.id}-payer_id-error"' in r.text
    page = text_of(r.text)
    assert "letters and digits only" in page and "enter an amount such as 25.00" in page
    session.expire_all()
    assert session.get(InsurancePolicy, policy.id).version == version
    assert session.get(CardCapture, capture.id).status == "to_review"
    assert flags_of(session, arrival) >= CARD_FLAGS


def test_a_refusal_from_the_registry_is_shown_by_field(session, visit, desk, arrival, capture):
    # No effective date for a new policy: the registry's own validation says so.
    form = card_form(into="new", rank="primary", effective_date="")
    r = desk.post(f"/staff/card-captures/{capture.id}/accept", form)
    assert r.status_code == 422
    assert f'id="card-{capture.id}-effective_date-error"' in r.text
    session.expire_all()
    assert session.get(Patient, visit["patient"].id).policies == []


def test_rejecting_the_card_clears_its_flags_and_writes_no_policy(
    session, visit, desk, arrival, capture
):
    r = desk.post(f"/staff/card-captures/{capture.id}/reject")
    assert r.status_code == 303
    session.expire_all()
    assert session.get(CardCapture, capture.id).status == "rejected"
    assert not CARD_FLAGS & flags_of(session, arrival)
    assert session.get(Patient, visit["patient"].id).policies == []
    assert "Rejected" in text_of(desk.get(page_of(arrival)).text)


def test_the_card_image_is_the_stored_bytes_and_its_reading_is_audited(
    session, desk, arrival, capture
):
    r = desk.get(f"/staff/card-captures/{capture.id}/front")
    assert r.status_code == 200
    assert r.content == base64.b64decode(JPEG)
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    [event] = audited(session, "card_captures.image.read")
    assert event.resource_id == str(capture.patient_id) and event.actor_role == "front_desk"


def test_a_nurse_can_look_but_not_decide(app, session, desk, arrival, capture):
    nurse = console_as(app, session, Role.NURSE)
    page = nurse.get(page_of(arrival))
    assert page.status_code == 200 and "Check this" in text_of(page.text)
    assert "Accept into policy" not in page.text and "/accept" not in page.text
    form = card_form(into="new", rank="primary", effective_date="2026-01-01")
    assert nurse.post(f"/staff/card-captures/{capture.id}/accept", form).status_code == 403
    assert nurse.post(f"/staff/card-captures/{capture.id}/reject").status_code == 403
    session.expire_all()
    assert session.get(CardCapture, capture.id).status == "to_review"


def test_signed_consents_show_their_version_hash_and_audited_image(
    client, principals, session, visit, desk
):
    document = consent_form(session)
    arrival = check_in_through_api(
        client, principals.kiosk(), visit, signatures=[signature(document)]
    )
    page = text_of(desk.get(page_of(arrival)).text)
    assert document.title in page and document.sha256 in page and "privacy" in page
    [signed] = session.exec(select(ConsentSignature)).all()
    r = desk.get(f"/staff/consent-signatures/{signed.id}/image")
    assert (r.status_code, r.content) == (200, base64.b64decode(PNG))
    assert audited(session, "consent_signatures.image.read")


@pytest.mark.parametrize("accept", [True, False])
def test_a_proposed_change_is_decided_from_the_page(
    client, principals, session, visit, desk, accept
):
    arrival = check_in_through_api(
        client, principals.kiosk(), visit, demographic_changes={"first_name": "Hattie"}
    )
    page = desk.get(page_of(arrival))
    assert re.search(r"First name\s*</th>\s*<td>Harriet</td>\s*<td>Hattie</td>", page.text)
    [change] = session.exec(select(DemographicChange)).all()
    verb = "accept" if accept else "reject"
    r = desk.post(f"/staff/demographic-changes/{change.id}/{verb}")
    assert (r.status_code, r.headers["location"]) == (303, page_of(arrival))
    session.expire_all()
    assert session.get(DemographicChange, change.id).status == f"{verb}ed"
    expected = "Hattie" if accept else "Harriet"
    assert session.get(Patient, visit["patient"].id).first_name == expected
    assert "demographics_pending" not in flags_of(session, arrival)
    again = desk.post(f"/staff/demographic-changes/{change.id}/{verb}")
    assert again.status_code == 409 and f"was {verb}ed already" in text_of(again.text)
