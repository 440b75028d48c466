"""Charges from completed visits, claims from reviewed charges, and the 837P batch that
carries them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backoffice.billing import service as billing_service
from backoffice.billing.claim import Relationship
from backoffice.billing.models import ChargeLine, ClaimBatch, ClaimRecord
from backoffice.billing.service import (
    BadCharge,
    ChargeNotAllowed,
    MissingFee,
    ProcedureLine,
    SubmissionRefused,
)
from backoffice.billing.x12.validate import validate_x12_file
from backoffice.settings import Settings
from shared.enums import Role
from shared.errors import BadRequest
from tests.fixtures.billing import (
    completed_visit,
    create_fee,
    create_payer,
    create_standard_fees,
    ready_claims,
    reviewed_charge,
)
from tests.fixtures.builders import TEST_ACTOR, create_appointment_type, create_user


@pytest.fixture
def practice(session: Session):
    """The payer directory (Aetna) and the practice's standard fee schedule."""
    payer = create_payer(session)
    create_standard_fees(session)
    return payer


def _lines(session: Session, charge) -> list[ChargeLine]:
    return list(
        session.exec(
            select(ChargeLine)
            .where(ChargeLine.charge_id == charge.id)
            .order_by(ChargeLine.line_number)
        )
    )


# --- E/M level ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new_patient", "minutes", "code"),
    [
        (True, 15, "99202"),
        (True, 29, "99202"),
        (True, 30, "99203"),
        (True, 45, "99204"),
        (True, 60, "99205"),
        (True, 90, "99205"),
        (False, 5, "99212"),
        (False, 15, "99212"),
        (False, 20, "99213"),
        (False, 30, "99214"),
        (False, 40, "99215"),
    ],
)
def test_em_level_follows_the_visit_time_and_whether_the_patient_is_new(new_patient, minutes, code):
    assert billing_service.em_code(new_patient=new_patient, minutes=minutes) == code


# --- Charge capture -------------------------------------------------------------------------


def test_a_new_patients_visit_is_charged_at_its_em_level_from_the_standard_fees(
    session, cipher, practice
):
    visit = completed_visit(
        session, cipher, kind=create_appointment_type(session, duration_minutes=45)
    )
    charge = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["e11.9", "I10"]
    )
    [line] = _lines(session, charge)
    assert (charge.status, charge.diagnoses, charge.service_date) == (
        "draft",
        ["E119", "I10"],
        visit.appointment.starts_at.date(),
    )
    assert (line.procedure_code, line.fee_cents, line.diagnosis_pointers, line.modifiers) == (
        "99204",
        24000,
        [1, 2],
        [],
    )


def test_a_returning_patient_is_established(session, cipher, practice):
    first = completed_visit(session, cipher, on=date.today() - timedelta(days=200))
    kind = create_appointment_type(session, duration_minutes=20)
    again = completed_visit(session, cipher, patient=first.patient, insured=False, kind=kind)
    charge = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=again.appointment.id, diagnoses=["J06.9"]
    )
    [line] = _lines(session, charge)
    assert (line.procedure_code, line.fee_cents) == ("99213", 13000)


def test_a_telehealth_visit_carries_modifier_95(session, cipher, practice):
    kind = create_appointment_type(session, duration_minutes=15, category="telehealth")
    visit = completed_visit(session, cipher, kind=kind)
    charge = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["J06.9"]
    )
    [line] = _lines(session, charge)
    assert (line.procedure_code, line.modifiers) == ("99202", ["95"])


def test_procedure_lines_are_priced_per_unit_with_their_modifiers_and_pointers(
    session, cipher, practice
):
    visit = completed_visit(
        session, cipher, kind=create_appointment_type(session, duration_minutes=20)
    )
    create_fee(session, "11102", 20000, modifier="59")
    charge = billing_service.capture_charge(
        session,
        TEST_ACTOR,
        appointment_id=visit.appointment.id,
        diagnoses=["L82.1", "D22.5"],
        procedures=[
            ProcedureLine("11102", diagnosis_pointers=(2, 1), modifiers=("59", "RT")),
            ProcedureLine("36415", diagnosis_pointers=(1,), units=2),
        ],
    )
    lines = _lines(session, charge)
    assert [
        (x.line_number, x.procedure_code, x.modifiers, x.units, x.fee_cents, x.diagnosis_pointers)
        for x in lines
    ] == [
        (1, "99202", [], 1, 11000, [1, 2]),  # new, 20 minutes
        (2, "11102", ["59", "RT"], 1, 20000, [2, 1]),  # the modifier's own fee
        (3, "36415", [], 2, 3000, [1]),
    ]


def test_the_payers_fee_in_force_on_the_service_date_wins(session, cipher, practice):
    create_fee(
        session,
        "99203",
        12500,
        payer=practice,
        effective_from=date(2025, 1, 1),
        effective_to=date(2025, 12, 31),
    )
    create_fee(session, "99203", 14100, payer=practice, effective_from=date(2026, 1, 1))
    create_fee(session, "99203", 99900, payer=practice, effective_from=date(2099, 1, 1))
    visit = completed_visit(session, cipher)  # 30 minutes, new: 99203
    charge = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["I10"]
    )
    assert [line.fee_cents for line in _lines(session, charge)] == [14100]


def test_a_code_without_a_fee_is_a_clear_error(session, cipher, practice):
    visit = completed_visit(session, cipher)
    with pytest.raises(MissingFee) as caught:
        billing_service.capture_charge(
            session,
            TEST_ACTOR,
            appointment_id=visit.appointment.id,
            diagnoses=["I10"],
            procedures=[ProcedureLine("93000")],
        )
    assert caught.value.detail == (
        f"no fee for 93000 on {visit.appointment.starts_at.date()}: add it to the fee schedule"
    )


@pytest.mark.parametrize("status", ["scheduled", "arrived", "in_progress", "no_show"])
def test_only_a_completed_visit_is_charged(session, cipher, practice, status):
    visit = completed_visit(session, cipher, status=status)
    with pytest.raises(ChargeNotAllowed, match="only a completed visit is charged"):
        billing_service.capture_charge(
            session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["I10"]
        )


def test_a_visit_is_charged_once(session, cipher, practice):
    visit = completed_visit(session, cipher)
    billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["I10"]
    )
    with pytest.raises(ChargeNotAllowed, match="already has a charge"):
        billing_service.capture_charge(
            session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["I10"]
        )


@pytest.mark.parametrize(
    ("diagnoses", "procedures", "field"),
    [
        (["E11"], [], "diagnoses[0]"),  # a heading, not billable
        (["XYZ.1"], [], "diagnoses[0]"),
        ([], [], "diagnoses"),
        (["I10"], [ProcedureLine("36415", diagnosis_pointers=(2,))], "lines[1].diagnosis_pointers"),
        (
            ["I10"],
            [ProcedureLine("36415", modifiers=("59", "RT", "LT", "XS", "76"))],
            "lines[1].modifiers",
        ),
        (["I10"], [ProcedureLine("3641")], "lines[1].procedure_code"),
        (["I10"], [ProcedureLine("36415", units=0)], "lines[1].units"),
    ],
)
def test_what_a_claim_cannot_carry_is_refused_at_capture(
    session, cipher, practice, diagnoses, procedures, field
):
    visit = completed_visit(session, cipher)
    with pytest.raises(BadCharge) as caught:
        billing_service.capture_charge(
            session,
            TEST_ACTOR,
            appointment_id=visit.appointment.id,
            diagnoses=diagnoses,
            procedures=procedures,
        )
    assert field in [error.field for error in caught.value.errors]
    assert field in caught.value.detail


# --- Review --------------------------------------------------------------------------------


def test_review_records_the_staff_user_once(session, cipher, practice):
    visit = completed_visit(session, cipher)
    charge = billing_service.capture_charge(
        session, TEST_ACTOR, appointment_id=visit.appointment.id, diagnoses=["I10"]
    )
    with pytest.raises(BadRequest, match="reviewed by an active staff user"):
        billing_service.review_charge(session, TEST_ACTOR, charge_id=charge.id)
    biller = create_user(session, Role.BILLING)
    billing_service.review_charge(session, TEST_ACTOR, charge_id=charge.id, reviewer_id=biller.id)
    assert (charge.status, charge.reviewed_by, charge.reviewed_at is not None) == (
        "reviewed",
        biller.id,
        True,
    )
    with pytest.raises(ChargeNotAllowed, match="the charge is reviewed, not a draft"):
        billing_service.review_charge(
            session, TEST_ACTOR, charge_id=charge.id, reviewer_id=biller.id
        )


# --- Claims --------------------------------------------------------------------------------


def test_a_reviewed_charge_becomes_a_ready_claim_filled_from_the_tables(session, cipher, practice):
    visit = completed_visit(session, cipher)
    charge = reviewed_charge(session, visit)
    [record] = ready_claims(session)
    claim = billing_service.claim_for(session, record)
    settings = Settings()
    assert (record.status, record.findings, record.total_cents, charge.status) == (
        "ready",
        [],
        16000,
        "billed",
    )
    assert record.patient_control_number.startswith("FD")
    assert len(record.patient_control_number) <= 20
    assert (claim.billing_provider.npi, claim.billing_provider.tax_id) == (
        settings.billing_npi,
        settings.billing_tax_id,
    )
    assert claim.rendering_provider.npi == visit.provider.npi
    assert (claim.coverage.payer.identifier, claim.coverage.subscriber.member_id) == (
        "60054",
        visit.policy.member_id,
    )
    assert (claim.patient, claim.coverage.relationship) == (None, Relationship.SELF)
    assert [(line.procedure_code, str(line.charge)) for line in claim.lines] == [
        ("99203", "160.00")
    ]
    assert claim.lines[0].line_control_number == f"{record.patient_control_number}-1"


def test_a_dependant_is_the_patient_under_the_subscribers_policy(session, cipher, practice):
    visit = completed_visit(
        session,
        cipher,
        date_of_birth=date(2015, 6, 1),
        policy={
            "subscriber_relationship": "child",
            "subscriber_first_name": "Dana",
            "subscriber_last_name": "Parent",
            "subscriber_date_of_birth": date(1985, 3, 3),
            "subscriber_sex": "female",
        },
    )
    reviewed_charge(session, visit)
    [record] = ready_claims(session)
    claim = billing_service.claim_for(session, record)
    assert record.status == "ready", record.findings
    assert claim.coverage.relationship is Relationship.CHILD
    assert (claim.coverage.subscriber.first_name, claim.patient.date_of_birth) == (
        "Dana",
        date(2015, 6, 1),
    )


def test_the_scrubbers_findings_hold_a_claim(session, cipher, practice):
    practice.timely_filing_days = 30
    session.add(practice)
    visit = completed_visit(session, cipher, on=date.today() - timedelta(days=45))
    reviewed_charge(session, visit)
    [record] = ready_claims(session)
    assert record.status == "held"
    assert [(f["code"], f["where"]) for f in record.findings] == [
        ("timely-filing-passed", "lines[0].service_date")
    ]


def test_charges_without_a_policy_or_a_known_payer_are_left_for_staff(session, cipher, practice):
    uninsured = completed_visit(session, cipher, insured=False)
    unknown = completed_visit(session, cipher, policy={"payer_id": "99999", "payer_name": "Nobody"})
    first, second = reviewed_charge(session, uninsured), reviewed_charge(session, unknown)
    made = billing_service.make_claims(session, TEST_ACTOR, today=date.today())
    assert made.claims == []
    assert sorted(made.skipped) == sorted(
        [
            (first.id, "no active primary policy on the service date"),
            (second.id, "payer id 99999 is not in the payer directory"),
        ]
    )
    assert (first.status, second.status) == ("reviewed", "reviewed")


# --- Submission ----------------------------------------------------------------------------


def _ready(session, cipher, count: int) -> list[ClaimRecord]:
    for _ in range(count):
        reviewed_charge(session, completed_visit(session, cipher))
    return ready_claims(session)


def test_submit_writes_one_837p_that_pyx12_accepts_and_marks_the_claims(
    session, cipher, practice, tmp_path
):
    records = _ready(session, cipher, 3)
    result = billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    batch = session.get(ClaimBatch, result.batch_id)
    text = result.path.read_text()
    assert (result.path, result.control_number, result.claim_count) == (
        tmp_path / "837P-000000001.x12",
        1,
        3,
    )
    assert validate_x12_file(result.path) == []
    assert text.startswith("ISA*") and "*000000001*0*T*:~" in text
    assert [text.count(f"CLM*{r.patient_control_number}*") for r in records] == [1, 1, 1]
    assert (batch.claim_count, batch.file_name) == (3, "837P-000000001.x12")
    assert {(r.status, r.batch_id) for r in records} == {("submitted", batch.id)}
    assert billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path) is None


def test_each_batch_takes_the_next_control_number(session, cipher, practice, tmp_path):
    session.add(
        ClaimBatch(interchange_control_number=41, file_name="old", sha256="0" * 64, claim_count=1)
    )
    _ready(session, cipher, 1)
    first = billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    _ready(session, cipher, 1)
    second = billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    assert (first.control_number, second.control_number) == (42, 43)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "837P-000000042.x12",
        "837P-000000043.x12",
    ]


def test_a_claim_no_valid_file_can_carry_stops_the_batch_and_is_named(
    session, cipher, practice, tmp_path
):
    good = _ready(session, cipher, 1)
    bad_visit = completed_visit(session, cipher)
    reviewed_charge(session, bad_visit)
    [bad] = ready_claims(session)
    bad_visit.patient.address_line1 = None  # moved since the claim was scrubbed
    session.add(bad_visit.patient)
    session.flush()
    with pytest.raises(SubmissionRefused) as caught:
        billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    assert bad.patient_control_number in caught.value.detail
    assert "subscriber.address" in caught.value.detail
    assert caught.value.detail.endswith("nothing was submitted")
    assert list(tmp_path.iterdir()) == []
    assert {r.status for r in [*good, bad]} == {"ready"}


def test_a_file_pyx12_rejects_is_not_written_and_names_the_claim(
    session, cipher, practice, tmp_path
):
    [record] = _ready(session, cipher, 1)
    policy = session.get(billing_service.InsurancePolicy, record.policy_id)
    policy.member_id = "W"  # NM109 holds at least two characters
    session.add(policy)
    session.flush()
    with pytest.raises(SubmissionRefused) as caught:
        billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    assert caught.value.detail.startswith("pyx12 rejects the file (claim ")
    assert record.patient_control_number in caught.value.detail
    assert "NM109" in caught.value.detail
    assert list(tmp_path.iterdir()) == []
    assert record.status == "ready"
    assert session.exec(select(ClaimBatch)).all() == []


def test_production_files_refuse_the_demo_identity(session, cipher, practice, tmp_path):
    _ready(session, cipher, 1)
    with pytest.raises(SubmissionRefused, match="billing NPI is the demo's"):
        billing_service.submit(
            session, TEST_ACTOR, out_dir=tmp_path, settings=Settings(billing_production=True)
        )


def test_submit_refuses_to_overwrite_a_file(session, cipher, practice, tmp_path: Path):
    [record] = _ready(session, cipher, 1)
    (tmp_path / "837P-000000001.x12").write_text("someone else's")
    with pytest.raises(SubmissionRefused, match="exists already"):
        billing_service.submit(session, TEST_ACTOR, out_dir=tmp_path)
    assert record.status == "ready"
