"""The 835 reader: every shared sample reads and balances, the crafted posting cases read to
the cent, and any damaged file raises one error naming the segment (nothing is returned)."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from backoffice.billing.claim import Adjustment
from backoffice.billing.x12.remit_835 import (
    X12ReadError,
    check_balance,
    read_835,
    to_json_object,
)
from backoffice.billing.x12.validate import validate_x12

DATA = Path(__file__).resolve().parents[2] / "data" / "x12"
CRAFTED = (DATA / "crafted_835_posting_cases.835").read_text()


def crafted(*replacements: tuple[str, str]) -> str:
    """The crafted file with some segments changed (each old text must be there)."""
    text = CRAFTED
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def the_one(text: str):  # type: ignore[no-untyped-def]
    [remit] = read_835(text)
    return remit


def claim(remit, pcn: str, status: str):  # type: ignore[no-untyped-def]
    [found] = [
        c for c in remit.claims if c.patient_control_number == pcn and c.status_code == status
    ]
    return found


# --- the shared samples ----------------------------------------------------------------------

SAMPLES = {
    # file: (payer, payment, claims, provider adjustments, notes)
    "lfh_835_005010X221A1__managed-care.835": ("RUSHMORE LIFE", "945.00", 2, 0, 1),
    "lfh_835_005010X221A1__medicare-part-a.835": (
        "INSURANCE COMPANY OF TIMBUCKTU",
        "150000.00",
        2,
        1,
        0,
    ),
    "lfh_demo-file__demo.835": ("INSURANCE COMPANY OF TIMBUCKTU", "150000.00", 2, 1, 0),
    "pyx12__835_mult_loops.835": ("PAYER", "0.00", 1, 0, 0),
    "crafted_835_posting_cases.835": ("ACME HEALTH PLAN", "213.25", 5, 3, 0),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_reads_and_balances(name: str) -> None:
    payer, payment, claims, plbs, notes = SAMPLES[name]
    remit = the_one((DATA / name).read_text())
    assert (remit.payer_name, str(remit.payment_amount)) == (payer, payment)
    assert (len(remit.claims), len(remit.provider_adjustments)) == (claims, plbs)
    assert len(remit.notes) == notes
    assert check_balance(remit).problems == ()


def test_an_impossible_payment_date_is_left_out_and_noted_without_its_value() -> None:
    remit = the_one((DATA / "lfh_835_005010X221A1__managed-care.835").read_text())
    assert remit.payment_date is None
    assert remit.notes == ("segment 4 (BPR): BPR16 is not a date (left out)",)


def test_a_payee_named_by_tax_id_has_no_npi() -> None:
    remit = the_one((DATA / "pyx12__835_mult_loops.835").read_text())
    assert (remit.payee_npi, remit.payee_tax_id) == (None, "444313000")


def test_lines_without_a_472_date_take_the_service_period_start_and_units_from_svc05() -> None:
    remit = the_one((DATA / "pyx12__835_mult_loops.835").read_text())
    lines = remit.claims[0].service_lines
    assert [(str(s.service_date), str(s.units)) for s in lines] == [
        ("2003-11-29", "68"),
        ("2003-10-30", "16"),
        ("2003-10-31", "36"),
    ]
    assert [s.remark_codes for s in lines] == [("N14",)] * 3


def test_institutional_claims_without_service_lines_balance_on_claim_adjustments() -> None:
    remit = the_one((DATA / "lfh_835_005010X221A1__medicare-part-a.835").read_text())
    first = remit.claims[0]
    assert first.service_lines == ()
    assert first.adjustments == (Adjustment("CO", "45", Decimal("73348.57")),)
    assert first.patient_responsibility == Decimal("0.00")  # CLP05 absent: nothing owed


# --- the crafted posting cases ---------------------------------------------------------------


def test_pyx12_accepts_the_crafted_file() -> None:
    assert validate_x12(CRAFTED) == []


def test_crafted_header() -> None:
    remit = the_one(CRAFTED)
    assert remit.payer_name == "ACME HEALTH PLAN"
    assert (remit.payee_name, remit.payee_npi) == ("FRONTDESK FAMILY PRACTICE", "1234567893")
    assert (remit.trace_number, remit.payer_identifier) == ("CHK100234", "1999999999")
    assert (remit.payment_amount, str(remit.payment_date)) == (Decimal("213.25"), "2025-12-01")
    assert (remit.handling_code, remit.credit_debit, remit.payment_method) == ("I", "C", "CHK")


def test_a_paid_claim_with_contractual_and_patient_adjustments() -> None:
    paid = claim(the_one(CRAFTED), "PCN1001", "1")
    assert (paid.charge_amount, paid.paid_amount) == (Decimal("250.00"), Decimal("160.00"))
    assert (paid.patient_responsibility, paid.payer_claim_number) == (Decimal("35.00"), "PAYER1001")
    office, venipuncture = paid.service_lines
    assert (office.procedure_code, office.modifiers, office.units) == ("99213", ("25",), 1)
    assert (str(office.service_date), office.line_control_number) == ("2025-11-10", "LINE0001")
    # one CAS segment with three reason/amount triples: deductible, coinsurance, copay
    assert office.adjustments == (
        Adjustment("CO", "45", Decimal("25.00")),
        Adjustment("PR", "1", Decimal("10.00")),
        Adjustment("PR", "2", Decimal("5.00")),
        Adjustment("PR", "3", Decimal("20.00")),
    )
    patient_share = sum(
        a.amount for s in paid.service_lines for a in s.adjustments if a.group == "PR"
    )
    assert patient_share == paid.patient_responsibility
    assert (venipuncture.procedure_code, venipuncture.paid_amount) == ("36415", Decimal("70.00"))


def test_a_denial_carries_its_reason_and_remark() -> None:
    denied = claim(the_one(CRAFTED), "PCN1002", "4")
    assert denied.is_denial and denied.paid_amount == Decimal("0.00")
    [line] = denied.service_lines
    assert line.adjustments == (Adjustment("CO", "50", Decimal("120.00")),)
    assert line.remark_codes == ("M127",)
    assert str(line.service_date) == "2025-11-12"  # no line date: the claim's DTM*232


def test_a_reversal_and_its_correction() -> None:
    remit = the_one(CRAFTED)
    reversal, correction = claim(remit, "PCN0990", "22"), claim(remit, "PCN0990", "1")
    assert reversal.is_reversal and not correction.is_reversal
    assert (reversal.charge_amount, reversal.paid_amount) == (
        Decimal("-200.00"),
        Decimal("-150.00"),
    )
    assert reversal.service_lines[0].adjustments == (Adjustment("CO", "45", Decimal("-50.00")),)
    assert (correction.paid_amount, correction.payer_claim_number) == (
        Decimal("130.00"),
        "PAYER0990B",
    )
    assert reversal.paid_amount + correction.paid_amount == Decimal("-20.00")


def test_a_crossover_names_the_next_payer() -> None:
    crossover = claim(the_one(CRAFTED), "PCN1003", "19")
    assert crossover.is_forwarded
    assert (crossover.crossover_payer, crossover.remark_codes) == ("MEDIGAP SECONDARY", ("MA18",))
    assert crossover.filing_indicator == "MB"


def test_provider_adjustments_interest_recoupment_and_forward_balance() -> None:
    plbs = the_one(CRAFTED).provider_adjustments
    assert [(a.reason, a.reference, a.amount) for a in plbs] == [
        ("L6", "PAYER1003", Decimal("-3.25")),
        ("WO", "PAYER0500", Decimal("40.00")),
        ("FB", "FWD2025Q3", Decimal("10.00")),
    ]
    assert {(a.provider_identifier, str(a.fiscal_period_end)) for a in plbs} == {
        ("1234567893", "2025-12-31")
    }


def test_the_crafted_file_balances_to_the_cent() -> None:
    balance = check_balance(the_one(CRAFTED))
    assert (balance.claims_paid, balance.provider_adjustments) == (
        Decimal("260.00"),
        Decimal("46.75"),
    )
    assert balance.claims_paid - balance.provider_adjustments == balance.payment_amount
    assert balance.ok


def test_several_plb_segments_add_up() -> None:
    text = crafted(
        (
            "*WO:PAYER0500*40.00*FB:FWD2025Q3*10.00~",
            "*WO:PAYER0500*40.00~\nPLB*1234567893*20251231*FB:FWD2025Q3*10.00~",
        ),
        ("SE*49*", "SE*50*"),
    )
    remit = the_one(text)
    assert [a.reason for a in remit.provider_adjustments] == ["L6", "WO", "FB"]
    assert check_balance(remit).ok


def test_a_cas_segment_carries_up_to_six_triples() -> None:
    six = "CAS*CO*45*5.00**253*1.00**A2*4.00**59*3.00**94*2.00**B10*10.00*1"
    line = the_one(crafted(("CAS*CO*45*25.00", six))).claims[0].service_lines[0]
    assert [a.reason for a in line.adjustments][:6] == ["45", "253", "A2", "59", "94", "B10"]
    assert line.adjustments[5].quantity == Decimal("1")
    with pytest.raises(
        X12ReadError, match=r"segment 18 \(CAS\): has 21 elements; CAS carries at most 19"
    ):
        read_835(crafted(("CAS*CO*45*25.00", six + "*OA*1.00")))


def test_separators_are_read_from_the_isa() -> None:
    other = CRAFTED.replace("*", "|").replace(":", ">").replace("~\n", "\n")
    assert to_json_object(the_one(other)) == to_json_object(the_one(CRAFTED))


def test_a_debit_payment_counts_against_the_claims() -> None:
    balance = check_balance(the_one(crafted(("BPR*I*213.25*C*", "BPR*I*213.25*D*"))))
    assert balance.payment_amount == Decimal("-213.25")
    assert balance.problems[0].startswith("payment -213.25 is not claims paid 260.00")


def test_a_payment_that_does_not_add_up_is_a_balance_problem() -> None:
    balance = check_balance(the_one(crafted(("BPR*I*213.25*", "BPR*I*213.26*"))))
    assert balance.problems == (
        "payment 213.26 is not claims paid 260.00 minus provider adjustments 46.75 (= 213.25)",
    )


def test_a_line_paid_wrong_is_a_balance_problem_naming_the_segment() -> None:
    balance = check_balance(
        the_one(crafted(("SVC*HC:36415*100.00*70.00", "SVC*HC:36415*100.00*71.00")))
    )
    assert balance.problems == (
        "service line at segment 21: charge 100.00 minus adjustments 30.00 is not paid 71.00",
    )


def test_mismatched_control_numbers_are_noted_not_refused() -> None:
    remit = the_one(crafted(("SE*49*0001", "SE*49*0002"), ("IEA*1*000000101", "IEA*1*000000102")))
    assert remit.notes == (
        "segment 53 (IEA): IEA02 does not match ISA13",
        "segment 51 (SE): SE02 does not match ST02",
    )


def test_several_transaction_sets_read_in_order() -> None:
    start, end = CRAFTED.index("ST*835"), CRAFTED.index("GE*1*")
    one_set = CRAFTED[start:end]
    text = (
        CRAFTED[:end] + one_set.replace("CHK100234", "CHK100235") + "GE*2*101~\nIEA*1*000000101~\n"
    )
    assert [r.trace_number for r in read_835(text)] == ["CHK100234", "CHK100235"]


def test_the_json_shape() -> None:
    obj = json.loads(json.dumps(to_json_object(the_one(CRAFTED))))
    assert list(obj) == [
        "payer_name",
        "payee_npi",
        "trace_number",
        "payment_amount",
        "payment_date",
        "claims",
        "provider_adjustments",
    ]
    first = obj["claims"][0]
    assert list(first) == [
        "patient_control_number",
        "status_code",
        "charge_amount",
        "paid_amount",
        "patient_responsibility",
        "payer_claim_number",
        "adjustments",
        "service_lines",
    ]
    assert first["service_lines"][0] == {
        "procedure_code": "99213",
        "modifiers": ["25"],
        "charge_amount": "150.00",
        "paid_amount": "90.00",
        "units": "1",
        "service_date": "2025-11-10",
        "adjustments": [
            {"group": "CO", "reason": "45", "amount": "25.00"},
            {"group": "PR", "reason": "1", "amount": "10.00"},
            {"group": "PR", "reason": "2", "amount": "5.00"},
            {"group": "PR", "reason": "3", "amount": "20.00"},
        ],
    }
    assert obj["provider_adjustments"][0] == {
        "reason": "L6",
        "reference": "PAYER1003",
        "amount": "-3.25",
    }
    assert (obj["payment_amount"], obj["payment_date"]) == ("213.25", "2025-12-01")


# --- damaged files: one error naming the segment, nothing returned -------------------------

SEGMENTS = CRAFTED.split("~\n")


def cut_after(n: int) -> str:
    """The crafted file with only its first n segments."""
    return "~\n".join(SEGMENTS[:n]) + "~\n"


BROKEN = {
    "empty": ("", "empty file: no ISA segment"),
    "not x12": ("Dear provider, please find", "segment 1: the file does not start with an ISA"),
    "cut inside a segment": (
        CRAFTED[: CRAFTED.index("CAS*CO*50*120.00") + 8],
        "segment 29 (CAS): truncated (the file ends inside it)",
    ),
    "cut between segments": (cut_after(20), "segment 20 (REF): truncated (no SE after it)"),
    "no IEA": (cut_after(52), "segment 52 (GE): truncated (no IEA after it)"),
    "amount": (
        crafted(("CLP*PCN1001*1*250.00*160.00", "CLP*PCN1001*1*250.00*16O.00")),
        "segment 14 (CLP): CLP04 '16O.00' is not an amount",
    ),
    "missing amount": (
        crafted(("SVC*HC:36415*100.00*70.00", "SVC*HC:36415*100.00")),
        "segment 21 (SVC): SVC03 (an amount) is missing",
    ),
    "status": (
        crafted(("CLP*PCN1002*4*", "CLP*PCN1002*7*")),
        "segment 25 (CLP): CLP02 '7' is not a claim status code",
    ),
    "group": (
        crafted(("CAS*CO*50*120.00", "CAS*XX*50*120.00")),
        "segment 29 (CAS): CAS01 'XX' is not an adjustment group (CO, OA, PI, PR)",
    ),
    "plb reason": (
        crafted(("WO:PAYER0500", "ZZ:PAYER0500")),
        "segment 50 (PLB): PLB05 'ZZ' is not a provider adjustment reason",
    ),
    "segment count": (
        crafted(("SE*49*", "SE*48*")),
        "segment 51 (SE): SE01 says '48' segments, the set has 49",
    ),
    "lost segment": (
        crafted(("REF*6R*LINE0002~\n", "")),
        "segment 50 (SE): SE01 says '49' segments, the set has 48",
    ),
    "svc outside a claim": (
        crafted(("LX*1~\n", "LX*1~\nSVC*HC:99213*1.00*1.00~\n"), ("SE*49*", "SE*50*")),
        "segment 14 (SVC): SVC outside a claim (no CLP before it)",
    ),
    "no BPR": (
        crafted(("BPR*I*213.25*C*CHK************20251201~\n", ""), ("SE*49*", "SE*48*")),
        "segment 3 (ST): the transaction set has no BPR (financial information)",
    ),
    "an 837": (
        crafted(("GS*HP*", "GS*HC*")),
        "segment 2 (GS): GS01 is 'HC', not HP (wrong transaction)",
    ),
    "4010": (
        crafted(("*X*005010X221A1", "*X*004010X091A1")),
        "segment 2 (GS): GS08 is '004010X091A1', not 005010X221A1",
    ),
    "bad segment id": (
        crafted(("LX*1~", "lx*1~")),
        "segment 13: 'lx' is not a segment id",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_damaged_file_raises_one_error_naming_the_segment(case: str) -> None:
    text, message = BROKEN[case]
    with pytest.raises(X12ReadError) as raised:
        read_835(text)
    assert raised.value.detail.startswith(message), raised.value.detail
    assert "\n" not in raised.value.detail


def test_a_damaged_second_set_returns_nothing_of_the_first() -> None:
    start, end = CRAFTED.index("ST*835"), CRAFTED.index("GE*1*")
    broken = CRAFTED[start:end].replace("CLP*PCN1002*4*", "CLP*PCN1002*7*")
    with pytest.raises(X12ReadError, match=r"segment 74 \(CLP\): CLP02"):
        read_835(CRAFTED[:end] + broken + "GE*2*101~\nIEA*1*000000101~\n")
