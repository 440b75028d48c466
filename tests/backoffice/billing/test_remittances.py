"""Importing an 835 into the books: the crafted remittance (payments with contractual and
patient adjustments, a denial, a reversal with its correction, a crossover, PLB interest and
recoupment) posted against claims built to match it, to the cent, in the database; a file
posts once; a damaged or unbalanced one posts nothing; denials to the worklist, appealed and
resubmitted as a replacement (7) or a void (8)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from backoffice.billing import remittances
from backoffice.billing.models import (
    ClaimRecord,
    Denial,
    DenialNote,
    Payer,
    Remittance,
    RemittanceEntry,
)
from backoffice.billing.posting import PostingImbalance
from backoffice.billing.reference import explain_carc
from backoffice.billing.x12.remit_835 import X12ReadError
from backoffice.payments import ledger
from backoffice.payments.models import LedgerEntry
from tests.conftest import bound_to
from tests.fixtures.billing import (
    BilledVisit,
    create_claims_for_crafted_835,
    remittance_835,
    submitted_claim,
)
from tests.fixtures.builders import TEST_ACTOR

CRAFTED = (Path(__file__).parents[2] / "data" / "x12" / "crafted_835_posting_cases.835").read_text()


@pytest.fixture
def app(module_app, connection):
    return bound_to(module_app, connection)


@pytest.fixture
def on_file(session: Session, cipher) -> dict[str, BilledVisit]:
    return create_claims_for_crafted_835(session, cipher)


@pytest.fixture
def imported(session: Session, on_file) -> remittances.ImportResult:
    result = remittances.import_835(session, TEST_ACTOR, CRAFTED, file_name="crafted.835")
    session.commit()
    return result


def claim(session: Session, number: str) -> ClaimRecord:
    return session.exec(
        select(ClaimRecord).where(ClaimRecord.patient_control_number == number)
    ).one()


def entries(session: Session, number: str | None = None) -> list[RemittanceEntry]:
    query = select(RemittanceEntry).order_by(col(RemittanceEntry.kind))
    if number is not None:
        query = query.where(RemittanceEntry.patient_control_number == number)
    return list(session.exec(query))


def count(session: Session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()


def test_the_remittance_posts_and_balances_to_the_cent_in_the_database(session, imported):
    [remittance] = session.exec(select(Remittance)).all()
    assert (remittance.trace_number, remittance.payer_name, remittance.payment_cents) == (
        "CHK100234",
        "ACME HEALTH PLAN",
        21325,
    )
    assert remittance.payment_date == date(2025, 12, 1)
    rows = entries(session)
    cash = sum(r.amount_cents for r in rows if r.kind in {"insurance_payment", "unmatched_payment"})
    taken = sum(r.amount_cents for r in rows if r.kind == "provider_adjustment")
    assert (cash, taken, cash - taken) == (26000, 4675, 21325)
    assert imported.summary() == (
        "1 remittance(s), 213.25 posted; 5 claim payment(s): 2 paid, 0 partly paid, "
        "1 denied, 1 forwarded, 1 reversed; 3 provider adjustment(s); 4 patient ledger line(s)"
    )


def test_a_paid_claim_carries_its_amounts_and_entries_per_line(session, imported):
    paid = claim(session, "PCN1001")
    assert (paid.status, paid.payer_claim_number) == ("paid", "PAYER1001")
    assert (paid.paid_cents, paid.adjusted_cents, paid.patient_responsibility_cents) == (
        16000,
        5500,
        3500,
    )
    assert paid.paid_cents + paid.adjusted_cents + paid.patient_responsibility_cents == (
        paid.total_cents
    )
    lines = {(e.kind, e.line_number, e.group_code, e.reason, e.amount_cents)
             for e in entries(session, "PCN1001")}  # fmt: skip
    assert lines == {
        ("insurance_payment", 1, None, None, 9000),
        ("insurance_payment", 2, None, None, 7000),
        ("adjustment", 1, "CO", "45", 2500),
        ("adjustment", 2, "CO", "45", 3000),
        ("patient_responsibility", 1, "PR", "1", 1000),
        ("patient_responsibility", 1, "PR", "2", 500),
        ("patient_responsibility", 1, "PR", "3", 2000),
    }
    assert all(e.claim_id == paid.id for e in entries(session, "PCN1001"))


def test_the_patients_share_goes_to_their_ledger_once_per_reason(session, on_file, imported):
    visit = on_file["PCN1001"]
    lines = ledger.lines(session, patient_id=visit.patient_id)
    assert sorted((line.entry.kind, line.entry.amount_cents) for line in lines) == [
        ("charge", 500),
        ("charge", 1000),
        ("charge", 2000),
    ]
    assert ledger.balance(session, patient_id=visit.patient_id) == 3500
    assert {line.entry.appointment_id for line in lines} == {visit.appointment_id}
    [deductible] = [line.entry for line in lines if line.entry.amount_cents == 1000]
    assert deductible.entry_key == "era:CHK100234:PCN1001:+:1:PR1"
    assert deductible.description.startswith("Your share after insurance (1: ")


def test_a_claim_with_a_line_left_unadjudicated_is_partly_paid(session, on_file):
    one_line = (
        "CLP*PCN1001*1*150.00*90.00*35.00*12*PAYER1001~SVC*HC:99213:25*150.00*90.00~"
        "DTM*472*20251110~CAS*CO*45*25.00~CAS*PR*1*35.00~REF*6R*PCN1001-1~"
    )
    result = remittances.import_835(session, TEST_ACTOR, remittance_835([one_line]))
    partly = claim(session, "PCN1001")
    assert (partly.status, partly.paid_cents, partly.total_cents) == ("partly_paid", 9000, 25000)
    assert result.partly_paid == 1
    [paid_line] = [e for e in entries(session, "PCN1001") if e.kind == "insurance_payment"]
    assert paid_line.line_number == 1  # found by our REF*6R


def test_a_reversal_reopens_and_its_correction_pays_again(session, on_file, imported):
    corrected = claim(session, "PCN0990")
    # On file: paid 150.00 with 50.00 written off by an earlier remittance.
    assert (corrected.paid_cents, corrected.adjusted_cents) == (13000, 5000)
    assert (corrected.patient_responsibility_cents, corrected.status) == (2000, "paid")
    assert corrected.payer_claim_number == "PAYER0990B"  # the correction's number
    paid = [e.amount_cents for e in entries(session, "PCN0990") if e.kind == "insurance_payment"]
    assert sorted(paid) == [-15000, 13000]
    assert ledger.balance(session, patient_id=on_file["PCN0990"].patient_id) == 2000


def test_a_reversal_alone_reopens_the_claim(session, on_file):
    reversal = (
        "CLP*PCN0990*22*-200.00*-150.00**12*PAYER0990~SVC*HC:99203*-200.00*-150.00~"
        "DTM*472*20251001~CAS*CO*45*-50.00~"
    )
    # The payer takes its money back: a debit (BPR03 D) of 150.00.
    remittances.import_835(session, TEST_ACTOR, remittance_835([reversal], credit_debit="D"))
    reopened = claim(session, "PCN0990")
    assert (reopened.status, reopened.paid_cents, reopened.adjusted_cents) == ("submitted", 0, 0)


def test_a_reversed_patient_share_is_credited_back_on_the_ledger(session, cipher, on_file):
    payer = session.get(Payer, session.get(ClaimRecord, on_file["PCN1001"].claim_id).payer_key)
    visit = submitted_claim(
        session, cipher, payer, number="PCN2000", on=date(2025, 10, 2),
        lines=(("99213", (), 20000),), paid_cents=15000, adjusted_cents=3000,
        patient_responsibility_cents=2000, status="paid", payer_claim_number="PAYER2000",
    )  # fmt: skip
    reversal = (
        "CLP*PCN2000*22*-200.00*-150.00*-20.00*12*PAYER2000~SVC*HC:99213*-200.00*-150.00~"
        "DTM*472*20251002~CAS*CO*45*-30.00~CAS*PR*2*-20.00~"
    )
    remittances.import_835(session, TEST_ACTOR, remittance_835([reversal], credit_debit="D"))
    reopened = session.get(ClaimRecord, visit.claim_id)
    assert (reopened.paid_cents, reopened.adjusted_cents) == (0, 0)
    assert (reopened.patient_responsibility_cents, reopened.status) == (0, "submitted")
    [credit] = [line.entry for line in ledger.lines(session, patient_id=visit.patient_id)]
    assert (credit.kind, credit.amount_cents) == ("adjustment", -2000)
    assert credit.entry_key == "era:CHK200001:PCN2000:-:1:PR2"


def test_a_file_with_one_bad_remittance_posts_none_of_its_remittances(session, on_file):
    good = CRAFTED[CRAFTED.index("ST*835") : CRAFTED.index("GE*1*101")]
    bad = good.replace("BPR*I*213.25*", "BPR*I*1.00*").replace("CHK100234", "CHK100235")
    envelope_end = CRAFTED.index("ST*835")
    two = CRAFTED[:envelope_end] + good + bad + "GE*2*101~IEA*1*000000101~\n"
    with pytest.raises(PostingImbalance, match="CHK100235 does not balance"):
        remittances.import_835(session, TEST_ACTOR, two)
    assert (count(session, Remittance), count(session, RemittanceEntry)) == (0, 0)
    assert claim(session, "PCN1001").status == "submitted"


def test_a_crossover_is_forwarded_and_bills_the_patient_nothing(session, on_file, imported):
    forwarded = claim(session, "PCN1003")
    assert (forwarded.status, forwarded.paid_cents, forwarded.adjusted_cents) == (
        "forwarded",
        12000,
        3000,
    )
    assert forwarded.patient_responsibility_cents == 0
    [crossover] = [e for e in entries(session, "PCN1003") if e.kind == "crossover"]
    assert (crossover.amount_cents, crossover.note) == (3000, "MEDIGAP SECONDARY")
    assert ledger.lines(session, patient_id=on_file["PCN1003"].patient_id) == []


def test_provider_adjustments_post_with_no_claim(session, imported):
    found = [(e.reason, e.note, e.amount_cents, e.claim_id) for e in entries(session)
             if e.kind == "provider_adjustment"]  # fmt: skip
    assert sorted(found) == [
        ("FB", "FWD2025Q3", 1000, None),
        ("L6", "PAYER1003", -325, None),
        ("WO", "PAYER0500", 4000, None),
    ]


def test_the_same_file_is_refused_and_posts_nothing_more(session, imported):
    before = (count(session, RemittanceEntry), count(session, LedgerEntry))
    with pytest.raises(remittances.AlreadyImported, match="this file was imported on"):
        remittances.import_835(session, TEST_ACTOR, CRAFTED)
    assert (count(session, RemittanceEntry), count(session, LedgerEntry)) == before


def test_the_same_payment_in_another_file_is_refused(session, imported):
    resent = CRAFTED.replace("*000000101*0*T*", "*000000102*0*T*").replace(
        "IEA*1*000000101", "IEA*1*000000102"
    )
    with pytest.raises(remittances.AlreadyImported, match="trace CHK100234 from ACME"):
        remittances.import_835(session, TEST_ACTOR, resent)
    assert count(session, Remittance) == 1


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        (
            lambda text: text[: text.index("CAS*CO*50*120.00") + 8],
            X12ReadError,
            "segment 29 (CAS): truncated (the file ends inside it)",
        ),
        (
            lambda text: text.replace("*250.00*160.00*", "*250.00*16O.00*"),
            X12ReadError,
            "segment 14 (CLP): CLP04 '16O.00' is not an amount",
        ),
        (
            lambda text: text.replace("BPR*I*213.25*", "BPR*I*213.26*"),
            PostingImbalance,
            "come to 213.25, its payment is 213.26. Nothing was posted.",
        ),
    ],
    ids=["truncated", "malformed", "unbalanced"],
)
def test_a_bad_file_posts_nothing(session, on_file, damage, error, message):
    with pytest.raises(error) as refused:
        remittances.import_835(session, TEST_ACTOR, damage(CRAFTED))
    assert message in refused.value.detail
    session.commit()
    assert [count(session, t) for t in (Remittance, RemittanceEntry, Denial, LedgerEntry)] == [
        0,
        0,
        0,
        0,
    ]
    assert claim(session, "PCN1001").status == "submitted"


def test_a_denial_lands_on_the_worklist_grouped_by_reason_and_explained(session, imported):
    denied = claim(session, "PCN1002")
    assert (denied.status, denied.paid_cents, denied.adjusted_cents) == ("denied", 0, 0)
    [group] = remittances.denial_worklist(session)
    assert (group.reason, group.charge_cents) == ("50", 12000)
    assert group.explanation == explain_carc("50")
    [item] = group.items
    assert (item.patient_control_number, item.payer_claim_number, item.status) == (
        "PCN1002",
        "PAYER1002",
        "open",
    )
    assert (item.reasons, item.remarks, item.notes) == (("50",), ("M127",), 0)


def test_an_appeal_note_keeps_the_denial_on_the_worklist_as_appealed(session, imported):
    [group] = remittances.denial_worklist(session)
    denial_id = group.items[0].denial_id
    remittances.add_note(session, TEST_ACTOR, denial_id=denial_id, body="Called payer, ref 55")
    remittances.add_note(
        session, TEST_ACTOR, denial_id=denial_id, body="Appeal sent with notes", appeal=True
    )
    [group] = remittances.denial_worklist(session)
    assert (group.items[0].status, group.items[0].notes) == ("appealed", 2)
    bodies = session.exec(select(DenialNote.body).where(DenialNote.denial_id == denial_id)).all()
    assert sorted(bodies) == ["Appeal sent with notes", "Called payer, ref 55"]


@pytest.mark.parametrize(
    ("frequency", "old_status", "new_number", "denial_status"),
    [("7", "replaced", "PCN1002R1", "resubmitted"), ("8", "void", "PCN1002V1", "voided")],
    ids=["replacement", "void"],
)
def test_a_denied_claim_is_resubmitted_quoting_the_payers_claim_number(
    session, imported, frequency, old_status, new_number, denial_status
):
    [group] = remittances.denial_worklist(session)
    denial_id = group.items[0].denial_id
    new = remittances.resubmit(session, TEST_ACTOR, denial_id=denial_id, frequency_code=frequency)
    old = claim(session, "PCN1002")
    assert (new.patient_control_number, new.frequency_code, new.status) == (
        new_number,
        frequency,
        "ready",
    )
    assert (new.replaces_claim_id, new.payer_claim_number) == (old.id, "PAYER1002")
    assert (new.charge_id, new.total_cents) == (old.charge_id, 12000)
    assert old.status == old_status
    assert session.get(Denial, denial_id).status == denial_status
    assert remittances.denial_worklist(session) == []
    with pytest.raises(remittances.Conflict, match=f"already {denial_status}"):
        remittances.resubmit(session, TEST_ACTOR, denial_id=denial_id, frequency_code="7")


def test_a_payment_for_a_claim_not_on_file_is_held_and_still_balances(session, on_file):
    session.delete(session.get(ClaimRecord, on_file["PCN1003"].claim_id))
    session.commit()
    result = remittances.import_835(session, TEST_ACTOR, CRAFTED)
    [held] = [e for e in entries(session, "PCN1003")]
    assert (held.kind, held.amount_cents, held.claim_id) == ("unmatched_payment", 12000, None)
    assert result.unmatched == 1
