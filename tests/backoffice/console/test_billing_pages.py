"""The billing worklists in the console: charges to review, held claims, denials and the A/R
aging, read from real billing data and worked through their forms, on both databases."""

from __future__ import annotations

import html
import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from backoffice.audit.models import AuditEvent
from backoffice.billing import remittances
from backoffice.billing import service as billing_service
from backoffice.billing.models import Charge, ChargeLine, ClaimRecord, Denial, DenialNote, Payer
from backoffice.billing.reference import explain_carc
from backoffice.console.billing import fix_place
from backoffice.patients.models import Patient
from shared.enums import Role
from tests.fixtures.billing import (
    completed_visit,
    create_fee,
    create_payer,
    ready_claims,
    remittance_835,
    reviewed_charge,
    submitted_claim,
)
from tests.fixtures.builders import TEST_ACTOR
from tests.fixtures.console import console_as, text_of

NEW_VISIT_FEE = 16000  # 99203: a new patient's 30-minute visit
DENIED_NUMBER = "PCN7001"
DENIAL_835 = remittance_835(
    [
        f"CLP*{DENIED_NUMBER}*4*120.00*0.00**12*PAYER7001~SVC*HC:99214*120.00*0.00~"
        "CAS*CO*50*120.00~LQ*HE*M127~"
    ]
)


def words(response) -> str:
    return html.unescape(text_of(response.text))


def audits(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.seq))
        )
    )


def audited_patients(session, action: str) -> set[str]:
    return {p for event in audits(session, action) for p in event.detail["patient_ids"]}


# --- the data the pages show ---------------------------------------------------------------


@pytest.fixture
def payer(session) -> Payer:
    payer = create_payer(session)  # Aetna, 60054: the payer on the builders' policies
    create_fee(session, "99203", NEW_VISIT_FEE, effective_from=date(2020, 1, 1))
    return payer


def visit_of(session, cipher, *, days_ago: int = 7, **patient_fields):
    return completed_visit(
        session,
        cipher,
        on=date.today() - timedelta(days=days_ago),
        policy={"effective_date": date(2020, 1, 1)},
        **patient_fields,
    )


@pytest.fixture
def draft(session, cipher, payer) -> Charge:
    visit = visit_of(session, cipher, first_name="Harriet", last_name="Quimby")
    charge = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=("E11.9", "I10")
    )
    session.commit()
    return charge


@pytest.fixture
def held_claim(session, cipher, payer) -> ClaimRecord:
    """A claim past Aetna's 90-day filing limit: the scrubber holds it."""
    visit = visit_of(session, cipher, days_ago=120, first_name="Bessie", last_name="Coleman")
    reviewed_charge(session, visit)
    [claim] = ready_claims(session)
    assert claim.status == "held"
    return claim


@pytest.fixture
def denial(session, cipher, payer) -> Denial:
    """A claim for a visit ten days ago that Aetna denied (CARC 50, remark M127)."""
    submitted_claim(
        session,
        cipher,
        payer,
        number=DENIED_NUMBER,
        on=date.today() - timedelta(days=10),
        lines=(("99214", (), 12000),),
    )
    remittances.import_835(session, TEST_ACTOR, DENIAL_835)
    session.commit()
    return session.exec(select(Denial)).one()


def patient_of(session, charge_id) -> Patient:
    charge = session.get(Charge, charge_id)
    return session.get(Patient, charge.patient_id)


def claim_numbered(session, number: str) -> ClaimRecord | None:
    session.expire_all()
    return session.exec(
        select(ClaimRecord).where(ClaimRecord.patient_control_number == number)
    ).first()


# --- the billing home ----------------------------------------------------------------------


def test_the_home_counts_each_worklist_and_totals_the_ar(app, session, draft, held_claim, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.get("/staff/billing")
    assert response.status_code == 200
    text = words(response)
    assert "1 draft charge waiting for review" in text
    assert "1 claim held until something is fixed" in text
    assert "The charge, line 1 1" in text  # where the held claim's finding is fixed, once
    assert "0 claims ready for the next 837P batch" in text
    assert f"50 {explain_carc('50')} 1 $120.00" in text  # the open denials by reason
    assert "Total A/R: $120.00" in text
    # Counts only: the home page names no patient, so it reads no PHI.
    assert "Quimby" not in text and "Coleman" not in text


def test_the_nav_offers_billing_only_to_those_who_may_read_it(app, session):
    billing = console_as(app, session, Role.BILLING).get("/staff/queue")
    front_desk = console_as(app, session, Role.FRONT_DESK).get("/staff/queue")
    assert 'href="/staff/billing"' in billing.text
    assert 'href="/staff/billing"' not in front_desk.text


# --- charges to review ---------------------------------------------------------------------


def test_draft_charges_are_listed_with_their_lines_and_the_read_is_audited(app, session, draft):
    console = console_as(app, session, Role.BILLING)
    response = console.get("/staff/billing/charges")
    assert response.status_code == 200
    text = words(response)
    [line] = session.exec(select(ChargeLine).where(ChargeLine.charge_id == draft.id)).all()
    assert "Harriet Quimby" in text
    assert f"seen {draft.service_date.strftime('%-d %b %Y')} by" in text
    assert "E11.9" in text and "I10" in text
    assert line.procedure_code == "99203"
    assert f"1 99203 — 1 1, 2 ${NEW_VISIT_FEE // 100}.00" in text
    assert "Mark reviewed" in text
    assert str(draft.patient_id) in audited_patients(session, "billing.charges.list")


def test_mark_reviewed_makes_the_charge_reviewed_by_the_signed_in_user(app, session, draft):
    console = console_as(app, session, Role.BILLING)
    response = console.post(f"/staff/billing/charges/{draft.id}/review")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/billing/charges"
    session.expire_all()
    charge = session.get(Charge, draft.id)
    assert charge.status == "reviewed" and charge.reviewed_by is not None
    page = words(console.get("/staff/billing/charges"))
    assert "Charge marked reviewed" in page
    assert "No draft charges" in page


def test_reviewing_a_charge_twice_shows_why_without_failing(app, session, draft):
    console = console_as(app, session, Role.BILLING)
    assert console.post(f"/staff/billing/charges/{draft.id}/review").status_code == 303
    again = console.post(f"/staff/billing/charges/{draft.id}/review")
    assert again.status_code == 409
    assert "the charge is reviewed, not a draft" in words(again)


# --- held claims ---------------------------------------------------------------------------


def test_held_claims_show_each_finding_and_where_to_fix_it(app, session, held_claim):
    console = console_as(app, session, Role.BILLING)
    response = console.get("/staff/billing/claims/held")
    assert response.status_code == 200
    text = words(response)
    [finding] = held_claim.findings
    assert "Bessie Coleman" in text
    assert held_claim.patient_control_number in text
    assert finding["message"] in text
    assert "The charge, line 1" in text
    patient = patient_of(session, held_claim.charge_id)
    assert str(patient.id) in audited_patients(session, "billing.claims.held.list")


def test_scrubbing_again_after_the_fix_makes_the_claim_ready(app, session, held_claim, payer):
    console = console_as(app, session, Role.BILLING)
    payer.timely_filing_days = 365  # the payer's contract allows a year after all
    session.add(payer)
    session.commit()
    response = console.post(f"/staff/billing/claims/{held_claim.id}/rescrub")
    assert response.status_code == 303
    claim = claim_numbered(session, held_claim.patient_control_number)
    assert (claim.status, claim.findings) == ("ready", [])
    assert [e.resource_id for e in audits(session, "billing.claim.rescrubbed")] == [str(claim.id)]
    assert "the claim is ready to submit" in words(console.get("/staff/billing/claims/held"))


def test_scrubbing_a_claim_that_is_not_held_or_ready_is_refused_on_the_page(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.post(f"/staff/billing/claims/{denial.claim_id}/rescrub")
    assert response.status_code == 409
    assert "the claim is denied: only a ready or held claim is scrubbed again" in words(response)


@pytest.mark.parametrize(
    ("where", "kind", "place"),
    [
        ("coverage.subscriber.member_id", "coverage", "insurance policy (the subscriber)"),
        ("coverage.payer.identifier", "coverage", "the payer directory"),
        ("patient.address", "patient", "the patient's record"),
        ("lines[2].modifiers[0]", "charge", "the charge, line 3"),
        ("lines[0].rendering_provider.npi", "provider", "clinic set-up (line 1)"),
        ("billing_provider.address.postal_code", "billing_provider", "billing settings"),
        ("diagnoses[1]", "diagnoses", "the charge's diagnoses"),
        ("something_new", "claim", "the claim"),
    ],
)
def test_each_finding_says_where_in_frontdesk_it_is_fixed(where, kind, place):
    found_kind, words_ = fix_place(where)
    assert found_kind == kind
    assert place in words_


# --- denials -------------------------------------------------------------------------------


def test_denials_are_grouped_by_reason_and_explained(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.get("/staff/billing/denials")
    assert response.status_code == 200
    text = words(response)
    claim = session.get(ClaimRecord, denial.claim_id)
    patient = patient_of(session, claim.charge_id)
    explanation = explain_carc("50")
    assert f"Reason 50 {explanation} · 1 denial, $120.00 billed" in text
    assert f"{patient.first_name} {patient.last_name}" in text
    assert f"claim {DENIED_NUMBER} (payer's number PAYER7001)" in text
    assert "M127" in text
    assert str(patient.id) in audited_patients(session, "billing.denials.list")


def test_a_note_is_stored_on_the_denial(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.post(
        f"/staff/billing/denials/{denial.id}/notes", {"body": "Called Aetna, ref 55"}
    )
    assert response.status_code == 303
    session.expire_all()
    [note] = session.exec(select(DenialNote).where(DenialNote.denial_id == denial.id)).all()
    assert note.body == "Called Aetna, ref 55" and note.created_by is not None
    assert session.get(Denial, denial.id).status == "open"
    assert "Called Aetna, ref 55" in words(console.get("/staff/billing/denials"))


def test_an_appeal_note_marks_the_denial_appealed(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.post(
        f"/staff/billing/denials/{denial.id}/notes",
        {"body": "Appeal sent with the notes", "appeal": "on"},
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Denial, denial.id).status == "appealed"


def test_an_empty_note_is_refused_on_the_page(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.post(f"/staff/billing/denials/{denial.id}/notes", {"body": "  "})
    assert response.status_code == 400
    assert "The note was not saved: a note needs some text" in words(response)
    session.expire_all()
    assert session.exec(select(DenialNote)).all() == []


def test_resubmitting_as_a_replacement_makes_the_r1_claim(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.post(f"/staff/billing/denials/{denial.id}/resubmit", {"frequency_code": "7"})
    assert response.status_code == 303
    new = claim_numbered(session, f"{DENIED_NUMBER}R1")
    assert new is not None
    assert (new.frequency_code, new.status, new.payer_claim_number) == ("7", "ready", "PAYER7001")
    assert session.get(ClaimRecord, denial.claim_id).status == "replaced"
    page = words(console.get("/staff/billing/denials"))
    assert f"Replacement claim {DENIED_NUMBER}R1 made" in page
    assert "No open denials" in page


def test_resubmitting_twice_shows_why_without_failing(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    path = f"/staff/billing/denials/{denial.id}/resubmit"
    assert console.post(path, {"frequency_code": "7"}).status_code == 303
    again = console.post(path, {"frequency_code": "8"})
    assert again.status_code == 409
    assert "Nothing was resubmitted: this denial is already resubmitted" in words(again)
    assert claim_numbered(session, f"{DENIED_NUMBER}V1") is None


def test_a_void_makes_the_v1_claim(app, session, denial):
    console = console_as(app, session, Role.ADMIN)
    response = console.post(f"/staff/billing/denials/{denial.id}/resubmit", {"frequency_code": "8"})
    assert response.status_code == 303
    new = claim_numbered(session, f"{DENIED_NUMBER}V1")
    assert (new.frequency_code, new.status) == ("8", "ready")
    assert session.get(ClaimRecord, denial.claim_id).status == "void"


# --- A/R -----------------------------------------------------------------------------------


def test_the_ar_aging_shows_open_amounts_by_payer_and_by_patient(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.get("/staff/billing/ar")
    assert response.status_code == 200
    text = words(response)
    claim = session.get(ClaimRecord, denial.claim_id)
    patient = patient_of(session, claim.charge_id)
    # Ten days old: all of it in the first bucket.
    assert "Aetna $120.00 $0.00 $0.00 $0.00 $0.00 $120.00" in text
    assert f"{patient.mrn} $120.00 $0.00 $0.00 $0.00 $0.00 $120.00" in text
    assert "0-30 days 31-60 days 61-90 days 91-120 days 120+ days" in text
    assert str(patient.id) in audited_patients(session, "billing.ar.read")


def test_the_ar_aging_as_of_an_earlier_date_ages_less(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    before = (date.today() - timedelta(days=30)).isoformat()
    text = words(console.get("/staff/billing/ar", as_of=before))
    assert "Total A/R $0.00" in text  # the visit had not happened yet


def test_a_date_that_is_not_one_is_said_so(app, session, denial):
    console = console_as(app, session, Role.BILLING)
    response = console.get("/staff/billing/ar", as_of="yesterday")
    assert response.status_code == 422
    assert "That is not a date" in words(response)


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/staff/billing",
        "/staff/billing/charges",
        "/staff/billing/claims/held",
        "/staff/billing/denials",
        "/staff/billing/ar",
    ],
)
def test_the_front_desk_cannot_open_billing_pages(app, session, draft, path):
    response = console_as(app, session, Role.FRONT_DESK).get(path)
    assert response.status_code == 403
    assert "Harriet" not in response.text


def test_the_front_desk_cannot_work_a_denial(app, session, denial):
    console = console_as(app, session, Role.FRONT_DESK)
    response = console.post(f"/staff/billing/denials/{denial.id}/resubmit", {"frequency_code": "7"})
    assert response.status_code == 403
    assert claim_numbered(session, f"{DENIED_NUMBER}R1") is None


def test_a_charge_not_on_file_is_not_found(app, session):
    console = console_as(app, session, Role.BILLING)
    response = console.post(f"/staff/billing/charges/{uuid.uuid4()}/review")
    assert response.status_code == 404
    assert "no such charge" in words(response)
