"""Auto-posting a remittance: the crafted 835 (payments with contractual and patient
adjustments, a denial, a reversal with its correction, a crossover, PLB interest, recoupment
and a forward balance) posts and balances to the cent; what cannot balance posts nothing."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.billing.posting import (
    BilledClaim,
    BilledLine,
    EntryKind,
    PostingImbalance,
    match_lines,
    plan_posting,
)
from backoffice.billing.x12.remit_835 import ServicePayment, read_835

CRAFTED = Path(__file__).parents[2] / "data" / "x12" / "crafted_835_posting_cases.835"
D = Decimal


def line(index: int, code: str, charge: str, day: date, *modifiers: str, control=None):
    return BilledLine(index, code, D(charge), day, modifiers, control)


ON_FILE = {
    "PCN1001": BilledClaim(
        "PCN1001",
        (
            line(0, "99213", "150.00", date(2025, 11, 10), "25", control="LINE0001"),
            line(1, "36415", "100.00", date(2025, 11, 10), control="LINE0002"),
        ),
    ),
    "PCN1002": BilledClaim("PCN1002", (line(0, "99214", "120.00", date(2025, 11, 12)),)),
    "PCN0990": BilledClaim("PCN0990", (line(0, "99203", "200.00", date(2025, 10, 1)),)),
    "PCN1003": BilledClaim("PCN1003", (line(0, "99214", "180.00", date(2025, 11, 15)),)),
}


@pytest.fixture(scope="module")
def remit():
    [advice] = read_835(CRAFTED.read_text())
    return advice


@pytest.fixture(scope="module")
def plan(remit):
    return plan_posting(remit, ON_FILE)


def test_the_whole_remittance_balances_to_the_cent(plan, remit):
    assert plan.cash == remit.payment_amount == D("213.25")
    assert plan.total(EntryKind.INSURANCE_PAYMENT) == D("260.00")
    assert plan.total(EntryKind.PROVIDER_ADJUSTMENT) == D("46.75")


def test_a_payment_posts_per_line_with_each_adjustment_by_group_and_reason(plan):
    entries = [e for e in plan.entries if e.patient_control_number == "PCN1001"]
    paid = {(e.line_index, e.amount) for e in entries if e.kind is EntryKind.INSURANCE_PAYMENT}
    assert paid == {(0, D("90.00")), (1, D("70.00"))}
    written_off = [(e.line_index, e.group, e.reason, e.amount) for e in entries
                   if e.kind is EntryKind.ADJUSTMENT]  # fmt: skip
    assert written_off == [(0, "CO", "45", D("25.00")), (1, "CO", "45", D("30.00"))]
    owed = [(e.reason, e.amount) for e in entries if e.kind is EntryKind.PATIENT_RESPONSIBILITY]
    assert owed == [("1", D("10.00")), ("2", D("5.00")), ("3", D("20.00"))]
    # Charge = paid + contractual + the patient's share, to the cent.
    assert sum(e.amount for e in entries) == D("250.00")


def test_a_denial_writes_nothing_off_and_goes_to_the_worklist_explained(plan):
    assert not [e for e in plan.entries if e.patient_control_number == "PCN1002"]
    [denial] = plan.denials
    assert (denial.patient_control_number, denial.payer_claim_number, denial.charge) == (
        "PCN1002",
        "PAYER1002",
        D("120.00"),
    )
    assert [r.code for r in denial.reasons] == ["50"]
    assert [r.code for r in denial.remarks] == ["M127"]
    assert all(r.explanation for r in (*denial.reasons, *denial.remarks))


def test_a_reversal_and_its_correction_net_to_the_new_payment(plan):
    entries = [e for e in plan.entries if e.patient_control_number == "PCN0990"]
    paid = [e.amount for e in entries if e.kind is EntryKind.INSURANCE_PAYMENT]
    assert paid == [D("-150.00"), D("130.00")]
    assert plan.total(EntryKind.ADJUSTMENT, "PCN0990") == D("0.00")  # -50 then +50
    assert plan.total(EntryKind.PATIENT_RESPONSIBILITY, "PCN0990") == D("20.00")


def test_a_crossover_expects_the_patients_share_from_the_next_payer(plan):
    entries = [e for e in plan.entries if e.patient_control_number == "PCN1003"]
    assert not [e for e in entries if e.kind is EntryKind.PATIENT_RESPONSIBILITY]
    [crossover] = [e for e in entries if e.kind is EntryKind.CROSSOVER]
    assert (crossover.amount, crossover.reason, crossover.note) == (
        D("30.00"),
        "2",
        "MEDIGAP SECONDARY",
    )


def test_provider_adjustments_keep_their_reason_and_reference(plan):
    found = [(e.reason, e.note, e.amount) for e in plan.entries
             if e.kind is EntryKind.PROVIDER_ADJUSTMENT]  # fmt: skip
    assert found == [
        ("L6", "PAYER1003", D("-3.25")),  # interest: the check is larger
        ("WO", "PAYER0500", D("40.00")),  # a recoupment: smaller
        ("FB", "FWD2025Q3", D("10.00")),
    ]


def test_money_for_a_claim_we_cannot_find_is_held_and_still_balances(remit):
    plan = plan_posting(remit, {k: v for k, v in ON_FILE.items() if k != "PCN1003"})
    [held] = [e for e in plan.entries if e.kind is EntryKind.UNMATCHED_PAYMENT]
    assert (held.patient_control_number, held.amount) == ("PCN1003", D("120.00"))
    assert plan.cash == remit.payment_amount


def test_a_remittance_that_does_not_add_up_posts_nothing(remit):
    short = dataclasses.replace(remit, payment_amount=D("213.24"))
    with pytest.raises(PostingImbalance) as refused:
        plan_posting(short, ON_FILE)
    assert "come to 213.25, its payment is 213.24. Nothing was posted." in refused.value.detail


def paid_line(code: str, day: date, *modifiers: str, control: str | None = None):
    return ServicePayment(
        procedure_code=code,
        charge_amount=D("100.00"),
        paid_amount=D("80.00"),
        units=D("1"),
        service_date=day,
        adjustments=(),
        position=1,
        modifiers=modifiers,
        line_control_number=control,
    )


def test_lines_match_by_control_number_then_code_modifiers_and_date_even_without_modifiers():
    day = date(2025, 11, 10)
    billed = (
        line(0, "99213", "150.00", day, "25"),
        line(1, "99213", "150.00", day, "25", "59"),
        line(2, "36415", "100.00", day, control="L-3"),
    )
    paid = (
        paid_line("99213", day),  # the payer dropped the modifiers
        paid_line("99213", day, "59", "25"),  # the same modifiers in another order
        paid_line("00000", day, control="L-3"),  # our control number wins over its code
        paid_line("99999", day),  # nothing like it was billed
    )
    assert [m.index if m else None for m in match_lines(paid, billed)] == [0, 1, 2, None]
