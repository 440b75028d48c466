"""A professional claim as plain data: what the scrubber checks and the 837P builder writes.

No I/O and no ORM: the billing service fills these from its tables (and the tests by hand),
so the X12 layer and the scrubber are tested fast and alone. Money is Decimal dollars with
cents (X12 amounts), dates are plain dates (service dates have no time zone in X12).

    Claim
      submitter, receiver, billing_provider (+ rendering, referring)
      subscriber (the insured) + payer; patient (None when the patient is the subscriber)
      diagnoses (ICD-10-CM, up to 12, the first is the principal)
      lines (CPT/HCPCS, up to 4 modifiers, units, pointers 1-4 into diagnoses)
      other_payers (secondary claims: the primary's adjudication, for the COB loops)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Relationship(StrEnum):
    """The patient's relationship to the subscriber (X12 individual relationship codes)."""

    SELF = "18"
    SPOUSE = "01"
    CHILD = "19"
    OTHER = "G8"


class FrequencyCode(StrEnum):
    """CLM05-3: an original claim, a replacement of one sent before, or its void."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str  # two letters
    postal_code: str  # 5 or 9 digits
    line2: str | None = None


@dataclass(frozen=True)
class Party:
    """A submitter, receiver or payer: a name and an identifier (ETIN, payer id)."""

    name: str
    identifier: str
    contact_name: str | None = None
    contact_phone: str | None = None  # ten digits
    address: Address | None = None


@dataclass(frozen=True)
class Provider:
    """A billing, rendering or referring provider: an organisation (last_name holds its name)
    or a person."""

    npi: str
    last_name: str
    first_name: str | None = None  # None: an organisation
    tax_id: str | None = None  # EIN (billing provider): nine digits
    taxonomy_code: str | None = None
    address: Address | None = None

    @property
    def is_person(self) -> bool:
        return self.first_name is not None


@dataclass(frozen=True)
class Person:
    """A subscriber or patient as the payer knows them."""

    last_name: str
    first_name: str
    date_of_birth: date
    sex: str  # M, F or U
    address: Address | None = None
    member_id: str | None = None  # the subscriber's id on the card


@dataclass(frozen=True)
class Coverage:
    """The subscriber's policy with this payer."""

    payer: Party
    subscriber: Person
    group_number: str | None = None
    plan_name: str | None = None
    relationship: Relationship = Relationship.SELF
    effective: date | None = None
    expires: date | None = None
    filing_indicator: str = "CI"  # SBR09: CI commercial, MB Medicare B, MC Medicaid, BL BCBS…
    payer_responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary


@dataclass(frozen=True)
class Adjustment:
    """A CAS adjustment: group (CO, PR, OA, PI in 5010), CARC reason code, amount."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class LineAdjudication:
    """How another payer settled one service line (loop 2430)."""

    payer_identifier: str
    procedure_code: str
    paid: Decimal
    units: Decimal
    paid_on: date
    adjustments: tuple[Adjustment, ...] = ()
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class OtherPayer:
    """For a secondary claim: the primary payer, its subscriber, and what it paid (loop 2320,
    2330A/B at the claim level; each line's settlement in its `LineAdjudication`)."""

    coverage: Coverage
    paid: Decimal
    paid_on: date
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS
    remaining_patient_liability: Decimal | None = None


@dataclass(frozen=True)
class ServiceLine:
    procedure_code: str  # CPT or HCPCS
    charge: Decimal
    units: Decimal
    service_date: date
    diagnosis_pointers: tuple[int, ...]  # 1-based into Claim.diagnoses, up to 4
    modifiers: tuple[str, ...] = ()  # up to 4
    place_of_service: str | None = None  # when it differs from the claim's
    line_control_number: str | None = None  # REF*6R, echoed back on the 835
    rendering_provider: Provider | None = None
    adjudications: tuple[LineAdjudication, ...] = ()  # secondary claims


@dataclass(frozen=True)
class Claim:
    patient_control_number: str  # CLM01: ours, echoed back on the 835 (CLP01)
    billing_provider: Provider
    coverage: Coverage
    diagnoses: tuple[str, ...]  # ICD-10-CM, with or without the dot
    lines: tuple[ServiceLine, ...]
    place_of_service: str = "11"  # office
    frequency: FrequencyCode = FrequencyCode.ORIGINAL
    payer_claim_number: str | None = None  # REF*F8, for a replacement or void
    patient: Person | None = None  # None: the patient is the subscriber
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    other_payers: tuple[OtherPayer, ...] = ()
    onset: date | None = None
    signature_on_file: bool = True
    assignment_accepted: bool = True
    release_of_information: str = "Y"

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def first_service_date(self) -> date:
        return min(line.service_date for line in self.lines)

    @property
    def last_service_date(self) -> date:
        return max(line.service_date for line in self.lines)


@dataclass(frozen=True)
class Interchange:
    """Who sends a batch to whom, and the control numbers it carries."""

    sender_id: str  # ISA06
    receiver_id: str  # ISA08
    submitter: Party
    receiver: Party
    interchange_control_number: int  # ISA13, 1..999999999
    group_control_number: int  # GS06
    production: bool = False  # ISA15: P or T
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    claims: tuple[Claim, ...] = field(default_factory=tuple)
