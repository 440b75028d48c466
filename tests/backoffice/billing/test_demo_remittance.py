"""The demo's 835 writer: what it writes, pyx12 accepts, and our reader balances."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from backoffice.billing.claim import (
    Address,
    Claim,
    Coverage,
    Party,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.x12.remit_835 import check_balance, read_835
from backoffice.billing.x12.segments import X12WriteError
from backoffice.billing.x12.validate import validate_x12
from backoffice.demo_remittance import Denied, Paid, PayerRemittance, write_835

CREATED = datetime(2027, 3, 2, 14, 5)
VISIT = date(2027, 2, 8)
PRACTICE = Provider(
    npi="1234567893",
    last_name="Maple Street Family Medicine",
    tax_id="043219876",
    address=Address("120 Maple St", "Springfield", "MA", "011031234"),
)
AETNA = Party(
    "Aetna",
    "60054",
    contact_phone="8005550199",
    address=Address("PO Box 1000", "Hartford", "CT", "06101"),
)
MEDICARE = Party(
    "Medicare Part B (NGS)",
    "14312",
    contact_phone="8005550123",
    address=Address("PO Box 2000", "Hingham", "MA", "02043"),
)
SUBSCRIBER = Person("Garcia", "Maria", date(1971, 4, 2), "F", member_id="W123456789")


def claim(pcn: str, *lines: tuple[str, str], payer: Party = AETNA, **changes: object) -> Claim:
    fields: dict[str, object] = {
        "patient_control_number": pcn,
        "billing_provider": PRACTICE,
        "coverage": Coverage(payer=payer, subscriber=SUBSCRIBER, plan_name="Aetna Choice POS II"),
        "diagnoses": ("I10",),
        "lines": tuple(
            ServiceLine(
                procedure_code=code,
                charge=Decimal(fee),
                units=Decimal(1),
                service_date=VISIT,
                diagnosis_pointers=(1,),
                line_control_number=f"{pcn}-{number}",
            )
            for number, (code, fee) in enumerate(lines, start=1)
        ),
    }
    return Claim(**(fields | changes))  # type: ignore[arg-type]


def era(*remittances: PayerRemittance) -> str:
    return write_835(
        remittances, sender_id="CLEARHOUSE", receiver_id="FRONTDESK01", control_number=4711,
        created=CREATED,
    )  # fmt: skip


PAID = claim("FDAAAA", ("99214", "190.00"), ("36415", "15.00"))
COPAY_PAID = Paid("AET001", contractual_percent=30, copay_cents=2500)
DENIED = claim("FDBBBB", ("99213", "130.00"))
DEPENDENT = claim(
    "FDCCCC",
    ("99213", "130.00"),
    patient=Person("Garcia", "Luis", date(2015, 6, 1), "M"),
    coverage=Coverage(payer=AETNA, subscriber=SUBSCRIBER, relationship=Relationship.CHILD),
)
MEDICARE_CLAIM = claim(
    "FDDDDD",
    ("99213", "91.00"),
    payer=MEDICARE,
    coverage=Coverage(payer=MEDICARE, subscriber=SUBSCRIBER, filing_indicator="MB"),
)


def aetna(*decisions: tuple[Claim, Paid | Denied], trace: str = "CHK100200") -> PayerRemittance:
    return PayerRemittance(AETNA, "060000001", trace, date(2027, 3, 1), decisions)


TWO_PAYERS = era(
    aetna(
        (PAID, COPAY_PAID),
        (DENIED, Denied("AET002")),
        (DEPENDENT, Paid("AET003", contractual_percent=25, copay_cents=2000)),
    ),
    PayerRemittance(
        MEDICARE,
        "010000002",
        "EFT0031",
        date(2027, 3, 1),
        ((MEDICARE_CLAIM, Paid("MCR001", contractual_percent=20, coinsurance_percent=20)),),
    ),
)


def test_pyx12_accepts_the_demo_era():
    assert validate_x12(TWO_PAYERS) == []


def test_every_remittance_balances_and_pays_the_sum_of_its_claims():
    advices = read_835(TWO_PAYERS)
    assert [a.payer_name for a in advices] == ["AETNA", "MEDICARE PART B (NGS)"]
    for advice in advices:
        assert check_balance(advice).problems == ()
        assert advice.payment_amount == sum(c.paid_amount for c in advice.claims)


def test_a_paid_claim_writes_off_the_contractual_part_and_leaves_the_copay_to_the_patient():
    payment = read_835(TWO_PAYERS)[0].claims[0]
    # 190.00 less 30 % (57.00) allows 133.00, the 25.00 copay comes off it: 108.00 paid;
    # 15.00 less 4.50 allows and pays 10.50.
    assert (payment.status_code, payment.paid_amount, payment.patient_responsibility) == (
        "1",
        Decimal("118.50"),
        Decimal("25.00"),
    )
    office, draw = payment.service_lines
    assert [(a.group, a.reason, a.amount) for a in office.adjustments] == [
        ("CO", "45", Decimal("57.00")),
        ("PR", "3", Decimal("25.00")),
    ]
    assert (office.paid_amount, office.line_control_number) == (Decimal("108.00"), "FDAAAA-1")
    assert (draw.paid_amount, draw.line_control_number) == (Decimal("10.50"), "FDAAAA-2")


def test_the_denial_reads_back_with_its_reason_and_remark():
    denial = read_835(TWO_PAYERS)[0].claims[1]
    assert denial.is_denial
    assert (denial.paid_amount, denial.payer_claim_number) == (Decimal("0.00"), "AET002")
    [line] = denial.service_lines
    assert [(a.group, a.reason, a.amount) for a in line.adjustments] == [
        ("CO", "50", Decimal("130.00"))
    ]
    assert line.remark_codes == ("N130",)


def test_medicare_coinsurance_is_twenty_percent_of_the_allowed_amount():
    payment = read_835(TWO_PAYERS)[1].claims[0]
    # 91.00 less 20 % allows 72.80; the patient owes 20 % of that (14.56).
    assert (payment.paid_amount, payment.patient_responsibility) == (
        Decimal("58.24"),
        Decimal("14.56"),
    )
    assert payment.filing_indicator == "MB"


def test_a_dependent_is_named_as_the_patient_and_the_subscriber_as_the_insured():
    segments = [s.split("*") for s in TWO_PAYERS.split("~\n")]
    names = [s[:4] for s in segments if s[0] == "NM1"]
    assert ["NM1", "QC", "1", "GARCIA"] in names
    assert ["NM1", "IL", "1", "GARCIA"] in names


def test_a_remittance_of_denials_only_is_a_notice_without_payment():
    text = era(aetna((DENIED, Denied("AET009", reason="16", remark="MA130"))))
    assert validate_x12(text) == []
    [advice] = read_835(text)
    assert (advice.handling_code, advice.payment_method, advice.payment_amount) == (
        "H",
        "NON",
        Decimal("0.00"),
    )
    assert advice.claims[0].service_lines[0].remark_codes == ("MA130",)


@pytest.mark.parametrize(
    ("payer", "missing"),
    [
        (Party("Aetna", "60054", contact_phone="8005550199"), "payer.address"),
        (Party("Aetna", "60054", address=AETNA.address), "payer.contact_phone"),
    ],
)
def test_a_payer_without_its_address_or_contact_cannot_be_written(payer, missing):
    remittance = PayerRemittance(payer, "060000001", "T1", VISIT, ((PAID, COPAY_PAID),))
    with pytest.raises(X12WriteError, match=missing):
        era(remittance)
