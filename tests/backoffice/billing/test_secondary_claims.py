"""Secondary claims from the database: once the primary payer's 835 is posted, a claim to the
patient's secondary payer carrying the primary's adjudication (loops 2320 and 2430), that
pyx12 accepts; and a replacement for a denied claim scrubbed again before it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from backoffice.billing import remittances, statements
from backoffice.billing import service as billing_service
from backoffice.billing.claim import Adjustment, LineAdjudication
from backoffice.billing.models import Charge, ChargeLine, ClaimRecord, Payer
from backoffice.billing.service import ProcedureLine
from backoffice.billing.x12.validate import validate_x12
from backoffice.payments import ledger
from tests.fixtures.billing import (
    Visit,
    claim_payment_835,
    completed_visit,
    create_claims_for_crafted_835,
    create_payer,
    create_standard_fees,
    remittance_835_paid_on,
    reviewed_charge,
    secondary_coverage,
)
from tests.fixtures.builders import TEST_ACTOR

TODAY = date.today()
SERVED = TODAY - timedelta(days=20)
PAID_ON = TODAY - timedelta(days=5)
CRAFTED = (Path(__file__).parents[2] / "data" / "x12" / "crafted_835_posting_cases.835").read_text()


@pytest.fixture
def aetna(session: Session) -> Payer:
    """The primary payer in the directory, and the practice's standard fees."""
    payer = create_payer(session)
    create_standard_fees(session)
    return payer


@dataclass
class Billed:
    visit: Visit
    primary: ClaimRecord
    lines: list[ChargeLine]


def _billed_to_aetna(
    session: Session, cipher, tmp_path: Path, *, secondary: bool = True, **coverage
) -> Billed:
    """A visit (an office visit and a venipuncture) billed to Aetna and sent; the patient
    has a secondary policy with Lakeside Health unless `secondary` is False."""
    visit = completed_visit(session, cipher, on=SERVED)
    if secondary:
        secondary_coverage(session, visit.patient, **coverage)
    charge = reviewed_charge(session, visit, procedures=[ProcedureLine("36415")])
    [primary] = billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims
    assert (primary.rank, primary.status) == ("primary", "ready")
    sent = billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path / "primary")
    assert sent is not None
    session.commit()
    lines = list(
        session.exec(
            select(ChargeLine)
            .where(ChargeLine.charge_id == charge.id)
            .order_by(col(ChargeLine.line_number))
        )
    )
    return Billed(visit, primary, lines)


def _post(session: Session, billed: Billed, *payments: str, trace: str = "AET000001") -> None:
    text = remittance_835_paid_on(list(payments), PAID_ON, trace=trace)
    remittances.import_835(session, TEST_ACTOR, text)
    session.commit()


def _paid(session: Session, billed: Billed, **kwargs) -> None:
    """Aetna pays each line its fee less CO-45 20 % and PR-2 15 %."""
    _post(session, billed, claim_payment_835(billed.primary, billed.lines, service_date=SERVED,
                                             **kwargs))  # fmt: skip


def _secondaries(session: Session) -> list[ClaimRecord]:
    return list(session.exec(select(ClaimRecord).where(ClaimRecord.rank == "secondary")))


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


def test_a_paid_primary_with_a_patients_share_makes_a_secondary_claim(
    session, cipher, aetna, tmp_path
):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed)
    assert session.get(ClaimRecord, billed.primary.id).status == "paid"
    made = billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    [secondary] = made.claims
    lakeside = session.exec(select(Payer).where(Payer.payer_id == "LKS01")).one()
    assert (secondary.rank, secondary.status, secondary.findings) == ("secondary", "ready", [])
    assert (secondary.payer_key, secondary.charge_id) == (lakeside.id, billed.primary.charge_id)
    assert secondary.total_cents == billed.primary.total_cents == 16000 + 1500
    assert secondary.policy_id != billed.primary.policy_id
    assert secondary.patient_control_number != billed.primary.patient_control_number
    assert (made.ready, made.held, made.secondary) == (1, 0, 1)


def test_the_secondary_claim_carries_the_primarys_adjudication_by_line(
    session, cipher, aetna, tmp_path
):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed)
    [secondary] = billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims
    claim = billing_service.claim_for(session, secondary)
    assert (claim.coverage.payer.identifier, claim.coverage.payer_responsibility) == ("LKS01", "S")
    [other] = claim.other_payers
    assert (other.coverage.payer.identifier, other.coverage.payer_responsibility) == ("60054", "P")
    assert other.coverage.subscriber.member_id == billed.visit.policy.member_id
    # 160.00: 32.00 contractual, 24.00 coinsurance, 104.00 paid; 15.00: 3.00, 2.25, 9.75.
    assert (other.paid, other.paid_on, other.adjustments) == (Decimal("113.75"), PAID_ON, ())
    assert other.remaining_patient_liability == Decimal("26.25")
    visit_line, draw_line = claim.lines
    assert visit_line.adjudications == (
        LineAdjudication(
            payer_identifier="60054",
            procedure_code=visit_line.procedure_code,
            paid=Decimal("104.00"),
            units=Decimal("1"),
            paid_on=PAID_ON,
            adjustments=(
                Adjustment("CO", "45", Decimal("32.00")),
                Adjustment("PR", "2", Decimal("24.00")),
            ),
        ),
    )
    [draw] = draw_line.adjudications
    assert (draw.procedure_code, draw.paid) == ("36415", Decimal("9.75"))


def test_the_secondary_837p_passes_pyx12_with_the_cob_loops(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed)
    billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    sent = billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path / "secondary")
    assert sent is not None and sent.claim_count == 1
    text = sent.path.read_text(encoding="ascii")
    assert validate_x12(text) == []
    segments = [segment.strip() for segment in text.split("~")]
    paid_on = f"{PAID_ON:%Y%m%d}"
    assert "SBR*S*18" in [s[:8] for s in segments]  # the claim goes to the secondary
    assert "SBR*P*18" in [s[:8] for s in segments]  # loop 2320: the primary
    assert "AMT*D*113.75" in segments
    assert "AMT*EAF*26.25" in segments
    assert any(s.startswith("NM1*PR*2*AETNA*****PI*60054") for s in segments)
    first_line = segments.index(next(s for s in segments if s.startswith("SVD*60054*104*")))
    assert segments[first_line + 1 : first_line + 4] == [
        "CAS*CO*45*32",
        "CAS*PR*2*24",
        f"DTP*573*D8*{paid_on}",
    ]
    assert any(s.startswith("SVD*60054*9.75*HC:36415") for s in segments)
    assert segments.count(f"DTP*573*D8*{paid_on}") == 2  # one per line, none for the claim
    assert session.get(ClaimRecord, billed.primary.id).status == "paid"


def test_a_partly_paid_primary_makes_a_secondary_claim_too(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    only_the_visit = claim_payment_835(billed.primary, billed.lines[:1], service_date=SERVED)
    # The CLP bills the claim's whole charge; the venipuncture is left unadjudicated.
    only_the_visit = only_the_visit.replace("*1*160.00*", "*1*175.00*", 1)
    _post(session, billed, only_the_visit)
    assert session.get(ClaimRecord, billed.primary.id).status == "partly_paid"
    [secondary] = billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims
    claim = billing_service.claim_for(session, secondary)
    assert [len(line.adjudications) for line in claim.lines] == [1, 0]
    assert (secondary.status, claim.other_payers[0].paid) == ("ready", Decimal("104.00"))


def test_a_claim_the_primary_forwarded_gets_no_secondary_claim(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed, status="19")  # processed and crossed over to the next payer
    assert session.get(ClaimRecord, billed.primary.id).status == "forwarded"
    made = billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    assert (made.claims, _secondaries(session)) == ([], [])


def test_a_patient_without_a_secondary_policy_gets_no_secondary_claim(
    session, cipher, aetna, tmp_path
):
    billed = _billed_to_aetna(session, cipher, tmp_path, secondary=False)
    _paid(session, billed)
    assert billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims == []
    assert _secondaries(session) == []


def test_a_secondary_policy_ended_before_the_visit_gets_no_secondary_claim(
    session, cipher, aetna, tmp_path
):
    billed = _billed_to_aetna(session, cipher, tmp_path, end_date=SERVED - timedelta(days=1))
    _paid(session, billed)
    assert billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims == []


def test_a_primary_that_left_the_patient_nothing_gets_no_secondary_claim(
    session, cipher, aetna, tmp_path
):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed, coinsurance_percent=0)
    assert session.get(ClaimRecord, billed.primary.id).patient_responsibility_cents == 0
    assert billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims == []


def test_a_secondary_payer_not_in_the_directory_is_left_for_staff(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path, in_directory=False)
    _paid(session, billed)
    made = billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    assert made.claims == []
    assert made.skipped == [
        (billed.primary.charge_id, "secondary payer id LKS01 is not in the payer directory")
    ]


def test_making_claims_twice_makes_one_secondary_claim(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed)
    first = billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    session.commit()
    second = billing_service.make_claims(session, TEST_ACTOR, today=TODAY)
    assert (len(first.claims), second.claims) == (1, [])
    assert len(_secondaries(session)) == 1


def test_a_reversal_and_its_correction_are_netted(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed, contractual_percent=30, payer_claim_number="AET0001")
    # The payer takes back its first answer (status 22) and pays again with 20 % written off.
    reversal = claim_payment_835(
        billed.primary,
        billed.lines,
        service_date=SERVED,
        status="22",
        contractual_percent=30,
        payer_claim_number="AET0001",
        sign=-1,
    )
    correction = claim_payment_835(billed.primary, billed.lines, service_date=SERVED,
                                   payer_claim_number="AET0001B")  # fmt: skip
    _post(session, billed, reversal, correction, trace="AET000002")
    primary = session.get(ClaimRecord, billed.primary.id)
    assert (primary.status, primary.paid_cents, primary.patient_responsibility_cents) == (
        "paid",
        11375,
        2625,
    )
    [secondary] = billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims
    claim = billing_service.claim_for(session, secondary)
    assert claim.other_payers[0].paid == Decimal("113.75")
    assert claim.other_payers[0].remaining_patient_liability == Decimal("26.25")
    assert [(a.paid, a.adjustments) for line in claim.lines for a in line.adjudications] == [
        (
            Decimal("104.00"),
            (Adjustment("CO", "45", Decimal("32.00")), Adjustment("PR", "2", Decimal("24.00"))),
        ),
        (
            Decimal("9.75"),
            (Adjustment("CO", "45", Decimal("3.00")), Adjustment("PR", "2", Decimal("2.25"))),
        ),
    ]
    assert secondary.status == "ready"


def test_a_reversed_primary_leaves_the_secondary_claim_held(session, cipher, aetna, tmp_path):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed)
    [secondary] = billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims
    session.commit()
    reversal = claim_payment_835(billed.primary, billed.lines, service_date=SERVED, status="22",
                                 payer_claim_number="AET0001", sign=-1)  # fmt: skip
    text = remittance_835_paid_on([reversal], PAID_ON, trace="AET000003", credit_debit="D")
    remittances.import_835(session, TEST_ACTOR, text)
    billing_service.rescrub(session, secondary, today=TODAY)
    assert secondary.status == "held"
    assert [f["code"] for f in secondary.findings] == ["other-payer-missing"]


# --- a replacement is scrubbed again ----------------------------------------------------------


def test_a_replacement_for_a_charge_still_wrong_is_held(session, cipher, tmp_path):
    on_file = create_claims_for_crafted_835(session, cipher)
    remittances.import_835(session, TEST_ACTOR, CRAFTED)
    charge = session.get(Charge, on_file["PCN1002"].charge_id)
    charge.diagnoses = ["I10.99"]  # "corrected" to a code that does not exist
    session.add(charge)
    session.flush()
    [group] = remittances.denial_worklist(session)
    new = remittances.resubmit(
        session, TEST_ACTOR, denial_id=group.items[0].denial_id, frequency_code="7"
    )
    assert (new.patient_control_number, new.status) == ("PCN1002R1", "held")
    assert [(f["code"], f["where"]) for f in new.findings] == [("icd10-invalid", "diagnoses[0]")]
    submitted = billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    assert submitted is None  # held: nothing is ready to send


def test_a_corrected_replacement_is_ready(session, cipher):
    on_file = create_claims_for_crafted_835(session, cipher)
    remittances.import_835(session, TEST_ACTOR, CRAFTED)
    charge = session.get(Charge, on_file["PCN1002"].charge_id)
    charge.diagnoses = ["E11.9", "I10"]
    session.add(charge)
    session.flush()
    [group] = remittances.denial_worklist(session)
    new = remittances.resubmit(
        session, TEST_ACTOR, denial_id=group.items[0].denial_id, frequency_code="7"
    )
    assert (new.status, new.findings) == ("ready", [])


# --- the patient's share while the secondary payer is asked -----------------------------------


def _share(billed: Billed) -> int:
    return sum(line.fee_cents * 15 // 100 for line in billed.lines)  # PR-2 15 % per line


def test_the_patients_share_waits_for_the_secondary_payer(session, cipher, aetna, tmp_path):
    alone = _billed_to_aetna(session, cipher, tmp_path / "alone", secondary=False)
    _paid(session, alone)
    assert ledger.balance(session, patient_id=alone.visit.patient.id) == _share(alone)
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _post(session, billed, claim_payment_835(billed.primary, billed.lines, service_date=SERVED),
          trace="AET000002")  # fmt: skip
    assert ledger.balance(session, patient_id=billed.visit.patient.id) == 0


def test_what_the_secondary_leaves_goes_on_the_ledger_and_ar_asks_it_for_the_share(
    session, cipher, aetna, tmp_path
):
    billed = _billed_to_aetna(session, cipher, tmp_path)
    _paid(session, billed)
    made = billing_service.make_claims(session, TEST_ACTOR, today=TODAY).claims
    [secondary] = made
    assert billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path / "secondary")
    session.commit()
    share, total = _share(billed), secondary.total_cents
    report = statements.aging_report(session, as_of=TODAY)
    assert report.by_payer["Lakeside Health"] == [share, 0, 0, 0, 0]  # not the whole charge
    assert "Aetna" not in report.by_payer

    paid = share // 2
    money = lambda cents: f"{Decimal(cents) / 100:.2f}"  # noqa: E731
    _post(
        session,
        billed,
        f"CLP*{secondary.patient_control_number}*2*{money(total)}*{money(paid)}*"
        f"{money(share - paid)}*12*LKS0001~CAS*OA*23*{money(total - share)}~"
        f"CAS*PR*1*{money(share - paid)}~",
        trace="LKS000001",
    )
    session.refresh(secondary)
    assert secondary.status == "paid"
    assert ledger.balance(session, patient_id=billed.visit.patient.id) == share - paid
