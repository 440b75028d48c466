"""The scrubber catches each error payers reject, says where to fix it, and passes a clean claim.

Each case changes one thing on a clean claim and expects exactly one finding: its code, the
field path to fix and the words a biller reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from backoffice.billing.claim import (
    Address,
    Adjustment,
    Claim,
    Coverage,
    FrequencyCode,
    LineAdjudication,
    OtherPayer,
    Party,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.scrubber import Finding, scrub
from shared.validators import npi_with_check_digit

TODAY = date(2025, 6, 30)
SERVED = date(2025, 6, 2)
FILING_DAYS = 90
BILLING_NPI = npi_with_check_digit("123456789")
RENDERING_NPI = npi_with_check_digit("198765432")
REFERRING_NPI = npi_with_check_digit("155544433")
# Thirteen billable codes: one more than a claim carries.
THIRTEEN_DIAGNOSES = tuple(
    "E11.9 I10 R05.9 J45.909 Z00.00 R07.9 M54.50 E78.5 K21.9 F41.1 G43.909 N39.0 L40.0".split()
)
BAD_NPI = BILLING_NPI[:-1] + str((int(BILLING_NPI[-1]) + 1) % 10)


def _subscriber(**changes: Any) -> Person:
    person = Person(
        last_name="Rivera",
        first_name="Ana",
        date_of_birth=date(1980, 4, 12),
        sex="F",
        address=Address("12 Elm St", "Springfield", "IL", "62704"),
        member_id="XYZ123456789",
    )
    return replace(person, **changes)


def _line(**changes: Any) -> ServiceLine:
    line = ServiceLine(
        procedure_code="99213",
        charge=Decimal("125.00"),
        units=Decimal("1"),
        service_date=SERVED,
        diagnosis_pointers=(1, 2),
    )
    return replace(line, **changes)


def _claim(**changes: Any) -> Claim:
    claim = Claim(
        patient_control_number="PCN000123",
        billing_provider=Provider(
            npi=BILLING_NPI,
            last_name="Springfield Family Medicine",
            tax_id="371234567",
            taxonomy_code="207Q00000X",
            address=Address("100 Main St", "Springfield", "IL", "627011234"),
        ),
        coverage=Coverage(
            payer=Party(name="Prairie Health Plan", identifier="PHP01"),
            subscriber=_subscriber(),
            group_number="G100",
            effective=date(2025, 1, 1),
            expires=date(2025, 12, 31),
        ),
        diagnoses=("E11.9", "I10"),
        lines=(_line(), _line(procedure_code="36415", charge=Decimal("15.00"))),
        rendering_provider=Provider(npi=RENDERING_NPI, last_name="Okafor", first_name="Grace"),
        referring_provider=Provider(npi=REFERRING_NPI, last_name="Chen", first_name="Wei"),
    )
    return replace(claim, **changes)


def _coverage(**changes: Any) -> Coverage:
    return replace(_claim().coverage, **changes)


def _billing(**changes: Any) -> Provider:
    return replace(_claim().billing_provider, **changes)


def _scrub(claim: Claim) -> list[Finding]:
    return scrub(claim, today=TODAY, timely_filing_days=FILING_DAYS)


def test_clean_claim_has_no_findings() -> None:
    assert _scrub(_claim()) == []


def test_clean_claim_for_a_dependent_with_secondary_coverage_has_no_findings() -> None:
    primary = _coverage(payer=Party(name="First Payer", identifier="FP001"))
    claim = _claim(
        patient=_subscriber(first_name="Leo", date_of_birth=date(2015, 2, 1), sex="M"),
        coverage=_coverage(relationship=Relationship.CHILD, payer_responsibility="S"),
        other_payers=(
            OtherPayer(
                coverage=primary,
                paid=Decimal("80.00"),
                paid_on=date(2025, 6, 20),
            ),
        ),
        diagnoses=("E119", "S52.501A", "W01.0XXA"),  # without a dot, a 7th character
        lines=(
            _line(
                modifiers=("25",),
                adjudications=(
                    # Balanced as the guide asks: paid + adjustments = the line's 125.00.
                    LineAdjudication(
                        "FP001",
                        "99213",
                        Decimal("80.00"),
                        Decimal("1"),
                        TODAY,
                        adjustments=(
                            Adjustment("CO", "45", Decimal("25.00")),
                            Adjustment("PR", "2", Decimal("20.00")),
                        ),
                    ),
                ),
            ),
            _line(modifiers=("25", "59"), diagnosis_pointers=(1, 2, 3)),
        ),
    )
    assert _scrub(claim) == []


Change = Callable[[], Claim]

CASES: list[tuple[str, Change, str, str, str]] = [
    # (id, claim with one error, code, where, words in the message)
    (
        "invalid-icd10",
        lambda: _claim(diagnoses=("E11.9", "I10.99")),
        "icd10-invalid",
        "diagnoses[1]",
        "Diagnosis 2: 'I10.99' is not an ICD-10-CM code",
    ),
    (
        "lower-case-icd10",
        lambda: _claim(diagnoses=("e11.9", "I10")),
        "icd10-invalid",
        "diagnoses[0]",
        "'e11.9' is not an ICD-10-CM code",
    ),
    (
        "block-is-not-a-code",
        lambda: _claim(diagnoses=("E08-E13", "I10")),
        "icd10-invalid",
        "diagnoses[0]",
        "'E08-E13' is not an ICD-10-CM code",
    ),
    (
        "non-billable-category",
        lambda: _claim(diagnoses=("E11", "I10")),
        "icd10-not-billable",
        "diagnoses[0]",
        "Diagnosis 1: E11 is a heading, not billable: choose a more specific code.",
    ),
    (
        "missing-seventh-character",
        lambda: _claim(diagnoses=("E11.9", "S52501")),
        "icd10-not-billable",
        "diagnoses[1]",
        "S52.501 is a heading, not billable",
    ),
    (
        "no-diagnosis",
        lambda: _claim(diagnoses=()),
        "diagnosis-missing",
        "diagnoses",
        "no diagnosis",
    ),
    (
        "more-than-12-diagnoses",
        lambda: _claim(diagnoses=THIRTEEN_DIAGNOSES),
        "too-many-diagnoses",
        "diagnoses",
        "13 diagnoses; a claim carries at most 12",
    ),
    (
        "repeated-diagnosis-with-and-without-dot",
        lambda: _claim(diagnoses=("E11.9", "I10", "E119")),
        "diagnosis-repeated",
        "diagnoses[2]",
        "Diagnosis 3 (E119) repeats diagnosis 1",
    ),
    (
        "external-cause-first",
        lambda: _claim(diagnoses=("W01.0XXA", "S52.501A")),
        "external-cause-principal",
        "diagnoses[0]",
        "cannot be the first diagnosis",
    ),
    (
        "pointer-to-missing-diagnosis",
        lambda: _claim(lines=(_line(), _line(procedure_code="36415", diagnosis_pointers=(3,)))),
        "pointer-to-missing-diagnosis",
        "lines[1].diagnosis_pointers",
        "Line 2 points to diagnosis 3, but the claim has 2",
    ),
    (
        "pointer-zero",
        lambda: _claim(lines=(_line(diagnosis_pointers=(0,)),)),
        "pointer-to-missing-diagnosis",
        "lines[0].diagnosis_pointers",
        "points to diagnosis 0",
    ),
    (
        "no-pointer",
        lambda: _claim(lines=(_line(diagnosis_pointers=()),)),
        "pointer-missing",
        "lines[0].diagnosis_pointers",
        "Line 1 points to no diagnosis",
    ),
    (
        "more-than-4-pointers",
        lambda: _claim(
            diagnoses=("E11.9", "I10", "R05.9", "J45.909", "R07.9"),
            lines=(_line(diagnosis_pointers=(1, 2, 3, 4, 5)),),
        ),
        "too-many-pointers",
        "lines[0].diagnosis_pointers",
        "points to 5 diagnoses; a line carries at most 4",
    ),
    (
        "more-than-4-modifiers",
        lambda: _claim(lines=(_line(modifiers=("25", "59", "XE", "GT", "95")),)),
        "too-many-modifiers",
        "lines[0].modifiers",
        "Line 1 has 5 modifiers; a line carries at most 4",
    ),
    (
        "malformed-modifier",
        lambda: _claim(lines=(_line(modifiers=("25", "5")),)),
        "modifier-invalid",
        "lines[0].modifiers[1]",
        "modifier '5' must be two letters or digits",
    ),
    (
        "malformed-procedure-code",
        lambda: _claim(lines=(_line(procedure_code="9921"),)),
        "procedure-code-invalid",
        "lines[0].procedure_code",
        "'9921' is not a CPT or HCPCS code",
    ),
    (
        "billing-npi-check-digit",
        lambda: _claim(billing_provider=_billing(npi=BAD_NPI)),
        "npi-invalid",
        "billing_provider.npi",
        f"The billing provider's NPI '{BAD_NPI}' is not a valid NPI",
    ),
    (
        "rendering-npi-check-digit",
        lambda: _claim(
            rendering_provider=Provider(npi="1234567890", last_name="Okafor", first_name="G")
        ),
        "npi-invalid",
        "rendering_provider.npi",
        "rendering provider's NPI '1234567890'",
    ),
    (
        "referring-npi-check-digit",
        lambda: _claim(
            referring_provider=Provider(npi="123456789", last_name="Chen", first_name="Wei")
        ),
        "npi-invalid",
        "referring_provider.npi",
        "referring provider's NPI '123456789'",
    ),
    (
        "line-rendering-npi-check-digit",
        lambda: _claim(
            lines=(
                _line(rendering_provider=Provider(npi=BAD_NPI, last_name="Lee", first_name="J")),
            )
        ),
        "npi-invalid",
        "lines[0].rendering_provider.npi",
        f"Line 1's rendering provider's NPI '{BAD_NPI}'",
    ),
    (
        "billing-npi-missing",
        lambda: _claim(billing_provider=_billing(npi="")),
        "npi-missing",
        "billing_provider.npi",
        "The billing provider has no NPI",
    ),
    (
        "referring-organisation",
        lambda: _claim(referring_provider=Provider(npi=REFERRING_NPI, last_name="Clinic")),
        "referring-provider-not-person",
        "referring_provider.first_name",
        "must be a person",
    ),
    (
        "member-id-missing",
        lambda: _claim(coverage=_coverage(subscriber=_subscriber(member_id=None))),
        "member-id-missing",
        "coverage.subscriber.member_id",
        "no member id",
    ),
    (
        "payer-id-missing",
        lambda: _claim(coverage=_coverage(payer=Party(name="Prairie Health Plan", identifier=""))),
        "payer-id-missing",
        "coverage.payer.identifier",
        "no payer id",
    ),
    (
        "payer-name-missing",
        lambda: _claim(coverage=_coverage(payer=Party(name=" ", identifier="PHP01"))),
        "payer-name-missing",
        "coverage.payer.name",
        "The payer has no name",
    ),
    (
        "subscriber-last-name-missing",
        lambda: _claim(coverage=_coverage(subscriber=_subscriber(last_name=""))),
        "name-missing",
        "coverage.subscriber.last_name",
        "The subscriber has no last name",
    ),
    (
        "patient-first-name-missing",
        lambda: _claim(
            patient=_subscriber(first_name="", date_of_birth=date(2015, 2, 1)),
            coverage=_coverage(relationship=Relationship.CHILD),
        ),
        "name-missing",
        "patient.first_name",
        "The patient has no first name",
    ),
    (
        "subscriber-birth-date-missing",
        lambda: _claim(coverage=_coverage(subscriber=_subscriber(date_of_birth=None))),
        "birth-date-missing",
        "coverage.subscriber.date_of_birth",
        "The subscriber has no birth date",
    ),
    (
        "subscriber-address-missing",
        lambda: _claim(coverage=_coverage(subscriber=_subscriber(address=None))),
        "address-missing",
        "coverage.subscriber.address",
        "The subscriber is the patient and has no address",
    ),
    (
        "patient-address-missing",
        lambda: _claim(
            patient=_subscriber(first_name="Leo", address=None),
            coverage=_coverage(relationship=Relationship.CHILD),
        ),
        "address-missing",
        "patient.address",
        "The patient has no address",
    ),
    (
        "sex-invalid",
        lambda: _claim(coverage=_coverage(subscriber=_subscriber(sex="X"))),
        "sex-invalid",
        "coverage.subscriber.sex",
        "must be M, F or U, not 'X'",
    ),
    (
        "relationship-without-patient",
        lambda: _claim(coverage=_coverage(relationship=Relationship.SPOUSE)),
        "relationship-mismatch",
        "coverage.relationship",
        "relationship to the subscriber is spouse, but no separate patient",
    ),
    (
        "patient-but-relationship-self",
        lambda: _claim(patient=_subscriber(first_name="Leo")),
        "relationship-mismatch",
        "coverage.relationship",
        "relationship to the subscriber is self",
    ),
    (
        "billing-address-missing",
        lambda: _claim(billing_provider=_billing(address=None)),
        "billing-address-missing",
        "billing_provider.address",
        "The billing provider has no address",
    ),
    (
        "billing-address-po-box",
        lambda: _claim(
            billing_provider=_billing(
                address=Address("P.O. Box 42", "Springfield", "IL", "627011234")
            )
        ),
        "billing-address-po-box",
        "billing_provider.address.line1",
        "street address, not a post office box",
    ),
    (
        "billing-zip-five-digits",
        lambda: _claim(
            billing_provider=_billing(address=Address("100 Main St", "Springfield", "IL", "62701"))
        ),
        "billing-zip-incomplete",
        "billing_provider.address.postal_code",
        "all nine digits",
    ),
    (
        "billing-zip-with-dash",
        lambda: _claim(
            billing_provider=_billing(
                address=Address("100 Main St", "Springfield", "IL", "62701-1234")
            )
        ),
        "billing-zip-incomplete",
        "billing_provider.address.postal_code",
        "without the dash",
    ),
    (
        "ein-missing",
        lambda: _claim(billing_provider=_billing(tax_id=None)),
        "tax-id-missing",
        "billing_provider.tax_id",
        "no tax id (EIN)",
    ),
    (
        "ein-malformed",
        lambda: _claim(billing_provider=_billing(tax_id="37-1234567")),
        "tax-id-invalid",
        "billing_provider.tax_id",
        "must be nine digits, without the dash",
    ),
    (
        "billing-provider-name-missing",
        lambda: _claim(billing_provider=_billing(last_name="")),
        "name-missing",
        "billing_provider.last_name",
        "The billing provider has no name",
    ),
    (
        "onset-after-service",
        lambda: _claim(onset=SERVED + timedelta(days=1)),
        "onset-after-service",
        "onset",
        "onset date 2025-06-03 is after the first service date 2025-06-02",
    ),
    (
        "birth-after-service",
        lambda: _claim(coverage=_coverage(subscriber=_subscriber(date_of_birth=date(2025, 6, 5)))),
        "birth-date-after-service",
        "coverage.subscriber.date_of_birth",
        "birth date 2025-06-05 is after the first service date 2025-06-02",
    ),
    (
        "coverage-ends-before-it-starts",
        lambda: _claim(coverage=_coverage(effective=date(2025, 1, 1), expires=date(2024, 12, 31))),
        "coverage-dates-reversed",
        "coverage.expires",
        "ends (2024-12-31) before it starts (2025-01-01)",
    ),
    (
        "service-in-the-future",
        lambda: _claim(lines=(_line(service_date=TODAY + timedelta(days=1)),)),
        "service-date-future",
        "lines[0].service_date",
        "Line 1 is dated 2025-07-01, which is in the future",
    ),
    (
        "service-before-coverage",
        lambda: _claim(lines=(_line(),), coverage=_coverage(effective=SERVED + timedelta(days=1))),
        "service-date-before-coverage",
        "lines[0].service_date",
        "before the policy started (2025-06-03)",
    ),
    (
        "service-after-coverage",
        lambda: _claim(lines=(_line(),), coverage=_coverage(expires=SERVED - timedelta(days=1))),
        "service-date-after-coverage",
        "lines[0].service_date",
        "after the policy ended (2025-06-01)",
    ),
    (
        "other-payer-paid-before-service",
        lambda: _claim(
            coverage=_coverage(payer_responsibility="S"),
            other_payers=(OtherPayer(_coverage(), Decimal("80.00"), SERVED - timedelta(days=1)),),
        ),
        "adjudication-before-service",
        "other_payers[0].paid_on",
        "payment date 2025-06-01 is before the first service date",
    ),
    (
        "timely-filing-passed",
        lambda: _claim(
            lines=(_line(service_date=TODAY - timedelta(days=FILING_DAYS + 1)),),
            coverage=_coverage(effective=date(2024, 1, 1)),
        ),
        "timely-filing-passed",
        "lines[0].service_date",
        "Line 1 (2025-03-31) passed this payer's 90-day filing limit on 2025-06-29",
    ),
    (
        "duplicate-line",
        lambda: _claim(lines=(_line(modifiers=("25", "59")), _line(modifiers=("59", "25")))),
        "duplicate-line",
        "lines[1]",
        "Line 2 repeats line 1 (99213, same modifiers, 2025-06-02)",
    ),
    (
        "zero-charge",
        lambda: _claim(lines=(_line(charge=Decimal("0.00")),)),
        "charge-not-positive",
        "lines[0].charge",
        "charge of 0.00; it must be more than zero",
    ),
    (
        "negative-charge",
        lambda: _claim(lines=(_line(charge=Decimal("-5.00")),)),
        "charge-not-positive",
        "lines[0].charge",
        "charge of -5.00",
    ),
    (
        "fraction-of-a-cent",
        lambda: _claim(lines=(_line(charge=Decimal("125.005")),)),
        "charge-fractional-cents",
        "lines[0].charge",
        "use whole cents",
    ),
    (
        "zero-units",
        lambda: _claim(lines=(_line(units=Decimal("0")),)),
        "units-not-positive",
        "lines[0].units",
        "Line 1 has 0 units",
    ),
    (
        "negative-units",
        lambda: _claim(lines=(_line(units=Decimal("-1")),)),
        "units-not-positive",
        "lines[0].units",
        "Line 1 has -1 units",
    ),
    (
        "invalid-place-of-service",
        lambda: _claim(place_of_service="30"),
        "place-of-service-invalid",
        "place_of_service",
        "place of service '30', which is not a CMS place-of-service code",
    ),
    (
        "invalid-line-place-of-service",
        lambda: _claim(lines=(_line(place_of_service="1"),)),
        "place-of-service-invalid",
        "lines[0].place_of_service",
        "Line 1 has place of service '1'",
    ),
    (
        "replacement-without-payer-claim-number",
        lambda: _claim(frequency=FrequencyCode.REPLACEMENT),
        "payer-claim-number-missing",
        "payer_claim_number",
        "A replacement must carry the payer's claim number",
    ),
    (
        "void-without-payer-claim-number",
        lambda: _claim(frequency=FrequencyCode.VOID, payer_claim_number=" "),
        "payer-claim-number-missing",
        "payer_claim_number",
        "A void must carry the payer's claim number",
    ),
    (
        "secondary-without-primary",
        lambda: _claim(coverage=_coverage(payer_responsibility="S")),
        "other-payer-missing",
        "other_payers",
        "needs the earlier payer and what it paid",
    ),
    (
        "patient-control-number-missing",
        lambda: _claim(patient_control_number=""),
        "patient-control-number-missing",
        "patient_control_number",
        "no patient control number",
    ),
    (
        "patient-control-number-too-long",
        lambda: _claim(patient_control_number="P" * 21),
        "patient-control-number-too-long",
        "patient_control_number",
        "21 characters; payers keep only 20",
    ),
    (
        "no-lines",
        lambda: _claim(lines=()),
        "lines-missing",
        "lines",
        "no service lines",
    ),
    (
        "more-than-50-lines",
        lambda: _claim(
            lines=tuple(_line(service_date=SERVED - timedelta(days=d)) for d in range(51))
        ),
        "too-many-lines",
        "lines",
        "51 lines; a claim carries at most 50",
    ),
]


@pytest.mark.parametrize(
    ("make", "code", "where", "words"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_scrubber_catches(make: Change, code: str, where: str, words: str) -> None:
    findings = _scrub(make())
    assert [(f.code, f.where) for f in findings] == [(code, where)], findings
    assert words in findings[0].message


def test_a_claim_with_many_errors_reports_each_in_claim_then_line_order() -> None:
    claim = _claim(
        place_of_service="00",
        diagnoses=("E11",),
        lines=(_line(diagnosis_pointers=(2,)), _line(charge=Decimal("0"), units=Decimal("0"))),
    )
    assert [(f.code, f.where) for f in _scrub(claim)] == [
        ("place-of-service-invalid", "place_of_service"),
        ("icd10-not-billable", "diagnoses[0]"),
        ("pointer-to-missing-diagnosis", "lines[0].diagnosis_pointers"),
        ("pointer-to-missing-diagnosis", "lines[1].diagnosis_pointers"),
        ("charge-not-positive", "lines[1].charge"),
        ("units-not-positive", "lines[1].units"),
        ("duplicate-line", "lines[1]"),
    ]


def test_timely_filing_allows_the_last_day() -> None:
    claim = _claim(lines=(_line(service_date=TODAY - timedelta(days=FILING_DAYS)),))
    assert _scrub(replace(claim, coverage=_coverage(effective=date(2024, 1, 1)))) == []


def test_a_void_may_be_sent_after_the_filing_limit() -> None:
    old = TODAY - timedelta(days=FILING_DAYS + 30)
    claim = _claim(
        frequency=FrequencyCode.VOID,
        payer_claim_number="PAYER-CLAIM-77",
        lines=(_line(service_date=old),),
        coverage=_coverage(effective=date(2024, 1, 1)),
    )
    assert _scrub(claim) == []


def test_the_same_code_on_different_days_or_modifiers_is_not_a_duplicate() -> None:
    claim = _claim(
        lines=(
            _line(),
            _line(service_date=SERVED - timedelta(days=1)),
            _line(modifiers=("76",)),
        )
    )
    assert _scrub(claim) == []


def test_a_finding_is_plain_data() -> None:
    (finding,) = _scrub(_claim(place_of_service="30"))
    assert finding == Finding(
        code="place-of-service-invalid",
        message="The claim has place of service '30', which is not a CMS place-of-service code.",
        where="place_of_service",
    )


# --- coordination of benefits: the 837P guide's balancing -------------------------------------

FIRST_PAYER = Party(name="First Payer", identifier="FP001")


def _secondary(
    *, paid: str, claim_adjustments: tuple[Adjustment, ...] = (), lines: tuple[ServiceLine, ...]
) -> Claim:
    """A secondary claim after First Payer adjudicated it, by line."""
    return _claim(
        coverage=_coverage(payer_responsibility="S"),
        other_payers=(
            OtherPayer(
                coverage=_coverage(payer=FIRST_PAYER),
                paid=Decimal(paid),
                paid_on=TODAY,
                adjustments=claim_adjustments,
            ),
        ),
        lines=lines,
    )


def _adjudicated(paid: str, *adjustments: Adjustment, **changes: Any) -> ServiceLine:
    return _line(
        adjudications=(
            LineAdjudication(
                "FP001", "99213", Decimal(paid), Decimal("1"), TODAY, adjustments=adjustments
            ),
        ),
        **changes,
    )


CO45 = Adjustment("CO", "45", Decimal("25.00"))


def test_a_secondary_claim_balanced_by_line_and_claim_has_no_findings() -> None:
    claim = _secondary(
        paid="70.00",  # 80.00 on the line, less the 10.00 it adjusted on the claim
        claim_adjustments=(Adjustment("OA", "23", Decimal("10.00")),),
        lines=(_adjudicated("80.00", CO45, Adjustment("PR", "2", Decimal("20.00"))),),
    )
    assert _scrub(claim) == []


def test_a_line_whose_other_payer_amounts_miss_its_charge_is_unbalanced() -> None:
    claim = _secondary(paid="80.00", lines=(_adjudicated("80.00", CO45),))
    [finding] = _scrub(claim)
    assert (finding.code, finding.where) == ("cob-line-unbalanced", "lines[0].adjudications[0]")
    assert finding.message == (
        "Line 1: the other payer's payment (80.00) and adjustments (25.00) come to 105.00, "
        "not the line's charge 125.00."
    )


def test_the_other_payers_claim_payment_must_be_its_line_payments() -> None:
    claim = _secondary(
        paid="100.00",
        lines=(
            _adjudicated("80.00", CO45, Adjustment("PR", "2", Decimal("20.00"))),
            _adjudicated("15.00", procedure_code="36415", charge=Decimal("15.00")),
        ),
    )
    [finding] = _scrub(claim)
    assert (finding.code, finding.where) == ("cob-claim-unbalanced", "other_payers[0].paid")
    assert "paid 100.00 on the claim, but its line payments (95.00)" in finding.message


def test_an_other_payer_known_only_by_claim_is_not_balanced_by_line() -> None:
    # No 2430 loop for it: the guide asks no claim-level balance then.
    claim = _secondary(paid="12.34", claim_adjustments=(CO45,), lines=(_line(),))
    assert _scrub(claim) == []


def test_a_replacement_is_not_held_for_the_filing_limit() -> None:
    old = TODAY - timedelta(days=FILING_DAYS + 30)
    claim = _claim(
        frequency=FrequencyCode.REPLACEMENT,
        payer_claim_number="PAYER-CLAIM-77",
        lines=(_line(service_date=old),),
        coverage=_coverage(effective=date(2024, 1, 1)),
    )
    assert _scrub(claim) == []
    assert [f.code for f in _scrub(replace(claim, frequency=FrequencyCode.ORIGINAL))] == [
        "timely-filing-passed"
    ]
