"""Staff-side shapes of payments and the ledger; the kiosk's are in shared.contracts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from backoffice.payments.copay import CopaySource
from shared.contracts.kiosk import PaymentFailure, PaymentStatus
from shared.validators import Cents

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)]


class CopayPublic(BaseModel):
    amount_cents: int
    self_pay: bool
    source: CopaySource
    reason: str | None


class CopayOverrideSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_cents: Cents
    reason: Reason


class PaymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    check_in_id: uuid.UUID
    patient_id: uuid.UUID
    appointment_id: uuid.UUID
    provider: str
    amount_cents: int
    amount_refunded_cents: int
    currency: str
    status: PaymentStatus
    failure: PaymentFailure | None
    card_brand: str | None
    card_last4: str | None
    paid_at: datetime | None
    created_at: datetime


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_cents: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None  # all left
    reason: Reason


class AdjustmentCreate(BaseModel):
    """Positive adds to what the patient owes, negative takes from it."""

    model_config = ConfigDict(extra="forbid")

    amount_cents: Annotated[int, Field(strict=True, ge=-1_000_000, le=1_000_000)]
    reason: Reason

    @field_validator("amount_cents")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment of nothing changes nothing")
        return value


class LedgerLinePublic(BaseModel):
    id: uuid.UUID
    posted_at: datetime
    kind: str
    description: str
    amount_cents: int
    balance_cents: int
    reason: str | None
    appointment_id: uuid.UUID | None
    payment_id: uuid.UUID | None


class Ledger(BaseModel):
    patient_id: uuid.UUID
    balance_cents: int
    items: list[LedgerLinePublic]
