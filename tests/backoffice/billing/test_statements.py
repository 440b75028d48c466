"""A/R aging and days in A/R with exact numbers, FIFO ageing of a patient's ledger, patient
statements (data, JSON, CSV, a PDF whose text is read back), and payment plans in exact cents."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backoffice.billing import statements
from backoffice.billing.models import (
    PaymentPlan,
    PaymentPlanInstalment,
    Remittance,
    RemittanceEntry,
)
from backoffice.billing.statements import OpenItem, Statement, StatementLine
from backoffice.patients.models import Patient
from backoffice.payments import ledger
from tests.fixtures.billing import create_payer, submitted_claim
from tests.fixtures.builders import TEST_ACTOR

AS_OF = date(2026, 3, 31)
P1, P2 = uuid.uuid4(), uuid.uuid4()


# --- aging (pure) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-3, 0), (0, 0), (30, 0), (31, 1), (60, 1), (61, 2), (90, 2), (91, 3), (120, 3), (121, 4)],
)
def test_each_age_falls_in_its_bucket_at_the_boundaries(days: int, bucket: int) -> None:
    assert statements.bucket_index(days) == bucket


def test_aging_sums_open_items_by_payer_and_by_patient_into_buckets() -> None:
    items = [
        OpenItem(P1, "000000011", "Aetna", date(2026, 3, 20), 10000),  # 11 days
        OpenItem(P1, "000000011", "Aetna", date(2026, 1, 30), 2550),  # 60 days
        OpenItem(P2, "000000029", "Aetna", date(2025, 12, 1), 7000),  # 120 days
        OpenItem(P2, "000000029", "Cigna", date(2025, 11, 1), 1234),  # 150 days
        OpenItem(P1, "000000011", None, date(2026, 2, 28), 4000),  # 31 days, the patient owes
        OpenItem(P2, "000000029", None, date(2026, 3, 1), 0),  # nothing owed: left out
    ]
    report = statements.age_open_items(items, as_of=AS_OF)
    assert report.by_payer == {
        "Aetna": [10000, 2550, 0, 7000, 0],
        "Cigna": [0, 0, 0, 0, 1234],
        "Patient": [0, 4000, 0, 0, 0],
    }
    assert report.by_patient == {
        "000000011": [10000, 6550, 0, 0, 0],
        "000000029": [0, 0, 0, 7000, 1234],
    }
    assert report.totals == [10000, 6550, 0, 7000, 1234]
    assert report.total == 24784
    as_json = report.to_json()
    assert as_json["totals"] == {
        "0-30": "100.00",
        "31-60": "65.50",
        "61-90": "0.00",
        "91-120": "70.00",
        "120+": "12.34",
        "total": "247.84",
    }


@pytest.mark.parametrize(
    ("ar", "charges", "period", "expected"),
    [
        (450000, 900000, 90, Decimal("45.0")),  # 10,000 a day: 45 days of charges
        (100000, 300000, 90, Decimal("30.0")),  # 3,333.33… a day
        (12345, 100000, 30, Decimal("3.7")),  # 3.7035 days, to one decimal
        (12375, 100000, 30, Decimal("3.7")),  # 3.7125 → 3.7
        (12500, 100000, 30, Decimal("3.8")),  # 3.75: half rounds up
    ],
)
def test_days_in_ar_is_ar_over_average_daily_charges(
    ar: int, charges: int, period: int, expected: Decimal
) -> None:
    assert statements.days_in_ar(ar_cents=ar, charges_cents=charges, period_days=period) == expected


def test_days_in_ar_without_charges_is_unknown_not_infinite() -> None:
    assert statements.days_in_ar(ar_cents=5000, charges_cents=0, period_days=90) is None
    with pytest.raises(ValueError):
        statements.days_in_ar(ar_cents=5000, charges_cents=100, period_days=0)


def test_a_patients_payments_pay_the_oldest_charges_first() -> None:
    entries = [
        (date(2026, 1, 1), 10000),
        (date(2026, 2, 1), 5000),
        (date(2026, 2, 5), -12000),  # pays January's 100.00 and 20.00 of February's
        (date(2026, 3, 1), 2500),
    ]
    assert statements.ledger_open_items(entries) == [
        (date(2026, 2, 1), 3000),
        (date(2026, 3, 1), 2500),
    ]


def test_a_credit_before_any_charge_waits_for_the_next_charge() -> None:
    entries = [(date(2026, 1, 1), -2000), (date(2026, 1, 10), 5000), (date(2026, 1, 20), 1000)]
    assert statements.ledger_open_items(entries) == [
        (date(2026, 1, 10), 3000),
        (date(2026, 1, 20), 1000),
    ]
    assert statements.ledger_open_items([(date(2026, 1, 1), 1000), (date(2026, 1, 2), -1500)]) == []


def test_a_bad_as_of_date_is_a_clear_error() -> None:
    assert statements.as_of_date("2026-03-31") == AS_OF
    with pytest.raises(statements.BadRequest, match="not a date: '31/03/2026'"):
        statements.as_of_date("31/03/2026")


# --- payment plans (pure) ----------------------------------------------------------------------


def test_instalments_are_equal_cents_with_the_remainder_on_the_last() -> None:
    plan = statements.split_instalments(10000, 3, first_due=date(2028, 1, 31))
    # 31 January → the last day of shorter months (2028 is a leap year), back to the 31st.
    assert plan == [(date(2028, 1, 31), 3333), (date(2028, 2, 29), 3333), (date(2028, 3, 31), 3334)]
    assert sum(cents for _, cents in plan) == 10000


def test_instalments_cross_the_year_and_never_lose_a_cent() -> None:
    plan = statements.split_instalments(100001, 12, first_due=date(2026, 11, 15))
    assert [d for d, _ in plan][:3] == [date(2026, 11, 15), date(2026, 12, 15), date(2027, 1, 15)]
    assert [c for _, c in plan] == [8333] * 11 + [8338]
    assert sum(c for _, c in plan) == 100001


@pytest.mark.parametrize(("total", "count"), [(0, 3), (-100, 3), (10000, 0), (10000, 61)])
def test_a_plan_needs_a_positive_balance_and_a_sensible_count(total: int, count: int) -> None:
    with pytest.raises(statements.BadPlan):
        statements.split_instalments(total, count, first_due=AS_OF)


# --- statements as data (pure) ------------------------------------------------------------------


def sample_statement() -> Statement:
    return Statement(
        statement_date=AS_OF,
        mrn="000000011",
        patient_name="Alex Testperson",
        address=["12 Elm St", "Springfield MA 01103"],
        lines=[
            StatementLine(date(2026, 3, 2), "Office visit copay", "charge", 2500, True),
            StatementLine(
                date(2026, 3, 2), "Insurance payment, visit", "insurance_payment", -9000, False
            ),
            StatementLine(
                date(2026, 3, 20), "Your share after insurance (deductible)", "charge", 4000, True
            ),
            StatementLine(date(2026, 3, 25), "Card payment", "payment", -2500, True),
        ],
        balance_cents=4000,
        aging=[4000, 0, 0, 0, 0],
    )


def test_statement_json_has_amounts_as_decimal_strings_and_no_birth_date() -> None:
    data = json.loads(sample_statement().to_json_text())
    assert data["balance"] == "40.00"
    assert data["aging"]["0-30"] == "40.00"
    assert data["lines"][1] == {
        "date": "2026-03-02",
        "description": "Insurance payment, visit",
        "kind": "insurance_payment",
        "amount": "-90.00",
        "counts_to_balance": False,
    }
    assert not {"date_of_birth", "ssn", "balance_cents"} & set(data)


def test_statement_csv_lists_every_line_and_the_balance_due() -> None:
    rows = list(csv.reader(io.StringIO(sample_statement().to_csv())))
    assert rows[0] == ["date", "description", "kind", "amount", "counts_to_balance"]
    assert rows[3] == [
        "2026-03-20",
        "Your share after insurance (deductible)",
        "charge",
        "40.00",
        "yes",
    ]
    assert rows[-1] == ["2026-03-31", "Balance due", "balance", "40.00", "yes"]
    assert len(rows) == 6


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs pdftotext (poppler-utils)")
def test_statement_pdf_reads_back_with_the_lines_and_the_balance(tmp_path: Path) -> None:
    path = statements.render_statement_pdf(
        sample_statement(), tmp_path / "s" / "statement.pdf", practice_name="Maple Street"
    )
    assert path.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "Maple Street",
        "Patient statement",
        "Alex Testperson (MRN 000000011)",
        "Springfield MA 01103",
        "Your share after insurance (deductible)",
        "-90.00",
        "insurance (for information)",
        "Balance due",
        "40.00",
    ):
        assert expected in text, expected


# --- from the database (SQLite and PostgreSQL) -------------------------------------------------


def post(session: Session, patient_id: uuid.UUID, on: date, cents: int, kind: str) -> None:
    ledger.post(
        session,
        patient_id=patient_id,
        kind=ledger.EntryKind(kind),
        amount_cents=cents,
        description=f"{kind} {cents}",
        posted_at=datetime(on.year, on.month, on.day, 15, tzinfo=UTC),
    )


def test_aging_report_from_claims_and_ledgers_with_days_in_ar(session: Session, cipher) -> None:
    aetna = create_payer(session, payer_id="60054", name="Aetna")
    cigna = create_payer(session, payer_id="62308", name="Cigna")
    a = submitted_claim(session, cipher, aetna, number="J1", on=date(2026, 3, 16),
                        lines=(("99213", (), 15000),))  # fmt: skip
    b = submitted_claim(session, cipher, aetna, number="J2", on=date(2026, 1, 15),
                        lines=(("99214", (), 20000),), status="partly_paid", paid_cents=12000,
                        adjusted_cents=3000, patient_responsibility_cents=2000)  # fmt: skip
    submitted_claim(session, cipher, cigna, number="J3", on=date(2025, 11, 1),
                    lines=(("99203", (), 16000),), status="denied")  # fmt: skip
    submitted_claim(session, cipher, cigna, number="J4", on=date(2026, 3, 1),
                    lines=(("99213", (), 9900),), status="paid", paid_cents=9900)  # fmt: skip
    submitted_claim(session, cipher, cigna, number="J5", on=date(2026, 4, 2),
                    lines=(("99213", (), 7700),))  # after the as-of date  # fmt: skip
    post(session, b.patient_id, date(2026, 2, 1), 2000, "charge")
    post(session, b.patient_id, date(2026, 3, 10), 500, "charge")
    post(session, b.patient_id, date(2026, 3, 12), -1500, "payment")
    post(session, a.patient_id, date(2026, 3, 30), -1000, "payment")  # a credit: owes nothing
    session.commit()
    mrn_a = session.get(Patient, a.patient_id).mrn  # type: ignore[union-attr]
    mrn_b = session.get(Patient, b.patient_id).mrn  # type: ignore[union-attr]

    report = statements.aging_report(session, as_of=AS_OF, period_days=90)

    assert report.by_payer == {
        "Aetna": [15000, 0, 3000, 0, 0],  # J1: 15 days; J2: 200 - 120 - 30 - 20 = 30, 75 days
        "Cigna": [0, 0, 0, 0, 16000],  # J3 denied, 150 days; J4 paid; J5 not yet
        "Patient": [500, 500, 0, 0, 0],  # 15.00 paid the oldest: 5.00 of Feb 1 and Mar 10
    }
    assert report.by_patient[mrn_a] == [15000, 0, 0, 0, 0]
    assert report.by_patient[mrn_b] == [500, 500, 3000, 0, 0]
    assert report.total == 35000
    # Charges in the 90 days to 31 March (1 Jan on): J1 150 + J2 200 + J4 99 = 449.00.
    assert report.days_in_ar == Decimal("70.2")  # 350.00 / (449.00 / 90) = 70.155…


def test_statement_from_the_ledger_with_insurance_lines_beside_it(session: Session, cipher) -> None:
    aetna = create_payer(session, payer_id="60054", name="Aetna")
    visit = submitted_claim(session, cipher, aetna, number="J9", on=date(2026, 3, 2),
                            lines=(("99213", (), 15000),), status="paid")  # fmt: skip
    remittance = Remittance(file_sha256="0" * 64, trace_number="T1", payer_name="Aetna",
                            payment_cents=10000)  # fmt: skip
    session.add(remittance)
    session.flush()
    for kind, cents, group, reason in (
        ("insurance_payment", 10000, None, None),
        ("adjustment", 3000, "CO", "45"),
        ("patient_responsibility", 2000, "PR", "1"),  # already on the ledger as a charge
    ):
        session.add(RemittanceEntry(remittance_id=remittance.id, claim_id=visit.claim_id,
                                    kind=kind, amount_cents=cents, group_code=group,
                                    reason=reason))  # fmt: skip
    post(session, visit.patient_id, date(2026, 3, 20), 2000, "charge")
    post(session, visit.patient_id, date(2026, 3, 25), -500, "payment")
    post(session, visit.patient_id, date(2026, 4, 5), 999, "charge")  # after the statement date
    session.commit()
    patient = session.get(Patient, visit.patient_id)
    assert patient is not None

    statement = statements.build_statement(session, mrn=patient.mrn, as_of=AS_OF)

    assert statement.balance_cents == 1500
    assert statement.aging == [1500, 0, 0, 0, 0]
    assert [(line.kind, line.cents, line.counts_to_balance) for line in statement.lines] == [
        ("insurance_payment", -10000, False),
        ("insurance_adjustment", -3000, False),
        ("charge", 2000, True),
        ("payment", -500, True),
    ]
    assert "CO45" in statement.lines[1].description
    assert statement.patient_name.startswith("Alex Testperson")
    text = statement.to_json_text()
    assert patient.date_of_birth.isoformat() not in text


def test_statement_for_an_unknown_mrn_is_not_found(session: Session) -> None:
    with pytest.raises(statements.PatientNotFound, match="no patient with MRN 999999999"):
        statements.build_statement(session, mrn="999999999", as_of=AS_OF)


def test_a_payment_plan_is_stored_with_its_instalments(session: Session, cipher) -> None:
    aetna = create_payer(session)
    visit = submitted_claim(session, cipher, aetna, number="J7", on=date(2026, 3, 2),
                            lines=(("99213", (), 15000),))  # fmt: skip
    ledger.post(session, patient_id=visit.patient_id, kind=ledger.EntryKind.CHARGE,
                amount_cents=25000, description="Balance", entry_key="plan-balance")  # fmt: skip
    plan = statements.create_payment_plan(
        session, TEST_ACTOR, patient_id=visit.patient_id, total_cents=25000, count=4,
        first_due=date(2026, 5, 1),
    )  # fmt: skip
    session.commit()
    stored = session.exec(
        select(PaymentPlanInstalment)
        .where(PaymentPlanInstalment.plan_id == plan.id)
        .order_by(PaymentPlanInstalment.number)  # type: ignore[arg-type]
    ).all()
    assert [(i.number, i.due_date, i.amount_cents) for i in stored] == [
        (1, date(2026, 5, 1), 6250),
        (2, date(2026, 6, 1), 6250),
        (3, date(2026, 7, 1), 6250),
        (4, date(2026, 8, 1), 6250),
    ]
    assert session.get(PaymentPlan, plan.id).status == "active"  # type: ignore[union-attr]
