"""Billing reference data: places of service, adjustment and remark codes, ICD-10-CM checks.

Pure data and lookups, no I/O: the scrubber, the 835 posting and the denials worklist read
them, so a biller sees a plain sentence beside every code.

- Places of service: the CMS place-of-service code set (public domain), with short labels.
- CARC (claim adjustment reason codes) and RARC (remittance advice remark codes): a chosen set
  of the common ones. Every explanation here is OUR OWN PARAPHRASE of the code's meaning, not
  the official X12 / CMS wording; the official lists (x12.org/codes) are the authority, and a
  code missing here is explained as unknown rather than guessed.
- Procedure codes: CPT descriptors are AMA-licensed, so this module holds codes with our own
  short labels only, never a descriptor.
- ICD-10-CM: validity and billable-leaf checks through simple-icd-10-cm (CDC/NCHS data, public
  domain). The library carries one release (FY2026, April 2026 update); a code valid only in
  an earlier or later year is judged by that release.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from types import MappingProxyType, ModuleType
from typing import Final

__all__ = [
    "ADJUSTMENT_GROUPS",
    "CARC",
    "PLACES_OF_SERVICE",
    "PROCEDURE_LABELS",
    "RARC",
    "Reason",
    "ReasonCategory",
    "describe_icd10",
    "explain_carc",
    "explain_rarc",
    "icd10_problem",
    "icd10_with_dot",
    "icd10_without_dot",
    "is_billable_icd10",
    "is_modifier",
    "is_place_of_service",
    "is_procedure_code",
    "is_valid_icd10",
]

# --- Places of service (CMS POS code set) ------------------------------------------------

PLACES_OF_SERVICE: Final = MappingProxyType(
    {
        "01": "Pharmacy",
        "02": "Telehealth, not in the patient's home",
        "03": "School",
        "04": "Homeless shelter",
        "05": "Indian Health Service, free-standing",
        "06": "Indian Health Service, provider-based",
        "07": "Tribal 638, free-standing",
        "08": "Tribal 638, provider-based",
        "09": "Prison or correctional facility",
        "10": "Telehealth in the patient's home",
        "11": "Office",
        "12": "Home",
        "13": "Assisted living facility",
        "14": "Group home",
        "15": "Mobile unit",
        "16": "Temporary lodging",
        "17": "Walk-in retail health clinic",
        "18": "Place of employment (worksite)",
        "19": "Off-campus outpatient hospital",
        "20": "Urgent care facility",
        "21": "Inpatient hospital",
        "22": "On-campus outpatient hospital",
        "23": "Hospital emergency room",
        "24": "Ambulatory surgical center",
        "25": "Birthing center",
        "26": "Military treatment facility",
        "27": "Outreach site or street",
        "31": "Skilled nursing facility",
        "32": "Nursing facility",
        "33": "Custodial care facility",
        "34": "Hospice",
        "41": "Ambulance, land",
        "42": "Ambulance, air or water",
        "49": "Independent clinic",
        "50": "Federally qualified health center",
        "51": "Inpatient psychiatric facility",
        "52": "Psychiatric facility, partial hospitalisation",
        "53": "Community mental health center",
        "54": "Intermediate care facility (intellectual disabilities)",
        "55": "Residential substance use treatment facility",
        "56": "Psychiatric residential treatment center",
        "57": "Non-residential substance use treatment facility",
        "58": "Non-residential opioid treatment facility",
        "60": "Mass immunisation center",
        "61": "Comprehensive inpatient rehabilitation facility",
        "62": "Comprehensive outpatient rehabilitation facility",
        "65": "End-stage renal disease treatment facility",
        "66": "PACE center",
        "71": "Public health clinic",
        "72": "Rural health clinic",
        "81": "Independent laboratory",
        "99": "Other place of service",
    }
)


def is_place_of_service(code: str) -> bool:
    return code in PLACES_OF_SERVICE


# --- Procedure codes: formats and our own labels ----------------------------------------

# CPT Category I (5 digits), Category II (4 digits + F), Category III (+ T), PLA (+ U);
# HCPCS Level II: a letter A-V and 4 digits.
_PROCEDURE_CODE = re.compile(r"^(\d{5}|\d{4}[FTU]|[A-V]\d{4})$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")

# Our own short labels (not AMA descriptors) for the codes the front desk sees most.
PROCEDURE_LABELS: Final = MappingProxyType(
    {
        "99202": "New patient visit, level 2",
        "99203": "New patient visit, level 3",
        "99204": "New patient visit, level 4",
        "99205": "New patient visit, level 5",
        "99211": "Established patient visit, level 1",
        "99212": "Established patient visit, level 2",
        "99213": "Established patient visit, level 3",
        "99214": "Established patient visit, level 4",
        "99215": "Established patient visit, level 5",
        "36415": "Blood draw",
        "81002": "Urine dipstick",
        "85025": "Blood count",
        "90471": "Vaccine given, first",
        "93000": "ECG",
        "G0438": "Medicare wellness visit, first",
        "G0439": "Medicare wellness visit, later",
    }
)


def is_procedure_code(code: str) -> bool:
    """The shape of a CPT or HCPCS Level II code; whether the code exists is the payer's call."""
    return bool(_PROCEDURE_CODE.match(code))


def is_modifier(code: str) -> bool:
    return bool(_MODIFIER.match(code))


# --- Adjustment groups, CARC and RARC ----------------------------------------------------


class ReasonCategory(StrEnum):
    """What kind of work a code means for the biller: the denials worklist groups by it."""

    PATIENT_SHARE = "patient-share"  # bill the patient
    CONTRACTUAL = "contractual"  # write off under the contract
    CODING = "coding"  # fix a code, modifier or pointer and resubmit
    MISSING_INFORMATION = "missing-information"  # add what is missing and resubmit
    ELIGIBILITY = "eligibility"  # check the policy and the member
    COORDINATION = "coordination"  # another payer first, or its EOB needed
    AUTHORIZATION = "authorization"  # prior authorisation or referral
    DUPLICATE = "duplicate"  # already sent or paid
    TIMELY_FILING = "timely-filing"  # sent too late
    MEDICAL_NECESSITY = "medical-necessity"  # records or appeal
    NOT_COVERED = "not-covered"  # the plan does not pay for it
    PROVIDER = "provider"  # provider enrolment, type or identifier
    INFORMATIONAL = "informational"  # nothing to do


@dataclass(frozen=True)
class Reason:
    """A CARC or RARC with our paraphrase of its meaning (not the official wording)."""

    code: str
    explanation: str
    category: ReasonCategory


_C = ReasonCategory

# CAS01 group codes in 5010: who bears the adjustment. (The "OI" is OA; CR, a
# correction group of 4010, is gone from 5010.)
ADJUSTMENT_GROUPS: Final = MappingProxyType(
    {
        "CO": "Contractual: the provider writes it off; the patient is not billed for it.",
        "PR": "Patient responsibility: the patient owes it (deductible, coinsurance, copay…).",
        "OA": "Other adjustment: often what another payer already covered.",
        "PI": "Payer-initiated reduction: the payer's own cut, not the patient's to pay.",
    }
)


def _table(rows: tuple[tuple[str, ReasonCategory, str], ...]) -> MappingProxyType[str, Reason]:
    return MappingProxyType({code: Reason(code, text, cat) for code, cat, text in rows})


# Paraphrased in our own words; see the module docstring.
CARC: Final = _table(
    (
        ("1", _C.PATIENT_SHARE, "Applied to the patient's deductible."),
        ("2", _C.PATIENT_SHARE, "The patient's coinsurance share."),
        ("3", _C.PATIENT_SHARE, "The patient's copay."),
        ("4", _C.CODING, "A modifier is missing or does not fit the procedure code."),
        ("5", _C.CODING, "The procedure does not fit the place of service billed."),
        ("6", _C.CODING, "The procedure does not fit the patient's age."),
        ("7", _C.CODING, "The procedure does not fit the patient's sex."),
        ("8", _C.PROVIDER, "The procedure does not fit the provider's type or specialty."),
        ("9", _C.CODING, "The diagnosis does not fit the patient's age."),
        ("11", _C.CODING, "The diagnosis does not support the procedure billed."),
        (
            "16",
            _C.MISSING_INFORMATION,
            "Information is missing or wrong on the claim; the "
            "remark codes say what. Fix and send again.",
        ),
        ("18", _C.DUPLICATE, "The same claim or service was already sent."),
        ("19", _C.COORDINATION, "A work injury: the workers' compensation carrier should pay."),
        ("22", _C.COORDINATION, "Another payer may be primary under coordination of benefits."),
        ("23", _C.COORDINATION, "Reduced by what an earlier payer already paid or adjusted."),
        ("24", _C.CONTRACTUAL, "Covered by a capitation or managed-care arrangement."),
        ("26", _C.ELIGIBILITY, "The service was before the coverage started."),
        ("27", _C.ELIGIBILITY, "The service was after the coverage ended."),
        ("29", _C.TIMELY_FILING, "Sent after the payer's filing deadline."),
        ("31", _C.ELIGIBILITY, "The payer cannot find the patient as its member."),
        ("32", _C.ELIGIBILITY, "The patient is not an eligible dependent on this policy."),
        ("33", _C.ELIGIBILITY, "The policy has no dependent coverage."),
        ("39", _C.AUTHORIZATION, "Authorisation was refused when it was asked for."),
        ("45", _C.CONTRACTUAL, "The charge is above the allowed amount or fee schedule."),
        ("49", _C.NOT_COVERED, "A routine or preventive service the plan does not cover."),
        ("50", _C.MEDICAL_NECESSITY, "The payer does not consider it medically necessary."),
        ("55", _C.NOT_COVERED, "The payer considers it experimental or investigational."),
        ("58", _C.CODING, "The place of service is not right for this service."),
        ("59", _C.CONTRACTUAL, "Reduced under multiple or concurrent procedure rules."),
        ("94", _C.CONTRACTUAL, "Processed for more than was charged."),
        ("96", _C.NOT_COVERED, "Not covered; the remark codes usually say why."),
        ("97", _C.CODING, "Bundled: already paid as part of another service."),
        ("100", _C.INFORMATIONAL, "Payment went to the patient or insured, not the provider."),
        ("107", _C.CODING, "A related or qualifying service is not on this claim."),
        ("109", _C.COORDINATION, "This payer does not cover it: send it to the right payer."),
        ("119", _C.NOT_COVERED, "The benefit maximum for the period has been reached."),
        ("129", _C.MISSING_INFORMATION, "The prior payer's processing details look wrong."),
        ("140", _C.ELIGIBILITY, "The member id and the name do not match."),
        ("146", _C.CODING, "The diagnosis code was not valid on the date of service."),
        ("151", _C.MEDICAL_NECESSITY, "The records do not support this many services."),
        ("167", _C.NOT_COVERED, "The diagnosis is not covered."),
        ("170", _C.PROVIDER, "Not paid when this type of provider performs or bills it."),
        ("181", _C.CODING, "The procedure code was not valid on the date of service."),
        ("182", _C.CODING, "The modifier was not valid on the date of service."),
        ("185", _C.PROVIDER, "The rendering provider may not perform the service billed."),
        ("197", _C.AUTHORIZATION, "No prior authorisation, notification or referral on file."),
        ("198", _C.AUTHORIZATION, "More was done than the authorisation allows."),
        ("204", _C.NOT_COVERED, "Not covered by the patient's current benefit plan."),
        ("206", _C.PROVIDER, "The NPI is missing."),
        ("207", _C.PROVIDER, "The NPI is not in a valid format."),
        ("208", _C.PROVIDER, "The NPI does not match the payer's records."),
        (
            "226",
            _C.MISSING_INFORMATION,
            "Information the payer asked the provider for is missing or incomplete.",
        ),
        (
            "227",
            _C.MISSING_INFORMATION,
            "Information the payer asked the patient for is missing or incomplete.",
        ),
        ("234", _C.CODING, "This procedure is not paid on its own."),
        ("236", _C.CODING, "Not allowed with another procedure on the same day (NCCI edits)."),
        (
            "242",
            _C.CONTRACTUAL,
            "The provider is outside the network or not the patient's primary care provider.",
        ),
        ("253", _C.CONTRACTUAL, "Sequestration: the federal payment reduction."),
        ("A1", _C.MISSING_INFORMATION, "Claim or service denied; the remark codes say why."),
        ("B7", _C.PROVIDER, "The provider was not eligible to be paid for this on that date."),
        ("B15", _C.CODING, "A qualifying service must be paid first, and was not."),
    )
)

# Remark codes: M, MA and N prefixes (CMS maintains them). Paraphrased in our own words.
RARC: Final = _table(
    (
        ("M15", _C.CODING, "Billed separately, but bundled as parts of one procedure."),
        ("M20", _C.CODING, "The HCPCS code is missing, incomplete or invalid."),
        ("M51", _C.CODING, "A procedure code is missing, incomplete or invalid."),
        ("M62", _C.AUTHORIZATION, "The authorisation number is missing, incomplete or invalid."),
        ("M76", _C.CODING, "A diagnosis is missing, incomplete or invalid."),
        ("M77", _C.CODING, "The place of service is missing, incomplete, invalid or wrong."),
        ("M80", _C.CODING, "Not covered on the same day as a service already processed."),
        ("M86", _C.DUPLICATE, "Already paid for the same or a similar service in this period."),
        ("M119", _C.CODING, "The drug's NDC is missing, incomplete, invalid or withdrawn."),
        ("M127", _C.MEDICAL_NECESSITY, "The medical record for this service is missing."),
        ("MA01", _C.INFORMATIONAL, "How to appeal if you disagree with this decision."),
        ("MA04", _C.COORDINATION, "A secondary claim needs the primary payer and what it paid."),
        ("MA07", _C.INFORMATIONAL, "The claim was also forwarded to Medicaid."),
        (
            "MA18",
            _C.INFORMATIONAL,
            "The claim was also forwarded to the patient's supplemental insurer.",
        ),
        ("MA120", _C.PROVIDER, "The CLIA number is missing, incomplete or invalid."),
        (
            "MA130",
            _C.MISSING_INFORMATION,
            "The claim cannot be processed as sent: fix it and send a new claim (no appeal).",
        ),
        ("N4", _C.COORDINATION, "The prior payer's EOB is missing, incomplete or invalid."),
        ("N20", _C.CODING, "Not paid with another service on the same date."),
        ("N30", _C.ELIGIBILITY, "The patient is not eligible for this service."),
        ("N56", _C.CODING, "The procedure code does not fit the service or the date."),
        ("N95", _C.PROVIDER, "This provider type or specialty may not bill this service."),
        ("N115", _C.MEDICAL_NECESSITY, "Decided under a Local Coverage Determination."),
        ("N130", _C.NOT_COVERED, "See the plan's benefit documents for this service's limits."),
        ("N179", _C.MISSING_INFORMATION, "The payer has asked the member for more information."),
        ("N211", _C.INFORMATIONAL, "This decision cannot be appealed."),
        ("N265", _C.PROVIDER, "The ordering provider's identifier is missing or invalid."),
        ("N286", _C.PROVIDER, "The referring provider's identifier is missing or invalid."),
        ("N290", _C.PROVIDER, "The rendering provider's identifier is missing or invalid."),
        ("N382", _C.ELIGIBILITY, "The patient's identifier is missing, incomplete or invalid."),
        ("N425", _C.NOT_COVERED, "Excluded from coverage by law."),
        ("N479", _C.COORDINATION, "The other payer's explanation of benefits is missing."),
        ("N522", _C.DUPLICATE, "Duplicate of a claim handled as a crossover."),
        ("N657", _C.CODING, "Bill this with the code that fits the service."),
    )
)


def explain_carc(code: str) -> str:
    """Our paraphrase of a claim adjustment reason code, or a plain 'unknown'."""
    reason = CARC.get(code.strip().upper())
    return reason.explanation if reason else f"Adjustment reason {code}: not in our table."


def explain_rarc(code: str) -> str:
    """Our paraphrase of a remittance remark code, or a plain 'unknown'."""
    reason = RARC.get(code.strip().upper())
    return reason.explanation if reason else f"Remark {code}: not in our table."


# --- ICD-10-CM ---------------------------------------------------------------------------


@cache
def _icd() -> ModuleType:
    """simple-icd-10-cm parses its XML on import (about two seconds): load it on first use,
    so that importing billing (the CLI, the app) stays fast. Its own DeprecationWarning
    (importlib.resources.read_text) is not ours to show."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm

    return simple_icd_10_cm


def is_valid_icd10(code: str) -> bool:
    """A real ICD-10-CM code (category or deeper), with or without the dot; chapters and
    blocks ("E08-E13") are headings of the book, not codes."""
    # Strict on purpose: the claim carries the code as given, so " e11.9" must not pass.
    icd = _icd()
    return bool(code) and icd.is_valid_item(code) and not icd.is_chapter_or_block(code)


def is_billable_icd10(code: str) -> bool:
    """A code that can go on a claim: valid and a leaf (no more specific code under it)."""
    return is_valid_icd10(code) and _icd().is_leaf(code)


def icd10_problem(code: str) -> str | None:
    """Why a code cannot go on a claim, in a sentence; None when it can."""
    if not is_valid_icd10(code):
        return f"{code!r} is not an ICD-10-CM code."
    if not _icd().is_leaf(code):
        return f"{icd10_with_dot(code)} is a heading, not billable: choose a more specific code."
    return None


def icd10_with_dot(code: str) -> str:
    """'E119' -> 'E11.9' (the form people read); the code must be valid."""
    return str(_icd().add_dot(code))


def icd10_without_dot(code: str) -> str:
    """'E11.9' -> 'E119' (the form X12 carries in HI)."""
    return code.replace(".", "")


def describe_icd10(code: str) -> str | None:
    """The code's title from the CDC tabular list (public domain), or None if not a code."""
    if not is_valid_icd10(code):
        return None
    return str(_icd().get_description(code))
