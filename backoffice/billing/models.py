"""Billing tables: the payer directory and fee schedules; a visit's charges (reviewed before a
claim is made); claims and the 837P batches that carried them; remittances (835s) with what
each posted, and the denial worklist. Money in integer cents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlmodel import Field, SQLModel

from backoffice.kit.columns import UTCDateTime, new_id, utcnow


class Payer(SQLModel, table=True):
    """A payer claims go to, by the id the clearinghouse knows it by (the same id as on the
    patient's policy)."""

    __tablename__ = "payers"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    payer_id: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    name: str = Field(max_length=120)
    eligibility_supported: bool = False  # answers 270 eligibility requests
    timely_filing_days: int = 90  # a claim later than this after the visit is refused
    filing_indicator: str = Field(default="CI", max_length=2)  # SBR09
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FeeScheduleEntry(SQLModel, table=True):
    """What the practice charges for a code, for one payer or (payer None) everyone else,
    from a date on."""

    __tablename__ = "fee_schedule_entries"
    __table_args__ = (
        UniqueConstraint("payer_key", "procedure_code", "modifier", "effective_from"),
        Index("ix_fee_schedule_code", "procedure_code", "effective_from"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    payer_key: uuid.UUID | None = Field(default=None, foreign_key="payers.id")
    procedure_code: str = Field(max_length=5)
    modifier: str | None = Field(default=None, max_length=2)
    amount_cents: int
    effective_from: date
    effective_to: date | None = None  # the last day it applies; None: until replaced


class Charge(SQLModel, table=True):
    """What one visit bills: its diagnoses and service lines, reviewed by staff before any
    claim is made from it."""

    __tablename__ = "charges"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # One charge per visit.
    appointment_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("appointments.id"), unique=True, nullable=False)
    )
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    provider_id: uuid.UUID = Field(foreign_key="providers.id")
    location_id: uuid.UUID = Field(foreign_key="locations.id")
    service_date: date
    diagnoses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="draft", max_length=10)  # draft, reviewed, billed, void
    reviewed_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChargeLine(SQLModel, table=True):
    __tablename__ = "charge_lines"
    __table_args__ = (UniqueConstraint("charge_id", "line_number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    charge_id: uuid.UUID = Field(foreign_key="charges.id")
    line_number: int  # 1-based, as on the claim
    procedure_code: str = Field(max_length=5)
    modifiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    units: int = 1
    fee_cents: int  # for all units
    diagnosis_pointers: list[int] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class ClaimBatch(SQLModel, table=True):
    """One 837P interchange as sent: its control numbers are unique and only go up."""

    __tablename__ = "claim_batches"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    interchange_control_number: int = Field(sa_column=Column(Integer, unique=True, nullable=False))
    file_name: str = Field(max_length=120)
    sha256: str = Field(max_length=64)
    claim_count: int
    # The file as sent, kept with its record: any instance can hand it out again.
    content: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimRecord(SQLModel, table=True):
    """A claim to one payer for one charge. A correction is a new claim that replaces it
    (frequency 7) or voids it (8), quoting the payer's claim number."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_status", "status", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    charge_id: uuid.UUID = Field(foreign_key="charges.id", index=True)
    policy_id: uuid.UUID = Field(foreign_key="insurance_policies.id")
    payer_key: uuid.UUID = Field(foreign_key="payers.id")
    rank: str = Field(default="primary", max_length=10)  # primary, secondary
    # CLM01, echoed back on the 835: how a remittance finds this claim.
    patient_control_number: str = Field(sa_column=Column(String(20), unique=True, nullable=False))
    frequency_code: str = Field(default="1", max_length=1)
    replaces_claim_id: uuid.UUID | None = Field(default=None, foreign_key="claims.id")
    payer_claim_number: str | None = Field(default=None, max_length=50)
    # ready, held (the scrubber found something), submitted, paid, partly_paid, denied,
    # forwarded, replaced, void
    status: str = Field(default="ready", max_length=12)
    findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    total_cents: int
    paid_cents: int = 0
    adjusted_cents: int = 0
    patient_responsibility_cents: int = 0
    batch_id: uuid.UUID | None = Field(default=None, foreign_key="claim_batches.id")
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Remittance(SQLModel, table=True):
    """One 835 transaction set as posted: a file is posted once (its digest)."""

    __tablename__ = "remittances"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    file_sha256: str = Field(max_length=64, index=True)
    trace_number: str = Field(max_length=50)
    payer_name: str = Field(max_length=120)
    payer_identifier: str | None = Field(default=None, max_length=20)
    payment_cents: int
    payment_date: date | None = None
    imported_by: str | None = Field(default=None, max_length=80)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RemittanceEntry(SQLModel, table=True):
    """One entry a remittance posted (see backoffice.billing.posting.EntryKind)."""

    __tablename__ = "remittance_entries"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    remittance_id: uuid.UUID = Field(foreign_key="remittances.id", index=True)
    claim_id: uuid.UUID | None = Field(default=None, foreign_key="claims.id", index=True)
    patient_control_number: str | None = Field(default=None, max_length=38)
    line_number: int | None = None
    kind: str = Field(max_length=24)
    amount_cents: int
    group_code: str | None = Field(default=None, max_length=2)
    reason: str | None = Field(default=None, max_length=5)
    note: str | None = Field(default=None, max_length=120)


class Denial(SQLModel, table=True):
    """A denied claim on the worklist, with the reasons explained, until it is resubmitted,
    appealed, written off or closed."""

    __tablename__ = "denials"
    __table_args__ = (Index("ix_denials_status", "status", "created_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    claim_id: uuid.UUID = Field(foreign_key="claims.id", index=True)
    remittance_id: uuid.UUID = Field(foreign_key="remittances.id")
    reasons: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    remarks: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(default="open", max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DenialNote(SQLModel, table=True):
    """What billing staff wrote about a denial: the appeal, a call to the payer."""

    __tablename__ = "denial_notes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    denial_id: uuid.UUID = Field(foreign_key="denials.id", index=True)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- statements and payment plans ---------------------------------------------------


class PaymentPlan(SQLModel, table=True):
    """A patient's balance split into monthly instalments (see statements.split_instalments)."""

    __tablename__ = "payment_plans"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    patient_id: uuid.UUID = Field(foreign_key="patients.id", index=True)
    total_cents: int
    instalment_count: int
    status: str = Field(default="active", max_length=10)  # active, completed, cancelled
    created_by: uuid.UUID | None = Field(default=None, foreign_key="staff_users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PaymentPlanInstalment(SQLModel, table=True):
    __tablename__ = "payment_plan_instalments"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    plan_id: uuid.UUID = Field(foreign_key="payment_plans.id", index=True)
    number: int  # 1-based
    due_date: date
    amount_cents: int
    paid_cents: int = 0


# --- eligibility ---------------------------------------------------------------------


class EligibilityCheck(SQLModel, table=True):
    """One 270/271 exchange about a policy and what came of it, failures included, so the
    front desk can see when coverage was last confirmed and why a check did not answer."""

    __tablename__ = "eligibility_checks"
    __table_args__ = (Index("ix_eligibility_checks_policy", "policy_id", "checked_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    policy_id: uuid.UUID = Field(foreign_key="insurance_policies.id")
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # active, inactive, rejected (AAA), timeout, unreachable, refused, server_error,
    # unreadable (the 271), invalid_request (no 270 could be built), failed (anything else)
    outcome: str = Field(max_length=20)
    trace_number: str = Field(max_length=50)  # TRN02 of our 270
    active: bool | None = None
    plan_name: str | None = Field(default=None, max_length=120)
    copay_cents: int | None = None
    coinsurance_basis_points: int | None = None  # 2000 is 20 %
    deductible_remaining_cents: int | None = None
    copay_updated: bool = False  # the policy's primary-care copay was changed to copay_cents
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_by: str | None = Field(default=None, max_length=80)
