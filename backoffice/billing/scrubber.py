"""The claim scrubber: what payers reject, caught before the claim leaves the practice.

`scrub` reads a `Claim` and returns findings; an empty list means nothing we know of stops
it. Each finding carries a stable `code` (the worklist and the tests key on it), a plain
`message` for the biller (lines and diagnoses counted from 1, as on the CMS-1500 form) and
`where`, the field path to fix, counted from 0 as in the model ("lines[2].diagnosis_pointers").

Only rules that hold for every payer live here: code shapes and validity, counts the 837P
allows, identifiers, dates, coverage, filing limits, duplicates, and the coordination-of-
benefits balancing the 837P guide (005010X222A1, 1.4.4) sets for a secondary claim. Payer
policies (NCCI edits, medical necessity, prior authorisation) are the payer's and the
clearinghouse's to judge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain

from backoffice.billing.claim import (
    Address,
    Claim,
    Coverage,
    FrequencyCode,
    OtherPayer,
    Person,
    Provider,
    Relationship,
    ServiceLine,
)
from backoffice.billing.reference import (
    icd10_problem,
    icd10_without_dot,
    is_billable_icd10,
    is_modifier,
    is_place_of_service,
    is_procedure_code,
    is_valid_icd10,
)
from shared.validators import is_valid_npi

__all__ = ["Finding", "scrub"]

MAX_DIAGNOSES = 12  # HI: ABK plus eleven ABF
MAX_POINTERS = 4  # SV107
MAX_MODIFIERS = 4  # SV101-3..6
MAX_LINES = 50  # LX in one 2300 loop
MAX_CONTROL_NUMBER = 20  # CLM01: many payers keep only 20 characters, then the 835 won't match
_PO_BOX = re.compile(r"\b(P\.?\s*O\.?\s*BOX|POST\s+OFFICE\s+BOX|LOCK\s*BOX)\b", re.IGNORECASE)
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Finding:
    """One reason a payer would reject the claim: what, in plain words, and where to fix it."""

    code: str
    message: str
    where: str


def scrub(claim: Claim, *, today: date, timely_filing_days: int) -> list[Finding]:
    """Every finding on the claim, in a stable order (claim, providers, coverage, diagnoses,
    lines); `timely_filing_days` is this payer's limit counted from the date of service."""
    return list(
        chain(
            _claim_header(claim),
            _providers(claim),
            _coverage(claim),
            _diagnoses(claim),
            _lines(claim, today=today, timely_filing_days=timely_filing_days),
        )
    )


def _claim_header(claim: Claim) -> Iterator[Finding]:
    pcn = claim.patient_control_number.strip()
    if not pcn:
        yield Finding(
            "patient-control-number-missing",
            "The claim has no patient control number, so its payment could not be matched.",
            "patient_control_number",
        )
    elif len(pcn) > MAX_CONTROL_NUMBER:
        yield Finding(
            "patient-control-number-too-long",
            f"The patient control number has {len(pcn)} characters; payers keep only "
            f"{MAX_CONTROL_NUMBER}, so the payment could not be matched back to this claim.",
            "patient_control_number",
        )
    if not is_place_of_service(claim.place_of_service):
        yield _bad_place_of_service(claim.place_of_service, "place_of_service", "The claim")
    if claim.frequency in (FrequencyCode.REPLACEMENT, FrequencyCode.VOID) and not (
        claim.payer_claim_number and claim.payer_claim_number.strip()
    ):
        action = "replacement" if claim.frequency is FrequencyCode.REPLACEMENT else "void"
        yield Finding(
            "payer-claim-number-missing",
            f"A {action} must carry the payer's claim number of the original claim "
            "(from its remittance).",
            "payer_claim_number",
        )
    if claim.onset is not None and claim.lines and claim.onset > claim.first_service_date:
        yield Finding(
            "onset-after-service",
            f"The onset date {claim.onset} is after the first service date "
            f"{claim.first_service_date}.",
            "onset",
        )


def _bad_place_of_service(code: str, where: str, subject: str) -> Finding:
    return Finding(
        "place-of-service-invalid",
        f"{subject} has place of service {code!r}, which is not a CMS place-of-service code.",
        where,
    )


# --- Providers ---------------------------------------------------------------------------


def _providers(claim: Claim) -> Iterator[Finding]:
    billing = claim.billing_provider
    yield from _provider(billing, "billing_provider", "The billing provider")
    if not billing.tax_id or not billing.tax_id.strip():
        yield Finding(
            "tax-id-missing",
            "The billing provider has no tax id (EIN); payers require it.",
            "billing_provider.tax_id",
        )
    elif not (billing.tax_id.isascii() and billing.tax_id.isdigit() and len(billing.tax_id) == 9):
        yield Finding(
            "tax-id-invalid",
            "The billing provider's tax id (EIN) must be nine digits, without the dash.",
            "billing_provider.tax_id",
        )
    yield from _billing_address(billing.address)
    if claim.rendering_provider is not None:
        yield from _provider(
            claim.rendering_provider, "rendering_provider", "The rendering provider"
        )
    if claim.referring_provider is not None:
        referring = claim.referring_provider
        yield from _provider(referring, "referring_provider", "The referring provider")
        if not referring.is_person:
            yield Finding(
                "referring-provider-not-person",
                "The referring provider must be a person (with a first name), not an organisation.",
                "referring_provider.first_name",
            )
    for i, line in enumerate(claim.lines):
        if line.rendering_provider is not None:
            yield from _provider(
                line.rendering_provider,
                f"lines[{i}].rendering_provider",
                f"Line {i + 1}'s rendering provider",
            )


def _provider(provider: Provider, where: str, subject: str) -> Iterator[Finding]:
    if not provider.npi.strip():
        yield Finding("npi-missing", f"{subject} has no NPI.", f"{where}.npi")
    elif not is_valid_npi(provider.npi):
        yield Finding(
            "npi-invalid",
            f"{subject}'s NPI {provider.npi!r} is not a valid NPI (ten digits with a "
            "correct check digit): copy it again from NPPES.",
            f"{where}.npi",
        )
    if not provider.last_name.strip():
        yield Finding("name-missing", f"{subject} has no name.", f"{where}.last_name")


def _billing_address(address: Address | None) -> Iterator[Finding]:
    if address is None:
        yield Finding(
            "billing-address-missing",
            "The billing provider has no address.",
            "billing_provider.address",
        )
        return
    if _PO_BOX.search(address.line1) or (address.line2 and _PO_BOX.search(address.line2)):
        yield Finding(
            "billing-address-po-box",
            "The billing provider's address must be a street address, not a post office "
            "box (a box may go in the pay-to address).",
            "billing_provider.address.line1",
        )
    zip_code = address.postal_code
    if not (zip_code.isascii() and zip_code.isdigit() and len(zip_code) == 9):
        yield Finding(
            "billing-zip-incomplete",
            "The billing provider's ZIP code must have all nine digits (ZIP+4), without the dash.",
            "billing_provider.address.postal_code",
        )


# --- Coverage, subscriber and patient ----------------------------------------------------


def _coverage(claim: Claim) -> Iterator[Finding]:
    coverage = claim.coverage
    if not coverage.payer.name.strip():
        yield Finding("payer-name-missing", "The payer has no name.", "coverage.payer.name")
    if not coverage.payer.identifier.strip():
        yield Finding(
            "payer-id-missing",
            "The payer has no payer id: take it from the payer directory.",
            "coverage.payer.identifier",
        )
    subscriber = coverage.subscriber
    if not (subscriber.member_id and subscriber.member_id.strip()):
        yield Finding(
            "member-id-missing",
            "The subscriber has no member id: copy it from the insurance card.",
            "coverage.subscriber.member_id",
        )
    yield from _person(subscriber, "coverage.subscriber", "subscriber", claim)
    if claim.patient is None:
        if subscriber.address is None:
            yield Finding(
                "address-missing",
                "The subscriber is the patient and has no address.",
                "coverage.subscriber.address",
            )
    else:
        yield from _person(claim.patient, "patient", "patient", claim)
        if claim.patient.address is None:
            yield Finding("address-missing", "The patient has no address.", "patient.address")
    yield from _relationship(claim, coverage)
    if coverage.effective and coverage.expires and coverage.expires < coverage.effective:
        yield Finding(
            "coverage-dates-reversed",
            f"The policy ends ({coverage.expires}) before it starts ({coverage.effective}).",
            "coverage.expires",
        )
    if coverage.payer_responsibility in ("S", "T") and not claim.other_payers:
        yield Finding(
            "other-payer-missing",
            "A secondary or tertiary claim needs the earlier payer and what it paid.",
            "other_payers",
        )
    for i, other in enumerate(claim.other_payers):
        if claim.lines and other.paid_on < claim.first_service_date:
            yield Finding(
                "adjudication-before-service",
                f"The other payer's payment date {other.paid_on} is before the first service "
                f"date {claim.first_service_date}.",
                f"other_payers[{i}].paid_on",
            )
        yield from _other_payer_balance(claim, i, other)


def _other_payer_balance(claim: Claim, i: int, other: OtherPayer) -> Iterator[Finding]:
    """The guide's claim-level COB balance, checked only when lines carry this payer's
    adjudication: its paid amount (AMT*D) = the lines' paid amounts (SVD02) less its
    claim-level adjustments (2320 CAS)."""
    lines_paid = [
        adjudication.paid
        for line in claim.lines
        for adjudication in line.adjudications
        if adjudication.payer_identifier == other.coverage.payer.identifier
    ]
    if not lines_paid:
        return
    adjusted = sum((a.amount for a in other.adjustments), Decimal("0.00"))
    expected = sum(lines_paid, Decimal("0.00")) - adjusted
    if other.paid != expected:
        yield Finding(
            "cob-claim-unbalanced",
            f"The other payer paid {other.paid} on the claim, but its line payments "
            f"({sum(lines_paid, Decimal('0.00'))}) less its claim adjustments ({adjusted}) come "
            f"to {expected}: copy its remittance again.",
            f"other_payers[{i}].paid",
        )


def _person(person: Person, where: str, role: str, claim: Claim) -> Iterator[Finding]:
    for attribute, label in (("last_name", "last name"), ("first_name", "first name")):
        if not getattr(person, attribute).strip():
            yield Finding("name-missing", f"The {role} has no {label}.", f"{where}.{attribute}")
    # The model types it as a date, but a half-filled form can still hand us None.
    if person.date_of_birth is None:
        yield Finding(
            "birth-date-missing", f"The {role} has no birth date.", f"{where}.date_of_birth"
        )
    elif claim.lines and person.date_of_birth > claim.first_service_date:
        yield Finding(
            "birth-date-after-service",
            f"The {role}'s birth date {person.date_of_birth} is after the first service date "
            f"{claim.first_service_date}.",
            f"{where}.date_of_birth",
        )
    if person.sex not in ("M", "F", "U"):
        yield Finding(
            "sex-invalid",
            f"The {role}'s sex must be M, F or U, not {person.sex!r}.",
            f"{where}.sex",
        )


def _relationship(claim: Claim, coverage: Coverage) -> Iterator[Finding]:
    if claim.patient is None and coverage.relationship is not Relationship.SELF:
        yield Finding(
            "relationship-mismatch",
            f"The relationship to the subscriber is {coverage.relationship.name.lower()}, "
            "but no separate patient is given: add the patient or set it to self.",
            "coverage.relationship",
        )
    elif claim.patient is not None and coverage.relationship is Relationship.SELF:
        yield Finding(
            "relationship-mismatch",
            "A separate patient is given, but the relationship to the subscriber is self.",
            "coverage.relationship",
        )


# --- Diagnoses ---------------------------------------------------------------------------


def _diagnoses(claim: Claim) -> Iterator[Finding]:
    if not claim.diagnoses:
        yield Finding("diagnosis-missing", "The claim has no diagnosis.", "diagnoses")
        return
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        yield Finding(
            "too-many-diagnoses",
            f"The claim has {len(claim.diagnoses)} diagnoses; a claim carries at most "
            f"{MAX_DIAGNOSES}: split it into two claims.",
            "diagnoses",
        )
    seen: dict[str, int] = {}
    for i, code in enumerate(claim.diagnoses):
        if not is_valid_icd10(code):
            yield Finding(
                "icd10-invalid",
                f"Diagnosis {i + 1}: {code!r} is not an ICD-10-CM code (with or without the "
                "dot, capital letters, no spaces).",
                f"diagnoses[{i}]",
            )
        elif not is_billable_icd10(code):
            yield Finding(
                "icd10-not-billable", f"Diagnosis {i + 1}: {icd10_problem(code)}", f"diagnoses[{i}]"
            )
        key = icd10_without_dot(code)
        if key in seen:
            yield Finding(
                "diagnosis-repeated",
                f"Diagnosis {i + 1} ({code}) repeats diagnosis {seen[key] + 1}: list it once.",
                f"diagnoses[{i}]",
            )
        else:
            seen[key] = i
    principal = claim.diagnoses[0]
    if principal[:1] in ("V", "W", "X", "Y") and is_valid_icd10(principal):
        yield Finding(
            "external-cause-principal",
            f"{principal} is an external-cause code, which cannot be the first diagnosis: put "
            "the injury or condition first.",
            "diagnoses[0]",
        )


# --- Service lines -----------------------------------------------------------------------


def _lines(claim: Claim, *, today: date, timely_filing_days: int) -> Iterator[Finding]:
    if not claim.lines:
        yield Finding("lines-missing", "The claim has no service lines.", "lines")
        return
    if len(claim.lines) > MAX_LINES:
        yield Finding(
            "too-many-lines",
            f"The claim has {len(claim.lines)} lines; a claim carries at most {MAX_LINES}: "
            "split it.",
            "lines",
        )
    first_seen: dict[tuple[str, tuple[str, ...], date], int] = {}
    for i, line in enumerate(claim.lines):
        yield from _line_codes(claim, i, line)
        yield from _line_amounts(i, line)
        yield from _line_dates(claim, i, line, today=today, days=timely_filing_days)
        yield from _line_balance(i, line)
        key = (line.procedure_code, tuple(sorted(line.modifiers)), line.service_date)
        if key in first_seen:
            yield Finding(
                "duplicate-line",
                f"Line {i + 1} repeats line {first_seen[key] + 1} ({line.procedure_code}, same "
                f"modifiers, {line.service_date}): bill it once with more units, or add a "
                "modifier that says why it was done again.",
                f"lines[{i}]",
            )
        else:
            first_seen[key] = i


def _line_codes(claim: Claim, i: int, line: ServiceLine) -> Iterator[Finding]:
    where = f"lines[{i}]"
    if not is_procedure_code(line.procedure_code):
        yield Finding(
            "procedure-code-invalid",
            f"Line {i + 1}: {line.procedure_code!r} is not a CPT or HCPCS code (five "
            "characters, such as 99213 or G0439).",
            f"{where}.procedure_code",
        )
    if len(line.modifiers) > MAX_MODIFIERS:
        yield Finding(
            "too-many-modifiers",
            f"Line {i + 1} has {len(line.modifiers)} modifiers; a line carries at most "
            f"{MAX_MODIFIERS}.",
            f"{where}.modifiers",
        )
    for m, modifier in enumerate(line.modifiers):
        if not is_modifier(modifier):
            yield Finding(
                "modifier-invalid",
                f"Line {i + 1}: modifier {modifier!r} must be two letters or digits.",
                f"{where}.modifiers[{m}]",
            )
    yield from _line_pointers(claim, i, line)
    if line.place_of_service is not None and not is_place_of_service(line.place_of_service):
        yield _bad_place_of_service(
            line.place_of_service, f"{where}.place_of_service", f"Line {i + 1}"
        )


def _line_pointers(claim: Claim, i: int, line: ServiceLine) -> Iterator[Finding]:
    if not claim.diagnoses:
        return  # one cause, one finding: "diagnosis-missing"
    where = f"lines[{i}].diagnosis_pointers"
    pointers = line.diagnosis_pointers
    if not pointers:
        yield Finding(
            "pointer-missing",
            f"Line {i + 1} points to no diagnosis: every line needs at least one.",
            where,
        )
    elif len(pointers) > MAX_POINTERS:
        yield Finding(
            "too-many-pointers",
            f"Line {i + 1} points to {len(pointers)} diagnoses; a line carries at most "
            f"{MAX_POINTERS}.",
            where,
        )
    for pointer in pointers:
        if not 1 <= pointer <= len(claim.diagnoses):
            yield Finding(
                "pointer-to-missing-diagnosis",
                f"Line {i + 1} points to diagnosis {pointer}, but the claim has "
                f"{len(claim.diagnoses)}.",
                where,
            )


def _line_amounts(i: int, line: ServiceLine) -> Iterator[Finding]:
    if line.charge <= 0:
        yield Finding(
            "charge-not-positive",
            f"Line {i + 1} has a charge of {line.charge}; it must be more than zero.",
            f"lines[{i}].charge",
        )
    elif line.charge != line.charge.quantize(_CENT):
        yield Finding(
            "charge-fractional-cents",
            f"Line {i + 1} has a charge of {line.charge}: use whole cents.",
            f"lines[{i}].charge",
        )
    if line.units <= 0:
        yield Finding(
            "units-not-positive",
            f"Line {i + 1} has {line.units} units; it must be more than zero.",
            f"lines[{i}].units",
        )


def _line_dates(
    claim: Claim, i: int, line: ServiceLine, *, today: date, days: int
) -> Iterator[Finding]:
    where = f"lines[{i}].service_date"
    served = line.service_date
    if served > today:
        yield Finding(
            "service-date-future",
            f"Line {i + 1} is dated {served}, which is in the future.",
            where,
        )
    yield from _outside_coverage(claim.coverage, i, served)
    deadline = served + timedelta(days=days)
    # A void takes back a payment, and a replacement corrects a claim that was filed in
    # time: payers time both from the original claim's remittance, which we are not given.
    if today > deadline and claim.frequency is FrequencyCode.ORIGINAL:
        yield Finding(
            "timely-filing-passed",
            f"Line {i + 1} ({served}) passed this payer's {days}-day filing limit on {deadline}.",
            where,
        )
    for a, adjudication in enumerate(line.adjudications):
        if adjudication.paid_on < served:
            yield Finding(
                "adjudication-before-service",
                f"Line {i + 1}: the other payer's payment date {adjudication.paid_on} is "
                f"before the service date {served}.",
                f"lines[{i}].adjudications[{a}].paid_on",
            )


def _line_balance(i: int, line: ServiceLine) -> Iterator[Finding]:
    """The guide's line-level COB balance: what the other payer paid on the line (SVD02) and
    its adjustments there (2430 CAS) add up to the line's charge (SV102)."""
    for a, adjudication in enumerate(line.adjudications):
        adjusted = sum((x.amount for x in adjudication.adjustments), Decimal("0.00"))
        if adjudication.paid + adjusted != line.charge:
            yield Finding(
                "cob-line-unbalanced",
                f"Line {i + 1}: the other payer's payment ({adjudication.paid}) and adjustments "
                f"({adjusted}) come to {adjudication.paid + adjusted}, not the line's charge "
                f"{line.charge}.",
                f"lines[{i}].adjudications[{a}]",
            )


def _outside_coverage(coverage: Coverage, i: int, served: date) -> Iterator[Finding]:
    effective, expires = coverage.effective, coverage.expires
    if effective and expires and expires < effective:
        return  # reported once, as "coverage-dates-reversed"
    if effective is not None and served < effective:
        yield Finding(
            "service-date-before-coverage",
            f"Line {i + 1} ({served}) is before the policy started ({effective}): check the "
            "date or bill the payer that covered it.",
            f"lines[{i}].service_date",
        )
    if expires is not None and served > expires:
        yield Finding(
            "service-date-after-coverage",
            f"Line {i + 1} ({served}) is after the policy ended ({expires}): check the date "
            "or bill the patient's current payer.",
            f"lines[{i}].service_date",
        )
