"""The billing worklists in the console: charges to review, held claims, denials and the A/R
aging, read from real billing data and worked through their forms, on both databases."""

from __future__ import annotations

import html
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from backoffice.audit.models import AuditEvent
from backoffice.billing import remittances
from backoffice.billing import service as billing_service
from backoffice.billing.models import (
    Charge,
    ChargeLine,
    ClaimBatch,
    ClaimRecord,
    Denial,
    DenialNote,
    Payer,
    Remittance,
)
from backoffice.billing.reference import explain_carc
from backoffice.billing.x12.validate import validate_x12
from backoffice.console.billing import fix_place
from backoffice.patients.models import Patient
from shared.enums import Role
from tests.fixtures.billing import (
    claim_payment_835,
    completed_visit,
    create_fee,
    create_payer,
    ready_claims,
    remittance_835,
    reviewed_charge,
    submitted_claim,
)
from tests.fixtures.builders import TEST_ACTOR
from tests.fixtures.console import ORIGIN, console_as, text_of

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


# --- making, sending and downloading claims --------------------------------------------------


def make_claims_from_the_console(console) -> None:
    response = console.post("/staff/billing/claims/make")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/billing/claims/ready"


@pytest.fixture
def reviewed(session, cipher, payer) -> Charge:
    """Katherine Johnson's visit a week ago, its charge reviewed: ready to claim."""
    visit = visit_of(session, cipher, first_name="Katherine", last_name="Johnson")
    return reviewed_charge(session, visit)


def only_claim(session) -> ClaimRecord:
    session.expire_all()
    return session.exec(select(ClaimRecord)).one()


def test_making_claims_lists_them_ready_with_the_counts(app, session, reviewed):
    console = console_as(app, session, Role.BILLING)
    make_claims_from_the_console(console)
    claim = only_claim(session)
    assert (claim.status, claim.rank, claim.frequency_code) == ("ready", "primary", "1")
    response = console.get("/staff/billing/claims/ready")
    assert response.status_code == 200
    text = words(response)
    assert "1 claim made: 1 ready, 0 held (0 to secondary payers)." in text
    served = reviewed.service_date.strftime("%-d %b %Y")
    assert (
        f"Katherine Johnson {served} Aetna primary {claim.patient_control_number} original "
        f"${NEW_VISIT_FEE // 100}.00"
    ) in text
    assert "Send ready claims" in text
    assert str(reviewed.patient_id) in audited_patients(session, "billing.claims.ready.list")


def test_a_charge_without_coverage_is_skipped_with_its_reason(app, session, cipher, payer):
    visit = completed_visit(session, cipher, insured=False, last_name="Earhart")
    reviewed_charge(session, visit)
    console = console_as(app, session, Role.BILLING)
    make_claims_from_the_console(console)
    text = words(console.get("/staff/billing/claims/ready"))
    assert (
        "0 claims made: 0 ready, 0 held (0 to secondary payers). 1 charge skipped: "
        "no active primary policy on the service date (1)."
    ) in text
    assert "No claims are ready to send" in text
    session.expire_all()
    assert session.exec(select(ClaimRecord)).all() == []


def test_the_home_links_the_ready_count_to_the_claims_to_send(app, session, reviewed):
    console = console_as(app, session, Role.BILLING)
    make_claims_from_the_console(console)
    response = console.get("/staff/billing")
    assert "1 claim ready for the next 837P batch" in words(response)
    assert 'href="/staff/billing/claims/ready"' in response.text
    assert "Johnson" not in response.text


def test_sending_puts_the_ready_claims_in_a_batch_whose_file_validates(app, session, reviewed):
    console = console_as(app, session, Role.BILLING)
    make_claims_from_the_console(console)
    response = console.post("/staff/billing/claims/submit")
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/billing/batches"
    claim = only_claim(session)
    batch = session.exec(select(ClaimBatch)).one()
    assert (claim.status, claim.batch_id) == ("submitted", batch.id)

    page = console.get("/staff/billing/batches")
    assert page.status_code == 200
    text = words(page)
    assert f"1 claim put in batch {batch.interchange_control_number}" in text
    assert f"{batch.interchange_control_number} {batch.file_name} 1 " in text
    assert f'href="/staff/billing/batches/{batch.id}/837p"' in page.text

    download = console.get(f"/staff/billing/batches/{batch.id}/837p")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/edi-x12")
    assert download.headers["content-disposition"] == f'attachment; filename="{batch.file_name}"'
    assert download.text == batch.content
    assert claim.patient_control_number in download.text
    assert validate_x12(download.text) == []
    assert [e.resource_id for e in audits(session, "billing.claim_batch.read")] == [str(batch.id)]


def test_batches_are_listed_newest_first(app, session, cipher, payer):
    console = console_as(app, session, Role.BILLING)
    for last_name in ("Hopper", "Lovelace"):
        reviewed_charge(session, visit_of(session, cipher, last_name=last_name))
        make_claims_from_the_console(console)
        assert console.post("/staff/billing/claims/submit").status_code == 303
    first, second = session.exec(
        select(ClaimBatch).order_by(col(ClaimBatch.interchange_control_number))
    ).all()
    text = words(console.get("/staff/billing/batches"))
    assert text.index(second.file_name) < text.index(first.file_name)


def test_a_refused_submission_is_shown_and_marks_nothing(app, session, reviewed, monkeypatch):
    console = console_as(app, session, Role.BILLING)
    make_claims_from_the_console(console)
    # Production files with the demo's billing NPI: the service refuses to build the batch.
    production = app.state.settings.model_copy(update={"billing_production": True})
    monkeypatch.setattr(app.state, "settings", production)
    response = console.post("/staff/billing/claims/submit")
    assert response.status_code == 400
    text = words(response)
    assert "The claims were not sent: billing_production is on but the billing NPI" in text
    assert "Katherine Johnson" in text  # the claim is still listed, to send once fixed
    assert only_claim(session).status == "ready"
    assert session.exec(select(ClaimBatch)).all() == []


def test_sending_with_no_claim_ready_sends_nothing(app, session):
    console = console_as(app, session, Role.BILLING)
    response = console.post("/staff/billing/claims/submit")
    assert response.status_code == 303
    assert "No claim is ready: nothing was sent." in words(
        console.get("/staff/billing/claims/ready")
    )
    session.expire_all()
    assert session.exec(select(ClaimBatch)).all() == []


def test_a_batch_not_on_file_is_not_found(app, session):
    console = console_as(app, session, Role.BILLING)
    response = console.get(f"/staff/billing/batches/{uuid.uuid4()}/837p")
    assert response.status_code == 404
    assert audits(session, "billing.claim_batch.read") == []


# --- posting an ERA --------------------------------------------------------------------------


def upload_era(console, content: str | bytes, name: str = "aetna.835"):
    """The upload form as the browser sends it: multipart, same origin, with its token."""
    return console.http.post(
        "/staff/billing/remittances",
        data={"csrf_token": console.csrf},
        files={"file": (name, content, "application/octet-stream")},
        headers={"Origin": ORIGIN},
    )


@pytest.fixture
def sent(app, session, reviewed) -> ClaimRecord:
    """The reviewed charge's claim, made and sent from the console."""
    console = console_as(app, session, Role.BILLING)
    make_claims_from_the_console(console)
    assert console.post("/staff/billing/claims/submit").status_code == 303
    return only_claim(session)


def era_paying(session, claim: ClaimRecord, **kwargs) -> str:
    charge = session.get(Charge, claim.charge_id)
    lines = list(
        session.exec(
            select(ChargeLine)
            .where(ChargeLine.charge_id == charge.id)
            .order_by(col(ChargeLine.line_number))
        )
    )
    return remittance_835(
        [claim_payment_835(claim, lines, service_date=charge.service_date)], **kwargs
    )


def test_an_uploaded_era_pays_the_claim_and_says_what_it_posted(app, session, sent):
    console = console_as(app, session, Role.BILLING)
    response = upload_era(console, era_paying(session, sent, trace="AET777"))
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/billing/remittances"
    session.expire_all()
    claim = session.get(ClaimRecord, sent.id)
    paid = NEW_VISIT_FEE * 65 // 100  # less 20 % contractual and 15 % coinsurance
    assert (claim.status, claim.paid_cents) == ("paid", paid)
    remittance = session.exec(select(Remittance)).one()
    assert (remittance.trace_number, remittance.payment_cents) == ("AET777", paid)
    assert remittance.imported_by is not None

    page = words(console.get("/staff/billing/remittances"))
    dollars = f"{Decimal(paid) / 100:.2f}"
    assert f"ERA posted: 1 remittance(s), {dollars} posted; 1 claim payment(s): 1 paid," in page
    assert f"ACME HEALTH PLAN AET777 ${dollars} 1 Dec 2025" in page
    [event] = audits(session, "billing.era.imported")
    assert event.detail["file"] == "aetna.835"


def test_a_truncated_era_is_refused_and_posts_nothing(app, session, sent):
    console = console_as(app, session, Role.BILLING)
    text = era_paying(session, sent)
    response = upload_era(console, text[: len(text) // 2])
    assert response.status_code == 400
    assert "Nothing was posted:" in words(response)
    session.expire_all()
    assert session.exec(select(Remittance)).all() == []
    assert session.get(ClaimRecord, sent.id).status == "submitted"


def test_the_same_era_twice_is_refused_the_second_time(app, session, sent):
    console = console_as(app, session, Role.BILLING)
    text = era_paying(session, sent)
    assert upload_era(console, text).status_code == 303
    again = upload_era(console, text, name="again.835")
    assert again.status_code == 409
    assert "Nothing was posted: this file was imported on" in words(again)
    session.expire_all()
    assert len(session.exec(select(Remittance)).all()) == 1


def test_an_era_that_does_not_balance_is_refused(app, session, sent):
    console = console_as(app, session, Role.BILLING)
    response = upload_era(console, era_paying(session, sent, payment=Decimal("1.00")))
    assert response.status_code == 409
    assert "Nothing was posted:" in words(response)
    session.expire_all()
    assert session.exec(select(Remittance)).all() == []


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.835", "the file is empty"),
        (b"  \n", "blank.835", "the file is empty"),
        ("ISA*00*Müller".encode("latin-1"), "latin1.835", "segment 1 (ISA)"),
        (b"", "", "choose the 835 file to post"),
    ],
)
def test_a_file_that_cannot_be_an_era_is_refused(app, session, content, name, message):
    console = console_as(app, session, Role.BILLING)
    response = upload_era(console, content, name=name)
    assert response.status_code == 400
    assert f"Nothing was posted: {message}" in words(response)
    session.expire_all()
    assert session.exec(select(Remittance)).all() == []


def test_a_file_over_64_mib_is_refused(app, session, monkeypatch):
    monkeypatch.setattr(remittances, "MAX_835_BYTES", 1024)
    console = console_as(app, session, Role.BILLING)
    response = upload_era(console, b"ISA" + b"*" * 1024)
    assert response.status_code == 400
    assert "the file is larger than 64 MiB" in words(response)


def test_posting_without_a_file_is_refused_on_the_page(app, session):
    console = console_as(app, session, Role.BILLING)
    response = console.post("/staff/billing/remittances")
    assert response.status_code == 400
    assert "Nothing was posted: choose the 835 file to post." in words(response)


# --- who may send and post -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/staff/billing/claims/ready", "/staff/billing/batches", "/staff/billing/remittances"]
)
def test_the_front_desk_cannot_open_the_sending_and_posting_pages(app, session, reviewed, path):
    response = console_as(app, session, Role.FRONT_DESK).get(path)
    assert response.status_code == 403
    assert "Johnson" not in response.text


@pytest.mark.parametrize("path", ["/staff/billing/claims/make", "/staff/billing/claims/submit"])
def test_the_front_desk_cannot_make_or_send_claims(app, session, reviewed, path):
    response = console_as(app, session, Role.FRONT_DESK).post(path)
    assert response.status_code == 403
    session.expire_all()
    assert session.exec(select(ClaimRecord)).all() == []


def test_the_front_desk_cannot_download_a_batch(app, session, sent):
    batch = session.exec(select(ClaimBatch)).one()
    response = console_as(app, session, Role.FRONT_DESK).get(
        f"/staff/billing/batches/{batch.id}/837p"
    )
    assert response.status_code == 403
    assert sent.patient_control_number not in response.text
    assert audits(session, "billing.claim_batch.read") == []


def test_the_front_desk_cannot_post_an_era(app, session, sent):
    response = upload_era(console_as(app, session, Role.FRONT_DESK), era_paying(session, sent))
    assert response.status_code == 403
    session.expire_all()
    assert session.exec(select(Remittance)).all() == []
    assert session.get(ClaimRecord, sent.id).status == "submitted"
