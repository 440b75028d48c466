"""The billing API's shapes: money in integer cents, as in the tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

ProcedureCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9]{5}$")
]
Modifier = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9]{2}$")
]
PayerId = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Z0-9]{2,20}$")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

ChargeStatus = Literal["draft", "reviewed", "billed", "void"]
ClaimStatus = Literal[
    "ready", "held", "submitted", "paid", "partly_paid", "denied", "forwarded", "replaced", "void"
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- reference data ----------------------------------------------------------------------


class PayerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payer_id: str
    name: str
    eligibility_supported: bool
    timely_filing_days: int
    filing_indicator: str


class PayerCreate(_Input):
    payer_id: PayerId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    eligibility_supported: bool = False
    timely_filing_days: Annotated[int, Field(strict=True, ge=1, le=730)] = 90
    # SBR09 claim filing indicator: CI commercial, MB Medicare B, MC Medicaid, BL BCBS, HM HMO…
    filing_indicator: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")] = "CI"


class PayerUpdate(_Input):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    eligibility_supported: bool
    timely_filing_days: Annotated[int, Field(strict=True, ge=1, le=730)]
    filing_indicator: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")]


class FeePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payer_key: uuid.UUID | None
    procedure_code: str
    modifier: str | None
    amount_cents: int
    effective_from: date
    effective_to: date | None


class FeeCreate(_Input):
    """A fee for a code from a date on, for one payer (by its payer id) or, without one, for
    everyone whose payer has no fee of its own."""

    procedure_code: ProcedureCode
    modifier: Modifier | None = None
    amount_cents: Annotated[int, Field(strict=True, ge=1, le=10_000_000)]
    effective_from: date
    effective_to: date | None = None
    payer_id: PayerId | None = None

    @field_validator("effective_to")
    @classmethod
    def _in_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("effective_from")
        if value is not None and start is not None and value < start:
            raise ValueError("the last day comes on or after effective_from")
        return value


# --- charges -----------------------------------------------------------------------------


class ProcedureLineCreate(_Input):
    procedure_code: ProcedureCode
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []
    units: Annotated[int, Field(strict=True, ge=1, le=99)] = 1
    diagnosis_pointers: Annotated[
        list[Annotated[int, Field(strict=True, ge=1, le=12)]], Field(min_length=1, max_length=4)
    ]


class ChargeCreate(_Input):
    """The visit's diagnoses (ICD-10-CM, the first is the principal) and any procedures
    beyond the E/M visit the back office works out itself."""

    diagnoses: Annotated[
        list[Annotated[str, StringConstraints(strip_whitespace=True, max_length=8)]],
        Field(min_length=1, max_length=12),
    ]
    procedures: Annotated[list[ProcedureLineCreate], Field(max_length=50)] = []


class ChargeLinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_number: int
    procedure_code: str
    modifiers: list[str]
    units: int
    fee_cents: int
    diagnosis_pointers: list[int]


class ChargePublic(BaseModel):
    id: uuid.UUID
    appointment_id: uuid.UUID
    patient_id: uuid.UUID
    provider_id: uuid.UUID
    location_id: uuid.UUID
    service_date: date
    diagnoses: list[str]
    status: str
    reviewed_by: uuid.UUID | None
    reviewed_at: datetime | None
    created_at: datetime
    total_cents: int
    lines: list[ChargeLinePublic]


# --- claims ------------------------------------------------------------------------------


class Finding(BaseModel):
    code: str
    message: str
    where: str


class ClaimPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    charge_id: uuid.UUID
    policy_id: uuid.UUID
    payer_key: uuid.UUID
    rank: str
    patient_control_number: str
    frequency_code: str
    replaces_claim_id: uuid.UUID | None
    payer_claim_number: str | None
    status: str
    findings: list[Finding]
    total_cents: int
    paid_cents: int
    adjusted_cents: int
    patient_responsibility_cents: int
    batch_id: uuid.UUID | None
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class SkippedCharge(BaseModel):
    charge_id: uuid.UUID
    reason: str


class ClaimsMadePublic(BaseModel):
    ready: int
    held: int
    claims: list[ClaimPublic]
    skipped: list[SkippedCharge]


class SubmissionPublic(BaseModel):
    """What one submit sent: nothing (no claim was ready), or one 837P interchange."""

    claim_count: int
    batch_id: uuid.UUID | None = None
    interchange_control_number: int | None = None
    file_name: str | None = None


# --- remittances and denials -------------------------------------------------------------


class ImportPublic(BaseModel):
    remittance_ids: list[uuid.UUID]
    payment_cents: int
    claims: int
    paid: int
    partly_paid: int
    denied: int
    forwarded: int
    reversed: int
    unmatched: int
    provider_adjustments: int
    patient_lines: int
    summary: str


class RemittancePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    trace_number: str
    payer_name: str
    payer_identifier: str | None
    payment_cents: int
    payment_date: date | None
    imported_by: str | None
    imported_at: datetime


class DenialPublic(BaseModel):
    denial_id: uuid.UUID
    claim_id: uuid.UUID
    patient_control_number: str
    payer_claim_number: str | None
    charge_cents: int
    status: str
    reasons: list[str]
    remarks: list[str]
    denied_at: datetime
    notes: int


class DenialGroupPublic(BaseModel):
    reason: str
    explanation: str
    charge_cents: int
    items: list[DenialPublic]


class DenialNoteCreate(_Input):
    text: Text
    appeal: bool = False  # an appeal note also marks the denial appealed


class DenialNotePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    denial_id: uuid.UUID
    body: str
    created_by: uuid.UUID | None
    created_at: datetime


class Resubmission(_Input):
    # 7: a replacement billed from the charge as it is now; 8: a void of the claim.
    frequency_code: Literal["7", "8"]


# --- eligibility, A/R, statements, payment plans -----------------------------------------


class EligibilityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    policy_id: uuid.UUID
    checked_at: datetime
    outcome: str
    summary: str
    trace_number: str
    active: bool | None
    plan_name: str | None
    copay_cents: int | None
    coinsurance_basis_points: int | None
    deductible_remaining_cents: int | None
    copay_updated: bool
    error: str | None


class AgingRow(BaseModel):
    name: str
    buckets_cents: list[int]  # 0-30, 31-60, 61-90, 91-120, over 120 days
    total_cents: int


class AgingPublic(BaseModel):
    as_of: date
    buckets: list[str]
    by_payer: list[AgingRow]
    by_patient: list[AgingRow]  # by MRN
    totals: AgingRow
    days_in_ar: str | None  # a decimal, one place; None with no charges in the period


class PaymentPlanCreate(_Input):
    total_cents: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] | None = None  # all owed
    instalments: Annotated[int, Field(strict=True, ge=1, le=60)]
    first_due: date


class InstalmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    due_date: date
    amount_cents: int
    paid_cents: int


class PaymentPlanPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    total_cents: int
    instalment_count: int
    status: str
    created_at: datetime
    instalments: list[InstalmentPublic]
